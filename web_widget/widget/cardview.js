// Action cards as DOM. Every text goes in as a text node; links only for https:/app: (see cards.js).
// A used card keeps its layout, marks the chosen button and disables the rest, so a double click
// cannot send twice.

import { h, icon, ICONS } from '../shared/dom.js';
import { isAppLink } from '../shared/safeurl.js';
import { actionKey, formSummary, validateForm } from './cards.js';

let uid = 0;
const nextId = (p) => `${p}-${(uid += 1)}`;

/**
 * @param card   a normalised card
 * @param ctx    {t, cardKey, choice, act(card, action, label, values)}
 */
export function renderCard(card, ctx) {
  const titleId = nextId('cc-card');
  const el = h('div', { class: `card card-${card.type}`, role: 'group', data: { cardKey: ctx.cardKey, type: card.type },
    aria: { labelledby: card.title ? titleId : null } },
  card.title ? h('h3', { class: 'card-title', id: titleId, text: card.title }) : null);
  const body = (BODIES[card.type] || unknownBody)(card, ctx);
  el.append(...[].concat(body).filter(Boolean));
  if (ctx.choice) applyChoice(el, ctx.choice);
  return el;
}

/** Mark a card as used: the chosen button shows a check, every control is disabled. */
export function applyChoice(el, choice) {
  el.toggleAttribute('data-used', Boolean(choice));
  for (const c of el.querySelectorAll('button, input, select, textarea')) {
    c.disabled = Boolean(choice);
    if (c.dataset.key) c.toggleAttribute('data-chosen', Boolean(choice) && c.dataset.key === choice.key);
  }
}

function actionButton(card, action, ctx, cls = 'btn') {
  const key = actionKey(card, action);
  return h('button', {
    type: 'button', class: cls, data: { key },
    on: { click: () => ctx.act(card, action, action.label, action.values) },
  }, chosenMark(ctx), h('span', { text: action.label }));
}

function chosenMark(ctx) {
  return [icon(ICONS.check, { size: 16, cls: 'icon chosen-mark' }), h('span', { class: 'sr chosen-text', text: `${ctx.t('selected')}: ` })];
}

function lines(pairs) {
  return h('dl', { class: 'lines' }, pairs.map(([k, v]) => h('div', { class: 'line' }, h('dt', { text: k }), h('dd', { text: v }))));
}

function footnote(text) {
  return text ? h('p', { class: 'footnote', text }) : null;
}

const BODIES = {
  table(card, ctx) {
    const hasActions = card.rows.some((r) => r.action);
    const head = h('tr', { role: 'row' }, card.columns.map((c) => h('th', { scope: 'col', role: 'columnheader', text: c })),
      hasActions ? h('th', { scope: 'col', role: 'columnheader', class: 'sr', text: ctx.t('selected') }) : null);
    const rows = card.rows.map((r) => h('tr', { role: 'row' },
      r.cells.map((cell, i) => h('td', { role: 'cell', data: { label: card.columns[i] ?? '' }, class: i === 0 ? 'lead' : null, text: cell })),
      hasActions ? h('td', { role: 'cell', class: 'act' }, r.action ? actionButton(card, r.action, ctx, 'btn btn-sm') : null) : null));
    return [
      h('div', { class: 'table-wrap' },
        h('table', { role: 'table' }, h('thead', { role: 'rowgroup' }, head), h('tbody', { role: 'rowgroup' }, rows))),
      footnote(card.footnote),
    ];
  },

  choices(card, ctx) {
    return h('div', { class: 'choices' }, card.options.map((o) => actionButton(card, o, ctx, 'btn btn-choice')));
  },

  confirm(card, ctx) {
    return [
      lines(card.lines),
      h('div', { class: 'btn-row' },
        card.cancel ? actionButton(card, card.cancel, ctx, 'btn btn-secondary') : null,
        card.confirm ? actionButton(card, card.confirm, ctx, 'btn btn-primary') : null),
    ];
  },

  info(card) {
    return [lines(card.lines), footnote(card.footnote)];
  },

  link(card, ctx) {
    if (!card.href) {
      return h('p', { class: 'link-unsafe' }, h('span', { text: card.label || card.url }), ' ', h('span', { class: 'muted', text: ctx.t('linkUnsafe') }));
    }
    const inApp = isAppLink(card.href);
    return h('a', {
      class: 'btn btn-link', href: card.href, rel: 'noopener noreferrer', target: inApp ? null : '_blank',
      aria: { label: `${card.label || card.title} (${ctx.t(inApp ? 'opensApp' : 'opensBrowser')})` },
    }, h('span', { text: card.label || card.title }));
  },

  form: renderForm,
};

function unknownBody(card, ctx) {
  return h('p', { class: 'muted', text: ctx.t('unsupportedCard') });
}

function fieldControl(f, id, describedBy) {
  const common = { id, name: f.name, required: f.required, aria: { describedby: describedBy, required: f.required ? 'true' : null } };
  if (f.kind === 'select') {
    return h('select', common, h('option', { value: '', text: '—' }),
      f.options.map(([value, label]) => h('option', { value, text: label, selected: value === f.value })));
  }
  const attrs = { ...common, type: f.kind === 'date' ? 'date' : 'text', value: f.value, placeholder: f.placeholder || null, autocomplete: 'off' };
  if (f.kind === 'number') attrs.inputmode = 'decimal';
  return h('input', attrs);
}

function renderForm(card, ctx) {
  const controls = [];
  const fields = card.fields.map((f) => {
    const id = nextId('cc-f');
    const hintId = `${id}-hint`;
    const errId = `${id}-err`;
    const range = f.kind === 'number' && (f.min !== null || f.max !== null)
      ? [f.min, f.max].map((n) => (n === null ? '' : n.toLocaleString(ctx.t.locale))).join(' – ') : '';
    const control = fieldControl(f, id, [range ? hintId : null, errId].filter(Boolean).join(' '));
    const error = h('p', { class: 'field-error', id: errId, hidden: true });
    controls.push({ f, control, error });
    return h('div', { class: 'field' },
      h('label', { for: id }, h('span', { text: f.label }), f.required ? h('span', { class: 'req', aria: { hidden: 'true' }, text: ' *' }) : null),
      control,
      range ? h('p', { class: 'hint', id: hintId, text: range }) : null,
      error);
  });
  const summary = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'form', novalidate: true }, fields, summary,
    card.submit ? h('div', { class: 'btn-row' }, h('button', {
      type: 'submit', class: 'btn btn-primary', data: { key: actionKey(card, card.submit) },
    }, chosenMark(ctx), h('span', { text: card.submit.label }))) : null);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!card.submit) return;
    const raw = Object.fromEntries(controls.map(({ f, control }) => [f.name, control.value]));
    const result = validateForm(card, raw);
    let first = null;
    for (const { f, control, error } of controls) {
      const problem = result.errors[f.name];
      control.setAttribute('aria-invalid', problem ? 'true' : 'false');
      error.hidden = !problem;
      error.textContent = problem ? ctx.t(problem.key, problem.params) : '';
      if (problem && !first) first = control;
    }
    summary.hidden = result.ok;
    summary.textContent = result.ok ? '' : ctx.t('formInvalid');
    if (first) {
      first.focus();
      return;
    }
    ctx.act(card, card.submit, formSummary(card, result.values), result.values);
  });
  return form;
}
