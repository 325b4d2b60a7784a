// Agent console texts (zh-CN, en-US) and the formatting of queue figures. DOM-free.

const zh = {
  appTitle: '坐席工作台', bank: '明光银行', signInTitle: '坐席登录', signInHint: '选择一位演示坐席登录（演示模式）。',
  tokenHint: '请粘贴单点登录签发的坐席令牌。', tokenLabel: '坐席令牌', signIn: '登录', signOut: '退出',
  signInFailed: '登录失败：{reason}', skills: '技能', languages: '语言', capacity: '同时接待 {n} 个',
  queue: '待接入队列', queueEmpty: '暂无等待的会话', mine: '我的会话', answered: '已首响',
  escalationToast: '首响超时：{reason}（已等待 {t}）', claim: '接入', claiming: '接入中…',
  waiting: '已等待 {t}', slaLeft: '首响剩余 {t}', slaOver: '已超时 {t}', escalated: '已升级', offline: '留言',
  position: '第 {n} 位', noChat: '从左侧队列接入一个会话，客户档案和对话会显示在这里。',
  connecting: '正在连接…', online: '在线', reconnecting: '连接中断，正在重连…',
  reply: '回复客户', note: '内部备注', noteBanner: '内部备注 · 客户不可见',
  replyPlaceholder: '输入给客户的回复…', notePlaceholder: '记录内部备注（客户看不到）', keysHint: 'Enter 发送 · Shift+Enter 换行 · 发送前经过合规检查',
  handoffStatus: { queued: '进入人工队列', assigned: '坐席已接入', returned: '已转回智能助手', closed: '人工服务结束', message_left: '客户已留言' },
  send: '发送', addNote: '添加备注', handback: '转回智能助手', handbackNote: '交接说明（选填，仅助手可见）',
  confirmHandback: '确认转回', close: '结束会话', disposition: '处理结果', confirmClose: '确认结束', cancel: '取消',
  dispositions: { resolved: '已解决', follow_up: '需跟进', unresolved: '未解决', abandoned: '客户离开' },
  blocked: '合规检查未通过，消息没有发给客户。请修改后再发送：', warnings: '合规提示：', unconfirmed: '连接中断，未确认送达',
  failed: '发送失败：{reason}', retry: '重新发送', closeTab: '关闭标签', returnedState: '已转回智能助手',
  closedState: '会话已结束（{d}）', customerLeft: '客户已离开', internalNote: '内部备注', you: '我',
  roles: { customer: '客户', bot: '智能助手', agent: '坐席', system: '系统' },
  caseFile: '客户档案', summary: '摘要', customer: '客户', handoffReason: '转人工原因', intents: '意图',
  slots: '已收集的信息', flows: '流程状态', actions: '已执行的操作', transactions: '相关交易', articles: '引用的知识',
  nextSteps: '建议下一步', transcript: '完整对话记录', sentiment: '情绪趋势', verified: '已验证身份', unverified: '未验证身份',
  priority: 'P{n}', priorityLabel: '优先级', tier: '卡级', segment: '客群', language: '语言', topic: '主题', riskFlags: '风险标记',
  trends: { improving: '好转', steady: '平稳', worsening: '变差', unknown: '未知' },
  flowStatus: { active: '进行中', in_progress: '进行中', completed: '已完成', failed: '失败', cancelled: '已取消', abandoned: '已放弃' },
  reasons: {
    customer_request: '客户要求人工', repeated_question: '问题重复未解决', frustration: '客户不满',
    unrecognised_transaction: '不认识的交易（疑似盗刷）', regulator_complaint: '监管投诉', complaint: '投诉',
    flow_failure: '业务办理失败', vip_policy: 'VIP 专属服务', answer_refused: '客户不接受答复', llm_unavailable: '模型不可用',
  },
  tiers: { classic: '普卡', gold: '金卡', platinum: '白金卡', diamond: '钻石卡' },
  skillNames: { general: '综合', risk: '风控', senior: '资深/VIP', complaints: '投诉', supervisor: '主管' },
  langNames: { zh: '中文', en: '英文' },
  errors: {
    already_claimed: '该会话已被其他坐席接入。', at_capacity: '您已达到同时接待上限。', forbidden: '该会话不在您的技能范围内。',
    not_assigned: '该会话不在您名下。', not_found: '会话已不在队列中。', invalid_state: '会话已结束或已转回。',
    unavailable: '服务暂时不可用，请重试。', delivery_failed: '消息未能送达，请重试。', connection: '连接中断',
    generic: '操作失败，请重试。',
  },
  switchLang: 'English', seconds: '{n}秒', minutes: '{m}分{s}秒', hours: '{h}小时{m}分',
};

