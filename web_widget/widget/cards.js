// Action cards (docs/protocol.md "Cards"): validation into a safe model, form checks, and the
// keys that tie a later `action` event back to the button that produced it. DOM-free.

import { safeHref } from '../shared/safeurl.js';

export const CARD_TYPES = ['table', 'choices', 'confirm', 'form', 'info', 'link'];
const MAX_TEXT = 500;
const MAX_ITEMS = 50;

const str = (v, max = MAX_TEXT) => (typeof v === 'string' ? v.slice(0, max) : typeof v === 'number' ? String(v) : '');
const list = (v) => (Array.isArray(v) ? v.slice(0, MAX_ITEMS) : []);

function scalarValues(values) {
  const out = {};
  if (!values || typeof values !== 'object' || Array.isArray(values)) return out;
  for (const [k, v] of Object.entries(values).slice(0, 20)) {
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) out[k] = v;
  }
  return out;
}

/** An interactive element: {label, action_id, values}, or null when it cannot be sent. */
export function normalizeAction(raw) {
  if (!raw || typeof raw !== 'object' || typeof raw.action_id !== 'string' || !raw.action_id) return null;
  return { label: str(raw.label, 120), action_id: raw.action_id.slice(0, 200), values: scalarValues(raw.values) };
}

const pairs = (v) => list(v).filter(Array.isArray).map((p) => [str(p[0]), str(p[1])]);

function normalizeField(raw) {
  if (!raw || typeof raw !== 'object' || typeof raw.name !== 'string' || !raw.name) return null;
  const kind = ['number', 'select', 'text', 'date'].includes(raw.kind) ? raw.kind : 'text';
  return {
    name: raw.name.slice(0, 100),
    label: str(raw.label, 120) || raw.name,
    kind,
    min: Number.isFinite(raw.min) ? raw.min : null,
    max: Number.isFinite(raw.max) ? raw.max : null,
    required: raw.required === true,
    options: kind === 'select' ? pairs(raw.options) : [],
    placeholder: str(raw.placeholder, 120),
    value: raw.value === undefined || raw.value === null ? '' : str(raw.value, 200),
  };
}

const BUILDERS = {
  table: (c) => ({
    columns: list(c.columns).map((x) => str(x, 80)),
    rows: list(c.rows).map((r) => ({ cells: list(r?.cells).map((x) => str(x, 120)), action: normalizeAction(r?.action) })),
    footnote: str(c.footnote),
  }),
  choices: (c) => ({ options: list(c.options).map(normalizeAction).filter(Boolean) }),
  confirm: (c) => ({ lines: pairs(c.lines), confirm: normalizeAction(c.confirm), cancel: normalizeAction(c.cancel) }),
  form: (c) => ({ fields: list(c.fields).map(normalizeField).filter(Boolean), submit: normalizeAction(c.submit) }),
  info: (c) => ({ lines: pairs(c.lines), footnote: str(c.footnote) }),
  link: (c) => ({ label: str(c.label, 120), url: str(c.url, 2048), href: safeHref(c.url) }),
};

/** A card ready to render, or an `unknown` card (shown as its title only). Never throws. */
export function normalizeCard(raw, index = 0) {
  if (!raw || typeof raw !== 'object') return null;
  const type = CARD_TYPES.includes(raw.type) ? raw.type : 'unknown';
  const base = { type, id: str(raw.id, 100) || `card-${index}`, title: str(raw.title, 200) };
  return type === 'unknown' ? base : { ...base, ...BUILDERS[type](raw) };
}

/** Every sendable action of a card (what the buttons would send). */
export function cardActions(card) {
  switch (card.type) {
    case 'table': return card.rows.map((r) => r.action).filter(Boolean);
    case 'choices': return card.options;
    case 'confirm': return [card.confirm, card.cancel].filter(Boolean);
    case 'form': return card.submit ? [card.submit] : [];
    default: return [];
  }
}

function canonical(values) {
  const keys = Object.keys(values || {}).sort();
  return JSON.stringify(keys.map((k) => [k, values[k]]));
}

/**
 * The key matching a button to the `action` event it produces. A form submission carries the
 * customer's inputs, so a form is matched on its action_id alone.
 */
export function actionKey(card, action) {
  return card.type === 'form' ? `form:${action.action_id}` : `${action.action_id}|${canonical(action.values)}`;
}

/** The keys an `action` event may match, most specific first. */
export function eventKeys(actionId, values) {
  return [`${actionId}|${canonical(values)}`, `form:${actionId}`];
}

function parseNumber(raw) {
  const cleaned = String(raw).replace(/[,，\s¥￥]/g, '');
  if (!/^-?\d+(\.\d+)?$/.test(cleaned)) return null;
  return Number(cleaned);
}

/**
 * Check a form's inputs (raw strings by field name) against the card's rules.
 * Returns {ok, values, errors: {name: {key, params}}} — `key` is an i18n key.
 */
export function validateForm(card, raw) {
  const values = { ...(card.submit?.values || {}) };
  const errors = {};
  for (const f of card.fields) {
    const text = String(raw[f.name] ?? '').trim();
    const params = { label: f.label, min: f.min, max: f.max };
    if (!text) {
      if (f.required) errors[f.name] = { key: 'fieldRequired', params };
      continue;
    }
    if (f.kind === 'number') {
      const n = parseNumber(text);
      if (n === null) errors[f.name] = { key: 'fieldNumber', params };
      else if (f.min !== null && n < f.min) errors[f.name] = { key: 'fieldMin', params };
      else if (f.max !== null && n > f.max) errors[f.name] = { key: 'fieldMax', params };
      else values[f.name] = n;
    } else if (f.kind === 'select') {
      if (f.options.some(([v]) => v === text)) values[f.name] = text;
      else errors[f.name] = { key: 'fieldRequired', params };
    } else {
      values[f.name] = text.slice(0, 500);
    }
  }
  return { ok: Object.keys(errors).length === 0, values, errors };
}

/** What the customer's bubble says after a form submit: "提交申请 · 新额度 40000 · 天数 30天". */
export function formSummary(card, values) {
  const parts = [card.submit?.label || ''];
  for (const f of card.fields) {
    if (!(f.name in values)) continue;
    const v = values[f.name];
    const shown = f.kind === 'select' ? (f.options.find(([k]) => k === String(v))?.[1] ?? String(v)) : String(v);
    parts.push(`${f.label} ${shown}`);
  }
  return parts.filter(Boolean).join(' · ');
}
