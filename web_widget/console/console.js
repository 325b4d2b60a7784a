// The agent console at /agent: sign-in, the queue with SLA countdowns, chats as tabs, the case
// file. State and protocol live in desk.js; this module only renders and routes clicks.

import { h, clear, icon, ICONS } from '../shared/dom.js';
import { Desk } from './desk.js';
import { consoleText, duration, slaRemaining, sortQueue, waitingNow } from './labels.js';
import { renderCaseFile } from './casefile.js';
import { createChatPane, customerName } from './chatpane.js';

const SESSION_KEY = 'cardcare-agent-session';
const LANG_KEY = 'cardcare-agent-lang';
const app = { t: consoleText('zh-CN'), desk: null, drafts: new Map(), panes: new Map(), active: null, session: null };
const root = document.getElementById('app');

const LOGO = new URL('../shared/logo.svg', import.meta.url).href;
const brand = (t) => h('div', { class: 'brand' }, h('img', { src: LOGO, alt: '', width: '28', height: '28' }),
  h('span', {}, h('strong', { text: t('bank') }), ' ', h('span', { text: t('appTitle') })));
const wsUrl = (path) => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;

function store(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage disabled: the session lasts until reload */
  }
}

function load(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

function pickLocale(agent) {
  const saved = load(LANG_KEY);
  if (saved === 'zh-CN' || saved === 'en-US') return saved;
  // The agent's first language; the team's default is Chinese.
  return agent?.languages?.[0] === 'en' ? 'en-US' : 'zh-CN';
}

// -- sign-in ------------------------------------------------------------------------------------

async function renderSignIn(message) {
  const t = app.t;
  document.documentElement.lang = t.locale;
  const status = h('p', { class: 'signin-status', role: 'alert', text: message || '' });
  const body = h('div', { class: 'signin-body' }, h('p', { class: 'muted', text: '…' }));
  clear(root).append(h('main', { class: 'signin' }, h('div', { class: 'signin-card' },
    brand(t), h('h1', { text: t('signInTitle') }), status, body)));
  let agents = null;
  try {
    const res = await fetch('/api/v1/demo/agents');
    if (res.ok) agents = (await res.json()).agents;
  } catch {
    /* fall through to the token form */
  }
  if (!agents) {
    const input = h('textarea', { id: 'agent-token', rows: '3', class: 'token-input' });
    body.replaceChildren(h('p', { class: 'muted', text: t('tokenHint') }), h('label', { for: 'agent-token', text: t('tokenLabel') }), input,
      h('button', { type: 'button', class: 'btn btn-primary', text: t('signIn'),
        on: { click: () => input.value.trim() && startDesk({ token: input.value.trim(), agent: null }) } }));
    return;
  }
  body.replaceChildren(h('p', { class: 'muted', text: t('signInHint') }), h('ul', { class: 'agent-list' }, agents.map((a) => h('li', {},
    h('button', { type: 'button', class: 'agent-btn', data: { agent: a.agent_id }, on: { click: () => signIn(a, status) } },
      h('span', { class: 'agent-avatar', aria: { hidden: 'true' }, text: a.display_name.slice(0, 1) }),
      h('span', { class: 'agent-text' }, h('strong', { text: a.display_name }),
        h('span', { class: 'muted', text: `${a.skills.map((s) => t(`skillNames.${s}`)).join(' · ')} — ${a.languages.map((l) => t(`langNames.${l}`)).join('/')}` })))))));
}

async function signIn(agent, status) {
  try {
    const res = await fetch('/api/v1/demo/agent-token', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agent_id: agent.agent_id }),
    });
    if (!res.ok) throw new Error(String(res.status));
    const doc = await res.json();
    startDesk({ token: doc.token, agent: doc.agent });
  } catch (err) {
    status.textContent = app.t('signInFailed', { reason: err.message });
  }
}

// -- the desk -------------------------------------------------------------------------------------

