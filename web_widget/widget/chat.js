// <cardcare-chat>: the launcher and the chat panel in a Shadow DOM. Wires the protocol client
// (client.js) and the transcript model (transcript.js) to the DOM (render.js, cardview.js), and
// owns focus, keyboard use, the live region and the connection banners.

import { h, icon, ICONS } from '../shared/dom.js';
import { TokenSource } from '../shared/token.js';
import { ChatClient } from './client.js';
import { translator, errorText, etaText } from './i18n.js';
import { Transcript } from './transcript.js';
import { renderItem, signature } from './render.js';
import { applyChoice } from './cardview.js';
import { actionKey } from './cards.js';

const COMPACT_BELOW = 600;
const OFFLINE_BANNER_DELAY_MS = 600;
const FOCUSABLE = 'button:not([disabled]), a[href], input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
// Control characters the server refuses (all but tab and newline) are dropped before sending.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

export class CardCareChat extends HTMLElement {
  constructor() {
    super();
    this.options = null;
    this._cleanup = [];
  }

  connectedCallback() {
    if (!this.options) return;
    if (this.root) {
      // Moved to another place in the page: the same conversation carries on.
      this._wireWindow();
      this.client.start();
      return;
    }
    const o = this.options;
    this.t = translator(o.locale, o.strings);
    this.model = new Transcript();
    this.nodes = new Map();
    this.csatPending = null;
    this.unread = 0;
    const tokens = o.tokens || new TokenSource({ endpoint: o.tokenEndpoint, body: o.customerId ? { customer_id: o.customerId } : {} });
    const storage = o.storage === 'none' ? null : safeStorage(o.storage === 'local' ? 'localStorage' : 'sessionStorage');
    this.client = new ChatClient({
      url: () => o.server, tokens, storage, locale: this.t.locale, fresh: Boolean(o.fresh),
      storageKey: `cardcare:v1:${o.customerId || 'me'}`,
    });
    this._build();
    this._wire();
    this._wireWindow();
    this.client.start();
    if (o.open) this.open();
  }

  disconnectedCallback() {
    this.client?.stop();
    for (const undo of this._cleanup) undo();
    this._cleanup = [];
  }

  // -- public ---------------------------------------------------------------------------------

  open() {
    if (!this.panel.hidden) return;
    this.panel.hidden = false;
    this.root.toggleAttribute('data-open', true);
    this.launcher.setAttribute('aria-expanded', 'true');
    this._setUnread(0);
    this._scrollToEnd();
    this.input.focus();
  }

  close() {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.root.toggleAttribute('data-open', false);
    this.launcher.setAttribute('aria-expanded', 'false');
    this.launcher.focus();
  }

  /** Send a message as if typed (used by the quick actions). */
  send(text) {
    const clean = String(text).replace(CONTROL, '').trim();
    if (!clean) return false;
    this._hideNotice();
    this.client.send(clean.slice(0, 2000));
    return true;
  }

  // -- building ---------------------------------------------------------------------------------

