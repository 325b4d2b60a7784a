// Transcript items as DOM: bubbles (assistant, agent, customer, system), source chips, handoff
// notices and the satisfaction survey. Text is always textContent; see shared/dom.js.

import { h, icon, ICONS } from '../shared/dom.js';
import { renderCard } from './cardview.js';

let uid = 0;
const nextId = (p) => `${p}-${(uid += 1)}`;

/** What an item looks like; an unchanged signature means its node can stay as it is. */
export function signature(item) {
  return [item.kind, item.status, item.streaming ? 1 : 0, item.text, item.cards?.length ?? 0,
    item.citations?.length ?? 0, item.agentName, item.seq === null ? 'p' : 's'].join('\u0001');
}

/**
 * @param item  a transcript item
 * @param ctx   {t, time(ts), choiceFor(cardKey), act(itemKey, card, action, label, values), csat: {...}}
 */
export function renderItem(item, ctx) {
  const node = item.kind === 'handoff' ? handoffNotice(item, ctx)
    : item.kind === 'csat' ? csatCard(item, ctx)
      : bubble(item, ctx);
  node.dataset.key = item.key;
  if (Number.isInteger(item.seq)) node.dataset.seq = String(item.seq);
  node.dataset.sig = signature(item);
  return node;
}

function avatar(role) {
  return role === 'agent'
    ? h('span', { class: 'avatar avatar-agent', aria: { hidden: 'true' } }, icon(ICONS.person, { size: 16 }))
    : h('span', { class: 'avatar avatar-bot', aria: { hidden: 'true' }, text: 'AI' });
}

function bubble(item, ctx) {
  const { t } = ctx;
  const role = item.role;
  const who = role === 'agent' ? t('agentLabel', { name: item.agentName || '' }).trim()
    : role === 'bot' ? t('assistant') : role === 'customer' ? t('you') : '';
  const li = h('li', { class: `msg msg-${role}`, data: { role, status: item.status || null, kind: item.kind } });
  if (item.streaming) li.setAttribute('data-streaming', '');
  if (role === 'system') {
    li.append(h('p', { class: 'system-text', text: item.text }));
    return li;
  }
  if (role === 'bot' || role === 'agent') {
    li.append(h('div', { class: 'who' }, avatar(role), h('span', { class: 'who-name', text: who })));
  } else {
    li.append(h('span', { class: 'sr', text: `${who}: ` }));
  }
  const body = h('div', { class: 'bubble' }, h('p', { class: 'text', text: item.text }));
  if (item.citations?.length) body.append(sources(item.citations, ctx));
  li.append(body);
  item.cards?.forEach((card) => {
    const cardKey = `${item.key}/${card.id}`;
    li.append(renderCard(card, {
      t, cardKey, choice: ctx.choiceFor(cardKey),
      act: (c, action, label, values) => ctx.act(item.key, c, action, label, values),
    }));
  });
  const meta = metaLine(item, ctx);
  if (meta) li.append(meta);
  return li;
}

function metaLine(item, ctx) {
  const { t } = ctx;
  const parts = [];
  if (item.role === 'customer') {
    if (item.status === 'pending') {
      parts.push(icon(ICONS.clock, { size: 12 }), h('span', { text: ctx.online() ? t('sending') : t('waitingNetwork') }));
    } else {
      parts.push(icon(ICONS.check, { size: 12 }), h('span', { text: t('sent') }));
    }
  }
  const time = ctx.time(item.ts);
  if (time) parts.push(h('span', { class: 'time', text: time }));
  return parts.length ? h('p', { class: 'meta' }, parts) : null;
}