const en = {
  appTitle: 'Agent console', bank: 'Lumen Bank', signInTitle: 'Agent sign-in', signInHint: 'Pick a demo agent to sign in (demo mode).',
  tokenHint: 'Paste the agent token issued by your single sign-on.', tokenLabel: 'Agent token', signIn: 'Sign in', signOut: 'Sign out',
  signInFailed: 'Sign-in failed: {reason}', skills: 'Skills', languages: 'Languages', capacity: 'up to {n} chats',
  queue: 'Waiting', queueEmpty: 'Nobody is waiting', mine: 'My chats', answered: 'answered',
  escalationToast: 'First reply overdue: {reason} (waited {t})', claim: 'Claim', claiming: 'Claiming…',
  waiting: 'waiting {t}', slaLeft: 'first reply in {t}', slaOver: 'overdue {t}', escalated: 'Escalated', offline: 'Message',
  position: '#{n}', noChat: 'Claim a chat from the queue; its case file and conversation appear here.',
  connecting: 'Connecting…', online: 'Online', reconnecting: 'Connection lost, reconnecting…',
  reply: 'Reply', note: 'Internal note', noteBanner: 'Internal note · not visible to the customer',
  replyPlaceholder: 'Type your reply to the customer…', notePlaceholder: 'Write an internal note (the customer never sees it)',
  keysHint: 'Enter sends · Shift+Enter new line · checked for compliance before sending',
  handoffStatus: { queued: 'Queued for an agent', assigned: 'Agent joined', returned: 'Handed back to the assistant', closed: 'Chat with agent ended', message_left: 'Customer left a message' },
  send: 'Send', addNote: 'Add note', handback: 'Hand back to assistant', handbackNote: 'Handover note (optional, for the assistant only)',
  confirmHandback: 'Hand back', close: 'Close chat', disposition: 'Outcome', confirmClose: 'Close chat', cancel: 'Cancel',
  dispositions: { resolved: 'Resolved', follow_up: 'Follow-up', unresolved: 'Unresolved', abandoned: 'Customer left' },
  blocked: 'Compliance check failed; the customer did not get this message. Please edit it:', warnings: 'Compliance notes:',
  unconfirmed: 'Connection lost; delivery not confirmed', failed: 'Not sent: {reason}', retry: 'Send again', closeTab: 'Close tab',
  returnedState: 'Handed back to the assistant', closedState: 'Chat closed ({d})', customerLeft: 'The customer left',
  internalNote: 'Internal note', you: 'Me',
  roles: { customer: 'Customer', bot: 'Assistant', agent: 'Agent', system: 'System' },
  caseFile: 'Case file', summary: 'Summary', customer: 'Customer', handoffReason: 'Why handed off', intents: 'Intents',
  slots: 'Collected details', flows: 'Flows', actions: 'Actions taken', transactions: 'Transactions', articles: 'Articles cited',
  nextSteps: 'Suggested next steps', transcript: 'Full transcript', sentiment: 'Sentiment', verified: 'Verified', unverified: 'Not verified',
  priority: 'P{n}', priorityLabel: 'Priority', tier: 'Tier', segment: 'Segment', language: 'Language', topic: 'Topic', riskFlags: 'Risk flags',
  trends: { improving: 'improving', steady: 'steady', worsening: 'worsening', unknown: 'unknown' },
  flowStatus: { active: 'active', in_progress: 'in progress', completed: 'completed', failed: 'failed', cancelled: 'cancelled', abandoned: 'abandoned' },
  reasons: {
    customer_request: 'Asked for a person', repeated_question: 'Question repeated', frustration: 'Frustrated customer',
    unrecognised_transaction: 'Unrecognised transaction (fraud)', regulator_complaint: 'Regulator complaint', complaint: 'Complaint',
    flow_failure: 'Flow failed', vip_policy: 'VIP service', answer_refused: 'Answer refused', llm_unavailable: 'Model unavailable',
  },
  tiers: { classic: 'Classic', gold: 'Gold', platinum: 'Platinum', diamond: 'Diamond' },
  skillNames: { general: 'General', risk: 'Risk', senior: 'Senior/VIP', complaints: 'Complaints', supervisor: 'Supervisor' },
  langNames: { zh: 'Chinese', en: 'English' },
  errors: {
    already_claimed: 'Another agent claimed this chat first.', at_capacity: 'You are at your chat capacity.',
    forbidden: 'This chat needs other skills or another language.', not_assigned: 'This chat is not assigned to you.',
    not_found: 'The chat is no longer waiting.', invalid_state: 'The chat was already closed or handed back.',
    unavailable: 'The service is briefly unavailable; try again.', delivery_failed: 'The message was not delivered; try again.',
    connection: 'connection lost', generic: 'That did not work; please try again.',
  },
  switchLang: '中文', seconds: '{n}s', minutes: '{m}m {s}s', hours: '{h}h {m}m',
};

const TABLES = { 'zh-CN': zh, 'en-US': en };

export function consoleText(locale) {
  const table = TABLES[locale] || zh;
  const t = (key, params = {}) => {
    const v = key.split('.').reduce((o, k) => (o == null ? undefined : o[k]), table);
    if (typeof v !== 'string') return v === undefined ? key.split('.').pop() : v;
    return v.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  };
  t.locale = TABLES[locale] ? locale : 'zh-CN';
  return t;
}

/** 75 → "1分15秒" / "1m 15s". */
export function duration(t, totalSeconds) {
  const s = Math.max(0, Math.floor(Math.abs(totalSeconds)));
  if (s < 60) return t('seconds', { n: s });
  if (s < 3600) return t('minutes', { m: Math.floor(s / 60), s: s % 60 });
  return t('hours', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

/** Seconds left to the first-response deadline (negative when overdue). */
export function slaRemaining(deadlineIso, nowMs) {
  const deadline = Date.parse(deadlineIso);
  return Number.isFinite(deadline) ? Math.round((deadline - nowMs) / 1000) : null;
}

/** Waiting time now, from the snapshot's waiting_s and when the snapshot arrived. */
export function waitingNow(item, snapshotAtMs, nowMs) {
  return Math.max(0, (item.waiting_s || 0) + Math.floor((nowMs - snapshotAtMs) / 1000));
}

/** Queue order: priority 1 first; overdue or escalated before the rest; then longest waiting. */
export function sortQueue(items, escalated = new Set()) {
  const urgent = (i) => (i.sla_breached || escalated.has(i.conversation_id) ? 0 : 1);
  return [...items].sort((a, b) => a.priority - b.priority || urgent(a) - urgent(b) || b.waiting_s - a.waiting_s
    || String(a.conversation_id).localeCompare(String(b.conversation_id)));
}