function startDesk(session) {
  app.session = session;
  store(SESSION_KEY, session);
  app.t = consoleText(pickLocale(session.agent));
  app.desk?.stop();
  app.desk = new Desk({ url: () => wsUrl('/ws/agent'), token: session.token });
  app.panes.clear();
  app.active = null;
  renderShell();
  const d = app.desk;
  d.on('welcome', (w) => {
    app.session = { ...app.session, agent: w };
    store(SESSION_KEY, app.session);
    renderTop();
  });
  d.on('status', renderTop);
  d.on('queue', renderQueue);
  d.on('chats', () => {
    renderTabs();
    renderQueue();
  });
  d.on('chat', (chat) => {
    app.panes.get(chat.id)?.update(chat);
    if (chat.id === app.active) {
      chat.unread = 0;
      renderCase();
    }
    renderTabs();
  });
  d.on('claimed', (chat) => select(chat.id, true));
  d.on('customer-message', ({ chat, text }) => {
    app.live.textContent = `${customerName(chat)}: ${text}`;
  });
  d.on('blocked', ({ chat, rules, text }) => app.panes.get(chat.id)?.showBlocked(rules, text));
  d.on('undelivered', ({ chat, text }) => {
    app.panes.get(chat.id)?.restore(text);
    toast(app.t('failed', { reason: app.t('errors.delivery_failed') }));
  });
  d.on('error', (e) => toast(app.t(`errors.${e.code}`) === e.code ? app.t('errors.generic') : app.t(`errors.${e.code}`)));
  d.on('escalation', (e) => {
    renderQueue();
    toast(app.t('escalationToast', { reason: app.t(`reasons.${e.reason}`), t: duration(app.t, e.waited_s || 0) }));
  });
  d.on('unauthorized', () => signOut(app.t('signInFailed', { reason: '401' })));
  d.start();
  app.timer = setInterval(tick, 1000);
}

function signOut(message) {
  app.desk?.stop();
  app.desk = null;
  clearInterval(app.timer);
  store(SESSION_KEY, null);
  renderSignIn(message);
}

function renderShell() {
  const t = app.t;
  document.documentElement.lang = t.locale;
  app.top = h('header', { class: 'topbar' });
  app.queueEl = h('section', { class: 'queue', aria: { labelledby: 'queue-title' } });
  app.tabs = h('div', { class: 'tabs', role: 'tablist', aria: { label: t('mine') }, on: { keydown: tabKeys } });
  app.chatArea = h('div', { class: 'chat-area' });
  app.caseEl = h('aside', { class: 'casefile', aria: { label: t('caseFile') } });
  app.toast = h('div', { class: 'toast', role: 'alert', hidden: true });
  app.live = h('div', { class: 'sr', aria: { live: 'polite', atomic: 'true' } });
  clear(root).append(app.top, h('div', { class: 'desk' }, app.queueEl,
    h('main', { class: 'work' }, app.tabs, app.chatArea), app.caseEl), app.toast, app.live);
  renderTop();
  renderQueue();
  renderTabs();
  renderChat();
  renderCase();
}

function renderTop() {
  const t = app.t;
  const agent = app.session?.agent;
  const status = app.desk?.status || 'connecting';
  app.top.replaceChildren(
    brand(t),
    h('div', { class: 'top-right' },
      h('span', { class: `conn conn-${status}`, role: 'status', text: status === 'open' ? t('online') : status === 'offline' ? t('reconnecting') : t('connecting') }),
      agent ? h('span', { class: 'me' }, h('span', { class: 'agent-avatar small', aria: { hidden: 'true' }, text: (agent.display_name || '?').slice(0, 1) }),
        h('span', {}, h('strong', { text: agent.display_name }), h('span', { class: 'muted', text: ` · ${(agent.skills || []).map((s) => t(`skillNames.${s}`)).join(' · ')}` }))) : '',
      h('button', { type: 'button', class: 'btn btn-ghost', text: t('switchLang'), on: { click: switchLang } }),
      h('button', { type: 'button', class: 'btn btn-ghost', text: t('signOut'), on: { click: () => signOut() } })));
}

