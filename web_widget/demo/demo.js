// The demo bank-app page: picks the demo customer (like a bank backend rendering the embed tag),
// fills the mock app screen from the simulated card system, and remounts the widget when the
// customer is switched (new token, new conversation).

import { h, clear } from '../shared/dom.js';

const STORE_KEY = 'cardcare-demo-customer';
const embed = document.getElementById('cardcare-embed');
const phone = document.getElementById('phone');

const TEXT = {
  'zh-CN': {
    intro: '明光银行信用卡 App 的模拟页面，右下角是嵌入的智能客服。切换演示客户会为该客户开始新的对话。',
    customer: '演示客户', console: '打开坐席工作台', consoleShort: '坐席台', bank: '明光银行', cardName: '明光信用卡', statement: '本期账单',
    due: '到期还款日', available: '可用额度', services: '常用服务', scBill: '账单', scPay: '还款', scSplit: '分期',
    scLimit: '额度', scPoints: '积分', scLock: '挂失', promoTitle: '账单分期，最长 24 期',
    promoText: '每期手续费按本金收取，办理前展示年化利率。问问右下角的智能助手。', recent: '近期交易',
    tabHome: '首页', tabCards: '卡片', tabLife: '生活', tabMe: '我的',
    greeting: '{name}，您好', tiers: { classic: '普卡', gold: '金卡', platinum: '白金卡', diamond: '钻石卡' },
    segments: { active: '活跃客户', vip: 'VIP', new: '新客户', dormant: '休眠客户' },
    languages: { 'zh-CN': '中文', 'en-US': '英文' }, profile: '{tier} · {segment} · 偏好{language}',
    cardOf: '明光{tier}', failed: '无法读取演示客户，请确认服务以演示模式运行（CARDCARE_DEMO=true）。',
  },
  'en-US': {
    intro: "A mock of Lumen Bank's credit card app with the assistant embedded at the bottom right. Switching the demo customer starts a new conversation for them.",
    customer: 'Demo customer', console: 'Open the agent console', consoleShort: 'Agents', bank: 'Lumen Bank', cardName: 'Lumen card', statement: 'Current statement',
    due: 'Payment due', available: 'Available credit', services: 'Services', scBill: 'Bill', scPay: 'Pay', scSplit: 'Installments',
    scLimit: 'Limit', scPoints: 'Points', scLock: 'Lock card', promoTitle: 'Pay your bill in up to 24 installments',
    promoText: 'A fee per period on the principal, with the APR shown before you agree. Ask the assistant.', recent: 'Recent transactions',
    tabHome: 'Home', tabCards: 'Cards', tabLife: 'Life', tabMe: 'Me',
    greeting: 'Hello, {name}', tiers: { classic: 'Classic', gold: 'Gold', platinum: 'Platinum', diamond: 'Diamond' },
    segments: { active: 'Active', vip: 'VIP', new: 'New', dormant: 'Dormant' },
    languages: { 'zh-CN': 'Chinese', 'en-US': 'English' }, profile: '{tier} · {segment} · prefers {language}',
    cardOf: 'Lumen {tier}', failed: 'Cannot read the demo customers. Is the service running in demo mode (CARDCARE_DEMO=true)?',
  },
};