  _build() {
    const t = this.t;
    const shadow = this.attachShadow({ mode: 'open' });
    const css = h('link', { rel: 'stylesheet', href: this.options.cssHref });
    this.root = h('div', { class: 'cc', lang: t.locale, hidden: true });
    const reveal = () => { this.root.hidden = false; };
    css.addEventListener('load', reveal);
    css.addEventListener('error', reveal);
    this.launcher = h('button', {
      type: 'button', class: 'launcher', aria: { label: t('openChat'), expanded: 'false', controls: 'cc-panel', haspopup: 'dialog' },
      on: { click: () => (this.panel.hidden ? this.open() : this.close()) },
    }, icon(ICONS.chat, { size: 26 }), h('span', { class: 'launcher-badge', hidden: true, aria: { hidden: 'true' } }));
    this.titleEl = h('h2', { id: 'cc-title', class: 'title', text: t('aiLabel') });
    this.statusEl = h('span', { class: 'status-text', text: t('connecting') });
    this.headAvatar = h('span', { class: 'avatar avatar-head', aria: { hidden: 'true' }, text: 'AI' });
    const head = h('header', { class: 'head' },
      this.headAvatar,
      h('div', { class: 'head-text' }, this.titleEl, h('p', { class: 'sub' }, h('span', { class: 'dot', aria: { hidden: 'true' } }), this.statusEl)),
      h('button', { type: 'button', class: 'icon-btn close', aria: { label: t('closeChat') }, on: { click: () => this.close() } }, icon(ICONS.close, { size: 22 })));
    this.offline = h('div', { class: 'banner banner-offline', role: 'status', hidden: true },
      icon(ICONS.wifiOff, { size: 18 }), h('span', { text: t('offlineBanner') }),
      h('button', { type: 'button', class: 'link-btn', text: t('retryNow'), on: { click: () => this.client.networkChanged(true) } }));
    this.handoffBar = h('div', { class: 'banner banner-handoff', role: 'status', hidden: true });
    this.list = h('ol', { class: 'log', aria: { label: t('dialogLabel') } },
      h('li', { class: 'msg msg-bot welcome', data: { role: 'bot' } },
        h('div', { class: 'who' }, h('span', { class: 'avatar avatar-bot', aria: { hidden: 'true' }, text: 'AI' }), h('span', { class: 'who-name', text: t('assistant') })),
        h('div', { class: 'bubble' }, h('p', { class: 'text', text: t('welcome') }))));
    this.typing = h('div', { class: 'typing', hidden: true },
      h('span', { class: 'dots', aria: { hidden: 'true' } }, h('i'), h('i'), h('i')), h('span', { class: 'typing-text', text: t('typing') }));
    this.scroller = h('div', { class: 'scroll' }, this.list, this.typing);
    this.notice = h('div', { class: 'notice', role: 'alert', hidden: true });
    this.quick = h('nav', { class: 'quick', aria: { label: t('quickTitle') } },
      h('ul', {}, t('quick').map((q) => h('li', {}, h('button', {
        type: 'button', class: 'quick-btn', data: { quick: q.id }, on: { click: () => this.send(q.text) },
      }, icon(QUICK_ICONS[q.id], { size: 16 }), h('span', { text: q.label }))))));
    this.input = h('textarea', {
      id: 'cc-input', class: 'input', rows: '1', maxlength: '2000', placeholder: t('placeholder'), enterkeyhint: 'send',
      autocomplete: 'off',
    });
    this.sendBtn = h('button', { type: 'submit', class: 'send', aria: { label: t('send') } }, icon(ICONS.send, { size: 20 }));
    this.composer = h('form', { class: 'composer', novalidate: true },
      h('label', { for: 'cc-input', class: 'sr', text: t('inputLabel') }), this.input, this.sendBtn);
    this.panel = h('section', {
      id: 'cc-panel', class: 'panel', role: 'dialog', hidden: true, aria: { labelledby: 'cc-title', modal: 'false' },
    }, head, this.offline, this.handoffBar, this.scroller, this.notice, this.quick, this.composer,
    this.disclaimer = h('p', { class: 'disclaimer', text: t('disclaimer') }));
    this.live = h('div', { class: 'sr', aria: { live: 'polite', atomic: 'true' } });
    this.root.append(this.launcher, this.panel, this.live);
    shadow.append(css, this.root);
  }