function switchLang() {
  const next = app.t.locale === 'zh-CN' ? 'en-US' : 'zh-CN';
  store(LANG_KEY, next);
  app.t = consoleText(next);
  app.panes.clear();
  renderShell();
}

function renderQueue() {
  const t = app.t;
  const d = app.desk;
  if (!d) return;
  const items = sortQueue(d.queue, d.escalated);
  const now = Date.now();
  app.queueEl.replaceChildren(
    h('h2', { id: 'queue-title', class: 'col-title' }, h('span', { text: t('queue') }), h('span', { class: 'count', text: String(items.length) })),
    items.length ? h('ol', { class: 'q-list' }, items.map((i) => {
      const over = i.sla_breached || d.escalated.has(i.conversation_id);
      const claiming = d.claiming.has(i.conversation_id);
      return h('li', { class: `q-item${over ? ' q-over' : ''}`, data: { conversation: i.conversation_id, priority: i.priority } },
        h('div', { class: 'q-top' }, h('span', { class: `prio prio-${i.priority}`, text: t('priority', { n: i.priority }) }),
          h('strong', { class: 'q-reason', text: t(`reasons.${i.reason}`) }),
          over ? h('span', { class: 'badge badge-risk', text: t('escalated') }) : null,
          i.offline ? h('span', { class: 'badge', text: t('offline') }) : null),
        h('p', { class: 'q-meta', text: [t(`langNames.${i.language}`), t(`tiers.${i.tier}`), i.topic, t('position', { n: i.position })].filter(Boolean).join(' · ') }),
        h('div', { class: 'q-bottom' },
          h('span', { class: 'q-times' },
            h('span', { class: 'q-wait', data: { wait: i.waiting_s, at: d.snapshotAt }, text: t('waiting', { t: duration(t, waitingNow(i, d.snapshotAt, now)) }) }),
            h('span', { class: 'q-sla', data: { sla: i.sla_deadline }, text: slaText(i.sla_deadline, now) })),
          h('button', { type: 'button', class: 'btn btn-primary btn-sm', disabled: claiming,
            aria: { label: `${t('claim')} ${t(`reasons.${i.reason}`)}` }, on: { click: () => d.claim(i.conversation_id) } },
          claiming ? t('claiming') : t('claim'))));
    })) : h('p', { class: 'empty', text: t('queueEmpty') }),
    h('h2', { class: 'col-title' }, h('span', { text: t('mine') }), h('span', { class: 'count', text: String(d.assigned.length) })),
    d.assigned.length ? h('ul', { class: 'mine-list' }, d.assigned.map((a) => {
      const chat = d.chats.get(a.conversation_id);
      return h('li', {}, h('button', { type: 'button', class: 'mine-btn', on: { click: () => select(a.conversation_id) } },
        h('span', { class: `prio prio-${a.priority}`, text: t('priority', { n: a.priority }) }),
        h('span', { class: 'mine-name', text: chat ? customerName(chat) : t(`reasons.${a.reason}`) }),
        a.first_response_at ? h('span', { class: 'mine-sla ok', text: t('answered') })
          : h('span', { class: 'mine-sla', data: { sla: a.sla_deadline }, text: slaText(a.sla_deadline, now) })));
    })) : h('p', { class: 'empty', text: '—' }));
  tick();
}

function slaText(deadline, now) {
  const left = slaRemaining(deadline, now);
  if (left === null) return '';
  return left >= 0 ? app.t('slaLeft', { t: duration(app.t, left) }) : app.t('slaOver', { t: duration(app.t, -left) });
}

