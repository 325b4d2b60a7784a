// UI strings of the customer widget in zh-CN and en-US. DOM-free.
// Only the widget's own chrome lives here; what the assistant says comes from the server.

export const LOCALES = ['zh-CN', 'en-US'];

const zh = {
  bankName: '明光银行',
  title: '信用卡服务',
  aiLabel: '明光银行智能助手（AI）',
  agentLabel: '人工客服 {name}',
  openChat: '打开明光银行智能助手',
  closeChat: '关闭对话',
  dialogLabel: '明光银行信用卡在线服务',
  welcome: '您好！我是明光银行信用卡智能助手（AI），可以帮您查账单、办分期、查额度、挂失卡片、查积分。请直接提问，或点下方的常用服务。',
  disclaimer: '答复由 AI 生成，涉及金额请以账单为准；请勿发送完整卡号、CVV、密码或验证码。',
  quickTitle: '常用服务',
  inputLabel: '输入消息',
  placeholder: '请输入您的问题…',
  placeholderQueued: '正在转接人工客服，您可以继续留言…',
  placeholderAgent: '发送给人工客服 {name}…',
  send: '发送',
  sending: '发送中',
  sent: '已发送',
  waitingNetwork: '等待网络',
  you: '我',
  assistant: '智能助手',
  assistantShort: 'AI',
  typing: '正在输入…',
  connecting: '正在连接…',
  online: '在线',
  offlineBanner: '网络连接已断开，正在重新连接。您可以继续输入，恢复后会自动发送。',
  retryNow: '立即重连',
  sources: '参考来源',
  sourceSection: '章节：{section}',
  showSource: '查看来源：{title}',
  newMessages: '新消息',
  notSentRestored: '消息未能发送，内容已放回输入框。',
  errors: {
    rate_limited: '您发送得有点快，请稍等片刻再试。',
    text_too_long: '消息最多 2000 字，请分几条发送。',
    empty_text: '请输入内容后再发送。',
    invalid_text: '消息中包含无法识别的字符，请修改后再发送。',
    unavailable: '服务暂时繁忙，正在为您重试。',
    token_failed: '暂时无法验证您的身份，正在重试。',
    generic: '出了点问题，请稍后再试。',
  },
  selected: '已选择',
  chosen: '已选：{label}',
  formInvalid: '请检查标红的内容。',
  fieldRequired: '请填写{label}',
  fieldNumber: '{label}请输入数字',
  fieldMin: '{label}不能小于 {min}',
  fieldMax: '{label}不能大于 {max}',
  selectPlaceholder: '请选择',
  linkUnsafe: '（链接不安全，未显示为可点击）',
  opensApp: '在 App 中打开',
  opensBrowser: '在浏览器中打开',
  unsupportedCard: '此内容请在 App 中查看。',
  queuedTitle: '正在为您转接人工客服',
  queuedPosition: '前面还有 {position} 位，预计等待约 {eta}',
  queuedNoPosition: '请稍候，客服马上就来',
  etaMinutes: '{n} 分钟',
  etaLessMinute: '不到 1 分钟',
  assignedTitle: '人工客服 {name} 已接入',
  returnedTitle: '已回到智能助手，有问题可以继续问我。',
  closedTitle: '本次人工服务已结束',
  messageLeftTitle: '客服暂时不在线，已为您留言，我们会尽快联系您。',
  ticket: '工单号 {id}',
  csatTitle: '请为本次服务评分',
  csatStar: '{n} 星',
  csatComment: '还有什么想告诉我们的？（选填）',
  csatSubmit: '提交评价',
  csatThanks: '感谢您的评价！',
  csatRated: '您的评分：{n} 星',
  csatPick: '请先选择星级',
  quick: [
    { id: 'bill', label: '账单', text: '查一下我的账单' },
    { id: 'installment', label: '分期', text: '我想分期' },
    { id: 'limit', label: '额度', text: '查询我的信用额度' },
    { id: 'lost', label: '挂失', text: '我的卡丢了，要挂失' },
    { id: 'points', label: '积分', text: '我有多少积分？' },
  ],
  announceBot: '智能助手说：{text}',
  announceAgent: '客服{name}说：{text}',
  announceSystem: '{text}',
};