  _wire() {
    const { client, model } = this;
    client.on('pending', (item) => model.addPending(item));
    client.on('ack', ({ cmid, seq }) => model.ack(cmid, seq));
    client.on('failed', (f) => this._failed(f));
    client.on('event', ({ frame, history }) => this._event(frame, history));
    client.on('delta', (f) => { this._showTyping(false); model.applyDelta(f); });
    client.on('typing', (f) => this._showTyping(Boolean(f.active)));
    client.on('notice', (n) => this._showNotice(errorText(this.t, n.code)));
    client.on('status', (s) => this._status(s));
    client.on('reset', () => model.clear());
    model.on('upsert', (item) => this._upsert(item));
    model.on('remove', (item) => { this.nodes.get(item.key)?.remove(); this.nodes.delete(item.key); });
    model.on('card', (cardKey) => this._refreshCard(cardKey));
    model.on('handoff', () => this._renderMode());

    this.composer.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (this.send(this.input.value)) this.input.value = '';
      this.input.focus();
    });
    this.input.addEventListener('keydown', (ev) => {
      // Enter sends; Shift+Enter is a new line; Enter that confirms an IME composition does neither.
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
        ev.preventDefault();
        this.composer.requestSubmit();
      }
    });
    this.panel.addEventListener('keydown', (ev) => this._panelKey(ev));
  }

  /** Listeners outside the shadow root; removed when the element leaves the page. */
  _wireWindow() {
    const { client } = this;
    this._listen(window, 'online', () => client.networkChanged(true));
    this._listen(window, 'offline', () => client.networkChanged(false));
    this._listen(document, 'visibilitychange', () => { if (!document.hidden) client.networkChanged(true); });
    this._listen(window, 'resize', () => this._layout());
    if (typeof ResizeObserver === 'function' && this.parentElement) {
      const ro = new ResizeObserver(() => this._layout());
      ro.observe(this.parentElement);
      this._cleanup.push(() => ro.disconnect());
    }
    this._layout();
  }

  _listen(target, type, fn) {
    target.addEventListener(type, fn);
    this._cleanup.push(() => target.removeEventListener(type, fn));
  }

  /** Full screen when the space is phone-sized (the bank app's WebView), a floating panel otherwise. */
  _layout() {
    const host = this.parentElement;
    const width = !host || host === document.body ? window.innerWidth : host.clientWidth;
    const compact = width < COMPACT_BELOW;
    this.root.toggleAttribute('data-compact', compact);
    this.panel.setAttribute('aria-modal', String(compact));
  }

  // -- events -------------------------------------------------------------------------------------

  _event(frame, history) {
    if (frame.type === 'message' && frame.role !== 'customer') this._showTyping(false);
    this.model.applyEvent(frame, history);
    if (history || frame.role === 'customer') return;
    const text = this._announcement(frame);
    if (text) {
      this.live.textContent = text;
      if (this.panel.hidden) this._setUnread(this.unread + 1);
    }
  }

  _announcement(frame) {
    const t = this.t;
    if (frame.type === 'message') {
      if (frame.role === 'agent') return t('announceAgent', { name: frame.agent_name || '', text: frame.text });
      if (frame.role === 'bot') return t('announceBot', { text: frame.text });
      return t('announceSystem', { text: frame.text });
    }
    if (frame.type === 'handoff') return this.nodes.get(`h:${frame.seq}`)?.textContent || this.handoffBar.textContent || null;
    return null;
  }

  _upsert(item) {
    const stick = this._nearEnd();
    const old = this.nodes.get(item.key);
    if (!old || old.dataset.sig !== signature(item)) {
      const node = renderItem(item, this._ctx());
      if (old) old.replaceWith(node);
      this.nodes.set(item.key, node);
    } else if (Number.isInteger(item.seq)) {
      old.dataset.seq = String(item.seq);
    }
    this._syncOrder();
    if (stick || item.role === 'customer') this._scrollToEnd();
  }

  /** Keep the DOM in the model's order (seq order; pending and streaming items last). */
  _syncOrder() {
    let prev = this.list.firstElementChild; // the welcome bubble stays first
    for (const item of this.model.items) {
      const node = this.nodes.get(item.key);
      if (!node) continue;
      if (prev.nextElementSibling !== node) prev.after(node);
      prev = node;
    }
  }

  _refreshCard(cardKey) {
    const el = this.list.querySelector(`[data-card-key="${CSS.escape(cardKey)}"]`);
    if (el) applyChoice(el, this.model.choice(cardKey));
  }

  _failed({ item, code }) {
    this.model.fail(item.cmid);
    if (item.kind === 'message') {
      // The text is never lost: it goes back into the input box.
      const typed = this.input.value;
      this.input.value = typed ? `${item.text}\n${typed}` : item.text;
    }
    if (item.kind === 'action' && item.action_id === 'csat') {
      this.csatPending = null;
      this._rerender((i) => i.kind === 'csat');
    }
    this._showNotice(errorText(this.t, code));
  }

  _ctx() {
    const t = this.t;
    const fmt = new Intl.DateTimeFormat(t.locale, { hour: '2-digit', minute: '2-digit' });
    return {
      t,
      online: () => this.client.status === 'open',
      time: (ts) => {
        const d = ts ? new Date(ts) : null;
        return d && !Number.isNaN(d.getTime()) ? fmt.format(d) : '';
      },
      choiceFor: (cardKey) => this.model.choice(cardKey),
      act: (itemKey, card, action, label, values) => this._act(`${itemKey}/${card.id}`, card, action, label, values),
      csat: {
        rating: () => this.model.csatRating || this.csatPending,
        submit: (rating, comment) => {
          this.csatPending = rating;
          this.client.act('csat', comment ? { rating, comment: comment.slice(0, 500) } : { rating }, '');
          this._rerender((i) => i.kind === 'csat');
          this.input.focus();
        },
      },
    };
  }

  _act(cardKey, card, action, label, values) {
    if (this.model.choice(cardKey)) return; // a second click on a used card sends nothing
    const item = this.client.act(action.action_id, values, label);
    this.model.choose(cardKey, actionKey(card, action), label, item.cmid);
    this.input.focus();
  }

  _rerender(pred) {
    for (const item of this.model.items) {
      if (!pred(item)) continue;
      const node = renderItem(item, this._ctx());
      this.nodes.get(item.key)?.replaceWith(node);
      this.nodes.set(item.key, node);
    }
  }

  // -- chrome ---------------------------------------------------------------------------------------

  _status(status) {
    const t = this.t;
    const open = status === 'open';
    this.root.dataset.conn = status;
    this.statusEl.textContent = open ? this._modeStatus() : t('connecting');
    clearTimeout(this._offlineTimer);
    if (open) {
      this.offline.hidden = true;
      this.everOpen = true;
      this._rerender((i) => i.status === 'pending');
    } else if (status === 'offline' || status === 'connecting') {
      this._offlineTimer = setTimeout(() => {
        if (this.client.status !== 'open' && (this.everOpen || status === 'offline')) {
          this.offline.hidden = false;
          this._rerender((i) => i.status === 'pending');
        }
      }, OFFLINE_BANNER_DELAY_MS);
    }
  }

  _modeStatus() {
    const hs = this.model.handoff;
    return hs?.status === 'assigned' ? this.t('agentStatus') : this.t('online');
  }

  _renderMode() {
    const t = this.t;
    const hs = this.model.handoff;
    const mode = this.model.mode;
    this.root.dataset.mode = mode;
    const agent = mode === 'agent';
    this.titleEl.textContent = agent ? t('agentLabel', { name: hs.agentName || '' }) : t('aiLabel');
    this.headAvatar.replaceChildren(agent ? icon(ICONS.person, { size: 18 }) : 'AI');
    this.disclaimer.textContent = agent ? t('disclaimerAgent') : t('disclaimer');
    this.input.placeholder = mode === 'queued' ? t('placeholderQueued') : agent ? t('placeholderAgent', { name: hs.agentName || '' }) : t('placeholder');
    if (this.client.status === 'open') this.statusEl.textContent = this._modeStatus();
    if (mode === 'queued') {
      const eta = etaText(t, hs.eta);
      const detail = hs.position !== null && eta ? t('queuedPosition', { position: hs.position, eta }) : t('queuedNoPosition');
      this.handoffBar.replaceChildren(h('span', { class: 'spinner', aria: { hidden: 'true' } }),
        h('span', {}, h('strong', { text: t('queuedTitle') }), h('span', { class: 'bar-detail', text: detail })));
      this.handoffBar.dataset.state = 'queued';
      this.handoffBar.hidden = false;
    } else if (agent) {
      this.handoffBar.replaceChildren(icon(ICONS.person, { size: 18 }), h('strong', { text: t('assignedTitle', { name: hs.agentName || '' }) }));
      this.handoffBar.dataset.state = 'agent';
      this.handoffBar.hidden = false;
    } else {
      this.handoffBar.hidden = true;
    }
  }

  _showTyping(on) {
    const stick = this._nearEnd();
    clearTimeout(this._typingTimer);
    this.typing.hidden = !on;
    // A lost "typing: false" must not leave the dots forever.
    if (on) this._typingTimer = setTimeout(() => { this.typing.hidden = true; }, 20000);
    if (stick) this._scrollToEnd();
  }

  _showNotice(text) {
    this.notice.replaceChildren(icon(ICONS.alert, { size: 16 }), h('span', { text }));
    this.notice.hidden = false;
    clearTimeout(this._noticeTimer);
    this._noticeTimer = setTimeout(() => this._hideNotice(), 8000);
  }

  _hideNotice() {
    clearTimeout(this._noticeTimer);
    this.notice.hidden = true;
  }

  _setUnread(n) {
    this.unread = n;
    const badge = this.launcher.querySelector('.launcher-badge');
    badge.hidden = n === 0;
    badge.textContent = n > 9 ? '9+' : String(n);
  }

  /** Whether the customer is reading the latest messages (then new ones scroll into view). */
  _nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  _scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Escape closes; in the full-screen (modal) layout Tab cycles inside the panel. */
  _panelKey(ev) {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      this.close();
      return;
    }
    if (ev.key !== 'Tab' || !this.root.hasAttribute('data-compact')) return;
    const items = [...this.panel.querySelectorAll(FOCUSABLE)].filter((el) => el.getClientRects().length > 0);
    if (!items.length) return;
    const active = this.shadowRoot.activeElement;
    const first = items[0];
    const last = items[items.length - 1];
    if (ev.shiftKey && (active === first || !this.panel.contains(active))) {
      ev.preventDefault();
      last.focus();
    } else if (!ev.shiftKey && active === last) {
      ev.preventDefault();
      first.focus();
    }
  }
}

const QUICK_ICONS = { bill: ICONS.bill, installment: ICONS.split, limit: ICONS.gauge, lost: ICONS.lock, points: ICONS.gift };

function safeStorage(name) {
  try {
    const s = window[name];
    const probe = '__cardcare_probe__';
    s.setItem(probe, '1');
    s.removeItem(probe);
    return s;
  } catch {
    return null;
  }
}
