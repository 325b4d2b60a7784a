// Building DOM without HTML strings: every piece of data becomes a text node or an attribute,
// so nothing a customer, an agent or the model writes can turn into markup or script.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h('button', {class: 'x', type: 'button', on: {click: fn}, aria: {label: '…'}}, 'text', node)
 * `text` sets textContent; `data` sets data-* attributes; boolean true sets an empty attribute,
 * false/null/undefined leave it out. Children: strings (as text), nodes, arrays, null.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

function applyAttrs(el, attrs) {
  if (!attrs) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'on') {
      for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    } else if (name === 'text') {
      el.textContent = String(value);
    } else if (name === 'aria' || name === 'data') {
      const prefix = name === 'aria' ? 'aria-' : 'data-';
      for (const [k, v] of Object.entries(value)) {
        // data: {cardKey} → data-card-key, so el.dataset.cardKey and [data-card-key] both find it.
        const attr = prefix + k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
        if (v !== undefined && v !== null && v !== false) el.setAttribute(attr, String(v));
      }
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return el;
}

/** Remove every child of `el`. */
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** An icon from constant path data (never from data received over the network). */
export function icon(paths, { size = 20, cls = 'icon' } = {}) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', cls);
  for (const d of [].concat(paths)) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

export const ICONS = Object.freeze({
  chat: 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z',
  close: 'M6 6l12 12M18 6L6 18',
  send: 'M3 11.5L21 3l-8.5 18-2.2-7.3L3 11.5z',
  doc: 'M7 3h7l5 5v13H7zM14 3v5h5',
  bill: 'M6 3h12v18l-3-2-3 2-3-2-3 2zM9 8h6M9 12h6',
  split: 'M4 6h16M4 12h10M4 18h6',
  gauge: 'M4 16a8 8 0 1 1 16 0M12 16l4-5',
  lock: 'M6 11h12v10H6zM8 11V8a4 4 0 0 1 8 0v3',
  gift: 'M4 10h16v4H4zM6 14h12v7H6zM12 10v11M12 10c-2-4-6-4-6-1s6 1 6 1zm0 0c2-4 6-4 6-1s-6 1-6 1z',
  person: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0',
  check: 'M5 12.5l4.5 4.5L19 7',
  clock: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7v5l3 2',
  alert: 'M12 3l10 18H2zM12 10v5M12 18v.5',
  star: 'M12 3.5l2.6 5.6 6.1.7-4.5 4.2 1.2 6-5.4-3-5.4 3 1.2-6L3.3 9.8l6.1-.7z',
  wifiOff: 'M2 2l20 20M8.5 16.5a5 5 0 0 1 7 0M5 13a10 10 0 0 1 5-2.7M19 13a10 10 0 0 0-2.3-1.7M2 8.8a15 15 0 0 1 4.7-2.8M22 8.8A15 15 0 0 0 11 5M12 20h.01',
  back: 'M15 18l-6-6 6-6',
  grid: 'M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z',
});