const en = {
  bankName: 'Lumen Bank',
  title: 'Card services',
  aiLabel: 'Lumen Bank assistant (AI)',
  agentLabel: 'Agent {name}',
  openChat: 'Open the Lumen Bank assistant',
  closeChat: 'Close chat',
  dialogLabel: 'Lumen Bank credit card chat',
  welcome: "Hi! I'm Lumen Bank's credit card assistant (AI). I can check your bill, set up installments, show your credit limit, lock a lost card and look up your points. Ask me anything, or pick a service below.",
  disclaimer: 'Answers are written by AI; your statement is authoritative. Never send your full card number, CVV, PIN or SMS codes.',
  quickTitle: 'Quick services',
  inputLabel: 'Type a message',
  placeholder: 'Type your question…',
  placeholderQueued: 'Connecting you to an agent. You can keep writing…',
  placeholderAgent: 'Message {name}…',
  send: 'Send',
  sending: 'Sending',
  sent: 'Sent',
  waitingNetwork: 'Waiting for network',
  you: 'You',
  assistant: 'Assistant',
  assistantShort: 'AI',
  typing: 'typing…',
  connecting: 'Connecting…',
  online: 'Online',
  offlineBanner: "You're offline. Reconnecting… Keep typing: messages are sent when the connection is back.",
  retryNow: 'Reconnect now',
  sources: 'Sources',
  sourceSection: 'Section: {section}',
  showSource: 'Show source: {title}',
  newMessages: 'New messages',
  notSentRestored: 'Your message was not sent; it is back in the input box.',
  errors: {
    rate_limited: "You're sending messages a little fast. Please wait a moment and try again.",
    text_too_long: 'Messages are limited to 2,000 characters. Please split it up.',
    empty_text: 'Please type a message first.',
    invalid_text: 'Your message contains characters we cannot read. Please edit it.',
    unavailable: 'The service is briefly busy. Retrying…',
    token_failed: "We couldn't verify your sign-in. Retrying…",
    generic: 'Something went wrong. Please try again shortly.',
  },
  selected: 'Selected',
  chosen: 'Chosen: {label}',
  formInvalid: 'Please check the highlighted fields.',
  fieldRequired: 'Please fill in {label}',
  fieldNumber: '{label} must be a number',
  fieldMin: '{label} must be at least {min}',
  fieldMax: '{label} must be at most {max}',
  selectPlaceholder: 'Choose…',
  linkUnsafe: '(unsafe link, not clickable)',
  opensApp: 'Opens in the app',
  opensBrowser: 'Opens in your browser',
  unsupportedCard: 'Please view this in the app.',
  queuedTitle: 'Connecting you to an agent',
  queuedPosition: '{position} ahead of you, about {eta}',
  queuedNoPosition: 'An agent will be with you shortly',
  etaMinutes: '{n} min',
  etaLessMinute: 'under a minute',
  assignedTitle: '{name} has joined the chat',
  returnedTitle: "You're back with the assistant. Ask me anything.",
  closedTitle: 'The chat with our agent has ended',
  messageLeftTitle: "Our agents are offline. We've left a message and will contact you soon.",
  ticket: 'Ticket {id}',
  csatTitle: 'How did we do?',
  csatStar: '{n} star',
  csatComment: 'Anything else you want to tell us? (optional)',
  csatSubmit: 'Send rating',
  csatThanks: 'Thank you for your feedback!',
  csatRated: 'Your rating: {n} of 5',
  csatPick: 'Please pick a rating first',
  quick: [
    { id: 'bill', label: 'Bill', text: 'Show my bill' },
    { id: 'installment', label: 'Installments', text: "I'd like to pay in installments" },
    { id: 'limit', label: 'Credit limit', text: "What's my credit limit?" },
    { id: 'lost', label: 'Lost card', text: "I've lost my card" },
    { id: 'points', label: 'Points', text: 'How many points do I have?' },
  ],
  announceBot: 'Assistant: {text}',
  announceAgent: '{name}: {text}',
  announceSystem: '{text}',
};

const TABLES = { 'zh-CN': zh, 'en-US': en };

/** The supported locale closest to `raw` (zh* → zh-CN, anything else → en-US; default zh-CN). */
export function pickLocale(raw) {
  if (typeof raw !== 'string' || !raw) return 'zh-CN';
  return raw.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en-US';
}

/** Fill `{name}` placeholders; unknown placeholders stay as written. */
export function format(template, params = {}) {
  return String(template).replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** A translator for `locale`: t('key', params) or t('errors.rate_limited'). */
export function translator(locale) {
  const table = TABLES[pickLocale(locale)];
  const t = (key, params) => {
    const value = key.split('.').reduce((obj, k) => (obj == null ? undefined : obj[k]), table);
    return value === undefined ? key : typeof value === 'string' ? format(value, params) : value;
  };
  t.locale = pickLocale(locale);
  return t;
}

/** "about 2 minutes" from seconds. */
export function etaText(t, seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return null;
  if (seconds < 60) return t('etaLessMinute');
  return t('etaMinutes', { n: Math.round(seconds / 60) });
}

/** The polite text for an error code from the server. */
export function errorText(t, code) {
  const text = t(`errors.${code}`);
  return text === `errors.${code}` ? t('errors.generic') : text;
}