/** Once a second: waiting times and SLA countdowns move without re-rendering the queue. */
function tick() {
  const now = Date.now();
  for (const el of document.querySelectorAll('[data-sla]')) {
    el.textContent = slaText(el.dataset.sla, now);
    el.classList.toggle('over', (slaRemaining(el.dataset.sla, now) ?? 1) < 0);
  }
  for (const el of document.querySelectorAll('[data-wait]')) {
    el.textContent = app.t('waiting', { t: duration(app.t, waitingNow({ waiting_s: Number(el.dataset.wait) }, Number(el.dataset.at), now)) });
  }
}

function renderTabs() {
  const t = app.t;
  const chats = [...(app.desk?.chats.values() || [])];
  app.tabs.replaceChildren(...chats.map((c) => {
    const prio = c.context?.priority ?? c.item?.priority;
    const tab = h('button', {
      type: 'button', role: 'tab', class: `tab tab-${c.status}`, id: `tab-${c.id}`, data: { conversation: c.id },
      aria: { selected: String(c.id === app.active) }, tabindex: c.id === app.active ? '0' : '-1', on: { click: () => select(c.id) },
    }, prio ? h('span', { class: `prio prio-${prio}`, text: t('priority', { n: prio }) }) : null, h('span', { text: customerName(c) }),
    c.unread ? h('span', { class: 'unread', text: String(c.unread) }) : null);
    const wrap = h('span', { class: 'tab-wrap' }, tab);
    if (c.status !== 'active') {
      wrap.append(h('button', { type: 'button', class: 'tab-x', aria: { label: `${t('closeTab')} ${customerName(c)}` },
        on: { click: () => dismiss(c.id) } }, icon(ICONS.close, { size: 14 })));
    }
    return wrap;
  }));
}

/** Left/Right arrows move between the chat tabs (the WAI-ARIA tabs pattern). */
function tabKeys(ev) {
  if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
  const tabs = [...app.tabs.querySelectorAll('.tab')];
  const i = tabs.indexOf(document.activeElement);
  if (i < 0) return;
  const next = tabs[(i + (ev.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
  select(next.dataset.conversation);
  app.tabs.querySelector(`#${CSS.escape(next.id)}`)?.focus();
}

function dismiss(id) {
  app.desk.dismiss(id);
  app.panes.delete(id);
  if (app.active === id) select([...app.desk.chats.keys()][0] || null);
  renderTabs();
}

function select(id, focus = false) {
  app.active = id;
  const chat = id ? app.desk.chats.get(id) : null;
  if (chat) chat.unread = 0;
  renderTabs();
  renderChat();
  renderCase();
  if (focus) app.panes.get(id)?.focus();
}

function renderChat() {
  const chat = app.active ? app.desk?.chats.get(app.active) : null;
  if (!chat) {
    app.chatArea.replaceChildren(h('div', { class: 'no-chat' }, icon(ICONS.chat, { size: 40 }), h('p', { text: app.t('noChat') })));
    return;
  }
  let pane = app.panes.get(chat.id);
  if (!pane) {
    pane = createChatPane(chat, { t: app.t, desk: app.desk, drafts: app.drafts });
    app.panes.set(chat.id, pane);
  }
  app.chatArea.replaceChildren(pane.el);
  pane.update(chat);
}

function renderCase() {
  const chat = app.active ? app.desk?.chats.get(app.active) : null;
  app.caseEl.replaceChildren(h('h2', { class: 'col-title', text: app.t('caseFile') }),
    chat ? renderCaseFile(chat.context, app.t) : h('p', { class: 'empty', text: '—' }));
}

function toast(text) {
  app.toast.replaceChildren(icon(ICONS.alert, { size: 16 }), h('span', { text }));
  app.toast.hidden = false;
  clearTimeout(app.toastTimer);
  app.toastTimer = setTimeout(() => { app.toast.hidden = true; }, 6000);
}

const saved = load(SESSION_KEY);
if (saved?.token) startDesk(saved);
else renderSignIn();