const fill = (s, p) => s.replace(/\{(\w+)\}/g, (m, k) => (k in p ? p[k] : m));
const money = (v) => `¥${Number(v).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

function initialChoice() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('customer');
  if (fromUrl && /^[A-Za-z0-9_-]{1,32}$/.test(fromUrl)) {
    return { id: fromUrl, locale: params.get('lang') === 'en-US' ? 'en-US' : params.get('lang') === 'zh-CN' ? 'zh-CN' : null };
  }
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null');
    if (saved && typeof saved.id === 'string') return saved;
  } catch {
    /* no storage */
  }
  return { id: 'C001', locale: 'zh-CN' };
}

const choice = initialChoice();
// Runs before the deferred widget loader: the embed tag mounts this customer.
embed.dataset.customerId = choice.id;
if (choice.locale) embed.dataset.locale = choice.locale;

let current = new Promise((resolve) => {
  document.addEventListener('cardcare:mounted', (ev) => resolve(ev.detail), { once: true });
});

function applyText(locale) {
  const text = TEXT[locale];
  document.documentElement.lang = locale;
  for (const el of document.querySelectorAll('[data-i18n]')) {
    const value = text[el.dataset.i18n];
    if (typeof value === 'string') el.textContent = value;
  }
  return text;
}

function dateText(iso, locale) {
  const d = new Date(`${iso}T00:00:00`);
  return locale === 'zh-CN' ? `${d.getMonth() + 1}月${d.getDate()}日` : d.toLocaleDateString('en-US', { month: 'short', day: 'numeric' });
}

let shown = 0;

async function showCustomer(c, locale) {
  const generation = ++shown;
  const text = applyText(locale);
  const name = locale === 'zh-CN' ? c.display_name : c.display_name_en || c.display_name;
  document.getElementById('greeting').textContent = fill(text.greeting, { name });
  document.getElementById('customer-profile').textContent = fill(text.profile, {
    tier: text.tiers[c.tier] || c.tier, segment: text.segments[c.segment] || c.segment,
    language: text.languages[c.preferred_locale] || c.preferred_locale,
  });
  const tile = document.querySelector('.card-tile');
  tile.dataset.tier = c.tier;
  document.getElementById('card-name').textContent = fill(text.cardOf, { tier: text.tiers[c.tier] || c.tier });
  const res = await fetch(`/api/v1/demo/customers/${encodeURIComponent(c.id)}/state`);
  if (!res.ok) return;
  const state = await res.json();
  if (generation !== shown) return; // another customer was picked meanwhile
  const card = state.cards?.[0];
  const stmt = state.statements?.[0];
  if (card) {
    document.getElementById('card-no').textContent = `•••• ${card.last4}`;
    document.getElementById('card-available').textContent = money(Number(card.credit_limit) - Number(card.balance));
  }
  document.getElementById('card-amount').textContent = stmt ? money(stmt.balance) : money(0);
  document.getElementById('card-due').textContent = stmt ? dateText(stmt.due_date, locale) : '—';
  const recent = [...(state.transactions || [])].sort((a, b) => (a.posted_on < b.posted_on ? 1 : -1)).slice(0, 4);
  clear(document.getElementById('recent-list')).append(...recent.map((t) => h('li', {},
    h('span', { class: 'tx-merchant', text: t.merchant }), h('span', { class: 'tx-date', text: dateText(t.posted_on, locale) }),
    h('span', { class: 'tx-amount', text: `-${money(t.amount)}` }))));
}

async function remount(c, locale) {
  const old = await current;
  old?.destroy();
  current = window.CardCare.mount(phone, {
    tokenEndpoint: embed.dataset.tokenEndpoint, customerId: c.id, locale, fresh: true,
  });
  return current;
}

async function main() {
  const select = document.getElementById('customer');
  let customers;
  try {
    const res = await fetch('/api/v1/demo/customers');
    if (!res.ok) throw new Error(String(res.status));
    customers = await res.json();
  } catch {
    document.getElementById('customer-profile').textContent = TEXT[choice.locale || 'zh-CN'].failed;
    return;
  }
  const locale = choice.locale || customers.find((c) => c.id === choice.id)?.preferred_locale || 'zh-CN';
  const label = (c, loc) => {
    const name = loc === 'zh-CN' ? c.display_name : c.display_name_en || c.display_name;
    return `${c.id} · ${name} · ${TEXT[loc].tiers[c.tier] || c.tier}`;
  };
  clear(select).append(...customers.map((c) => h('option', { value: c.id, selected: c.id === choice.id, text: label(c, locale) })));
  const byId = new Map(customers.map((c) => [c.id, c]));
  // The listener is in place before the switcher is enabled, so no early change is lost.
  select.addEventListener('change', async () => {
    const c = byId.get(select.value);
    const next = c.preferred_locale === 'en-US' ? 'en-US' : 'zh-CN';
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify({ id: c.id, locale: next }));
    } catch {
      /* no storage */
    }
    history.replaceState(null, '', `?customer=${encodeURIComponent(c.id)}`);
    for (const opt of select.options) opt.textContent = label(byId.get(opt.value), next);
    await remount(c, next);
    await showCustomer(c, next);
    document.dispatchEvent(new CustomEvent('cardcare-demo:switched', { detail: { id: c.id, locale: next } }));
  });
  select.disabled = false;
  await showCustomer(byId.get(choice.id) || customers[0], locale);
}

main();
