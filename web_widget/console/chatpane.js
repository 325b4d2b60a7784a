// One chat in the console: header with hand back / close, the conversation (bot, customer, agent
// turns and internal notes), compliance warnings, and the composer (reply or internal note).

import { h, clear, icon, ICONS } from '../shared/dom.js';
import { timeline } from './desk.js';

const DISPOSITIONS = ['resolved', 'follow_up', 'unresolved'];

function clock(iso, t) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString(t.locale, { hour: '2-digit', minute: '2-digit' });
}

export function customerName(chat) {
  const c = chat.context?.customer;
  return c?.name || c?.masked_id || chat.id;
}

/**
 * A chat pane bound to one chat. `app` gives: t, desk, drafts (Map), toast(text).
 * Returns {el, update(chat), restore(text), showBlocked(rules, text)}.
 */
export function createChatPane(chat, app) {
  const { t, desk } = app;
  const draft = app.drafts.get(chat.id) || { reply: '', note: '', mode: 'reply' };
  app.drafts.set(chat.id, draft);

  const title = h('h2', { class: 'chat-title' });
  const facts = h('p', { class: 'chat-facts' });
  const state = h('p', { class: 'chat-state', role: 'status' });
  const drawer = h('div', { class: 'drawer', hidden: true });
  const handbackBtn = h('button', { type: 'button', class: 'btn btn-secondary', on: { click: () => openDrawer('handback') } },
    icon(ICONS.back, { size: 16 }), h('span', { text: t('handback') }));
  const closeBtn = h('button', { type: 'button', class: 'btn btn-danger', on: { click: () => openDrawer('close') } },
    h('span', { text: t('close') }));
  const header = h('header', { class: 'chat-head' },
    h('div', { class: 'chat-id' }, title, facts), h('div', { class: 'chat-actions' }, handbackBtn, closeBtn));
  const list = h('ol', { class: 'timeline', aria: { label: t('transcript') } });
  const scroller = h('div', { class: 'timeline-scroll' }, list);
  const blocked = h('div', { class: 'blocked', role: 'alert', hidden: true });

  const modeReply = h('button', { type: 'button', class: 'mode', on: { click: () => setMode('reply') } }, t('reply'));
  const modeNote = h('button', { type: 'button', class: 'mode mode-note', on: { click: () => setMode('note') } },
    icon(ICONS.lock, { size: 14 }), h('span', { text: t('note') }));
  const input = h('textarea', { class: 'composer-input', rows: '3', maxlength: '4000', aria: { label: t('reply') } });
  const sendBtn = h('button', { type: 'submit', class: 'btn btn-primary' }, icon(ICONS.send, { size: 16 }), h('span', { text: t('send') }));
  const noteBanner = h('p', { class: 'note-banner', hidden: true }, icon(ICONS.lock, { size: 14 }), h('span', { text: t('noteBanner') }));
  const composer = h('form', { class: 'composer', novalidate: true, data: { mode: draft.mode } },
    h('div', { class: 'modes', role: 'group' }, modeReply, modeNote), noteBanner, input,
    h('div', { class: 'composer-row' }, h('span', { class: 'muted small', text: t('keysHint') }), sendBtn));
  const el = h('section', { class: 'chat', aria: { labelledby: `title-${chat.id}` } }, header, drawer, scroller, blocked, state, composer);
  title.id = `title-${chat.id}`;

  function setMode(mode, focus = true) {
    draft[draft.mode] = input.value;
    draft.mode = mode;
    composer.dataset.mode = mode;
    input.value = draft[mode];
    input.placeholder = mode === 'note' ? t('notePlaceholder') : t('replyPlaceholder');
    input.setAttribute('aria-label', mode === 'note' ? t('note') : t('reply'));
    sendBtn.lastChild.textContent = mode === 'note' ? t('addNote') : t('send');
    noteBanner.hidden = mode !== 'note';
    modeReply.setAttribute('aria-pressed', String(mode === 'reply'));
    modeNote.setAttribute('aria-pressed', String(mode === 'note'));
    if (focus) input.focus();
  }

  function submit() {
    const text = input.value.trim();
    if (!text || chat.status !== 'active') return;
    if (draft.mode === 'note') {
      if (desk.note(chat.id, text)) input.value = '';
    } else {
      blocked.hidden = true;
      if (desk.reply(chat.id, text)) input.value = '';
    }
    draft[draft.mode] = input.value;
  }

  composer.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
      ev.preventDefault();
      submit();
    }
  });
  input.addEventListener('input', () => { draft[draft.mode] = input.value; });

  function openDrawer(kind) {
    if (!drawer.hidden && drawer.dataset.kind === kind) {
      drawer.hidden = true;
      return;
    }
    drawer.dataset.kind = kind;
    const cancel = h('button', { type: 'button', class: 'btn btn-secondary', text: t('cancel'), on: { click: () => { drawer.hidden = true; } } });
    if (kind === 'handback') {
      const note = h('textarea', { class: 'drawer-input', rows: '2', maxlength: '4000', id: `hb-${chat.id}` });
      drawer.replaceChildren(h('label', { for: note.id, text: t('handbackNote') }), note, h('div', { class: 'drawer-row' }, cancel,
        h('button', { type: 'button', class: 'btn btn-primary', text: t('confirmHandback'),
          on: { click: () => { if (desk.handback(chat.id, note.value.trim())) drawer.hidden = true; } } })));
      drawer.hidden = false;
      note.focus();
    } else {
      const select = h('select', { id: `dp-${chat.id}`, class: 'drawer-select' },
        DISPOSITIONS.map((d) => h('option', { value: d, text: t(`dispositions.${d}`) })));
      drawer.replaceChildren(h('label', { for: select.id, text: t('disposition') }), select, h('div', { class: 'drawer-row' }, cancel,
        h('button', { type: 'button', class: 'btn btn-danger', text: t('confirmClose'),
          on: { click: () => { if (desk.close(chat.id, select.value)) drawer.hidden = true; } } })));
      drawer.hidden = false;
      select.focus();
    }
  }

  function renderEntry(item) {
    if (item.kind === 'note') {
      return h('li', { class: 'tl tl-note' }, h('p', { class: 'tl-who' }, icon(ICONS.lock, { size: 12 }),
        h('span', { text: `${t('internalNote')}${item.author ? ` · ${item.author}` : ''}` }), h('span', { class: 'muted', text: ` ${clock(item.at, t)}` })),
      h('p', { class: 'tl-text', text: item.text }));
    }
    const who = item.role === 'agent' ? `${t('roles.agent')} ${item.author || ''}`.trim() : t(`roles.${item.role}`);
    // The transcript marks handoff status changes as "[handoff assigned]"; show them in words.
    const status = item.role === 'system' && /^\[handoff (\w+)\]$/.exec(item.text || '');
    const text = status ? t(`handoffStatus.${status[1]}`) : item.text;
    const li = h('li', { class: `tl tl-${item.role}`, data: { seq: item.seq } },
      h('p', { class: 'tl-who' }, h('span', { text: who }), h('span', { class: 'muted', text: ` ${clock(item.at, t)}` })),
      h('p', { class: 'tl-text', text }));
    if (item.warnings?.length) {
      li.append(h('p', { class: 'tl-warn' }, icon(ICONS.alert, { size: 12 }),
        h('span', { text: `${t('warnings')} ${item.warnings.map((w) => w.message).join('；')}` })));
    }
    return li;
  }

  function update(c) {
    chat = c;
    const ctx = c.context || {};
    const cust = ctx.customer || {};
    title.textContent = customerName(c);
    facts.replaceChildren(
      ctx.priority ? h('span', { class: `prio prio-${ctx.priority}`, text: t('priority', { n: ctx.priority }) }) : '',
      h('span', { text: [t(`tiers.${cust.tier}`), t(`reasons.${ctx.reason}`), t(`langNames.${ctx.language}`)].filter((x) => x && x !== 'undefined').join(' · ') }),
      c.escalated ? h('span', { class: 'badge badge-risk', text: t('escalated') }) : '');
    const nearEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    clear(list).append(...timeline(c).map(renderEntry),
      ...c.pending.map((p) => h('li', { class: 'tl tl-agent tl-pending' }, h('p', { class: 'tl-who' },
        h('span', { text: `${t('roles.agent')} · ${t(p.state === 'unconfirmed' ? 'unconfirmed' : 'send')}…` })), h('p', { class: 'tl-text', text: p.text }))));
    if (nearEnd || !list.dataset.scrolled) {
      scroller.scrollTop = scroller.scrollHeight;
      list.dataset.scrolled = '1';
    }
    const active = c.status === 'active';
    handbackBtn.disabled = !active;
    closeBtn.disabled = !active;
    composer.hidden = !active;
    if (!active) drawer.hidden = true;
    state.hidden = active;
    state.textContent = c.status === 'returned' ? t('returnedState')
      : c.by === 'customer' ? t('customerLeft') : t('closedState', { d: t(`dispositions.${c.disposition}`) });
  }

  function restore(text) {
    if (draft.mode !== 'reply') setMode('reply');
    input.value = input.value ? `${text}\n${input.value}` : text;
    draft.reply = input.value;
    input.focus();
  }

  function showBlocked(rules, text) {
    blocked.replaceChildren(h('p', { class: 'blocked-title' }, icon(ICONS.alert, { size: 16 }), h('span', { text: t('blocked') })),
      h('ul', {}, rules.map((r) => h('li', {}, h('strong', { text: r.rule_id }), h('span', { text: ` ${r.message}` })))));
    blocked.hidden = false;
    restore(text);
  }

  setMode(draft.mode, false);
  update(chat);
  return { el, update, restore, showBlocked, focus: () => input.focus() };
}