/** Source chips: the article title; a click shows the section and the snippet. */
function sources(citations, ctx) {
  const { t } = ctx;
  const seen = new Set();
  const unique = citations.filter((c) => {
    const k = `${c.article_id}|${c.section}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  }).slice(0, 6);
  const detail = h('div', { class: 'source-detail', id: nextId('cc-src'), hidden: true });
  const chips = unique.map((c) => {
    const title = String(c.title || c.article_id || '');
    const chip = h('button', {
      type: 'button', class: 'chip', aria: { expanded: 'false', controls: detail.id, label: t('showSource', { title }) },
    }, icon(ICONS.doc, { size: 14 }), h('span', { class: 'chip-text', text: title }));
    chip.addEventListener('click', () => {
      const open = chip.getAttribute('aria-expanded') !== 'true';
      for (const other of chips) other.setAttribute('aria-expanded', 'false');
      chip.setAttribute('aria-expanded', String(open));
      detail.hidden = !open;
      detail.replaceChildren(
        h('p', { class: 'source-title', text: title }),
        c.section ? h('p', { class: 'source-section', text: t('sourceSection', { section: String(c.section) }) }) : '',
        c.snippet ? h('blockquote', { class: 'source-snippet', text: String(c.snippet) }) : '',
      );
      if (open) detail.scrollIntoView({ block: 'nearest' });
    });
    return chip;
  });
  return h('div', { class: 'sources' }, h('p', { class: 'sources-label', text: t('sources') }), h('div', { class: 'chips' }, chips), detail);
}

const HANDOFF_TEXT = {
  queued: (t) => t('queuedTitle'),
  assigned: (t, item) => t('assignedTitle', { name: item.agentName || '' }),
  returned: (t) => t('returnedTitle'),
  closed: (t) => t('closedTitle'),
  message_left: (t) => t('messageLeftTitle'),
};

function handoffNotice(item, ctx) {
  const text = (HANDOFF_TEXT[item.status] || (() => ''))(ctx.t, item);
  const li = h('li', { class: `notice-line handoff-${item.status}`, data: { role: 'system' } },
    h('p', { class: 'system-text' }, item.status === 'assigned' ? icon(ICONS.person, { size: 14 }) : null, h('span', { text })));
  if (item.ticketId && (item.status === 'queued' || item.status === 'message_left')) {
    li.append(h('p', { class: 'system-sub', text: ctx.t('ticket', { id: item.ticketId }) }));
  }
  return li;
}

/** 1–5 stars as native radio buttons (arrow keys work), an optional comment, one submit. */
function csatCard(item, ctx) {
  const { t } = ctx;
  const li = h('li', { class: 'csat-item', data: { role: 'system' } });
  const rated = ctx.csat.rating();
  if (rated) {
    li.append(h('div', { class: 'card card-csat', role: 'status' },
      h('p', { class: 'csat-thanks', text: t('csatThanks') }), h('p', { class: 'muted', text: t('csatRated', { n: rated }) })));
    return li;
  }
  const name = nextId('cc-csat');
  const stars = [];
  const radios = [1, 2, 3, 4, 5].map((n) => {
    const id = `${name}-${n}`;
    const input = h('input', { type: 'radio', name, id, value: String(n), class: 'star-input' });
    const label = h('label', { for: id, class: 'star', title: t('csatStar', { n }) },
      icon(ICONS.star, { size: 28 }), h('span', { class: 'sr', text: t('csatStar', { n }) }));
    stars.push(label);
    return [input, label];
  });
  const paint = (value) => stars.forEach((s, i) => s.classList.toggle('on', i < value));
  const group = h('fieldset', { class: 'stars' }, h('legend', { class: 'card-title', text: t('csatTitle') }), radios);
  group.addEventListener('change', (ev) => paint(Number(ev.target.value)));
  const commentId = nextId('cc-csat-c');
  const comment = h('textarea', { id: commentId, class: 'csat-comment', rows: '2', maxlength: '500' });
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card card-csat', novalidate: true }, group,
    h('label', { for: commentId, class: 'csat-comment-label', text: t('csatComment') }), comment, error,
    h('div', { class: 'btn-row' }, h('button', { type: 'submit', class: 'btn btn-primary', text: t('csatSubmit') })));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const checked = form.querySelector('input:checked');
    if (!checked) {
      error.hidden = false;
      error.textContent = t('csatPick');
      form.querySelector('input')?.focus();
      return;
    }
    ctx.csat.submit(Number(checked.value), comment.value.trim());
  });
  li.append(form);
  return li;
}
