// The customer protocol (docs/protocol.md) over a self-healing socket. DOM-free.
//
// Guarantees the widget relies on:
// * every stored event reaches the view once, in seq order: frames with seq <= lastSeq are dropped,
//   and a reconnect says hello with last_seq so the server sends exactly what was missed;
// * a customer input is kept in an outbox (persisted, so a reload keeps it) until the server acks
//   it; after a reconnect it is resent with the same client_msg_id, which the server stores once;
// * inputs go out one at a time (stop-and-wait), so the order holds and a resend burst never trips
//   the server's flood limit; an error frame always belongs to the oldest unanswered frame.

import { Emitter } from '../shared/emitter.js';
import { Connection, CONNECTING, OPEN, STOPPED, WAITING } from '../shared/connection.js';
import { backoffDelay } from '../shared/backoff.js';

const STORE_VERSION = 1;
const OUTBOX_MAX = 50;
/** Errors after which the same frame is sent again (nothing was stored). */
const RETRYABLE = new Set(['unavailable']);
const STATUS = { [CONNECTING]: 'connecting', [OPEN]: 'open', [WAITING]: 'offline', [STOPPED]: 'stopped' };
const MODE_BY_HANDOFF = { queued: 'queued', assigned: 'agent', returned: 'bot', closed: 'bot', message_left: 'bot' };

let counter = 0;

/** A client_msg_id: 1–100 chars of A–Z a–z 0–9 . _ : - (the protocol's alphabet). */
export function newClientMsgId(kind, now = Date.now(), random = Math.random) {
  counter += 1;
  const rand = Math.floor(random() * 36 ** 6).toString(36).padStart(6, '0');
  return `${kind}-${now.toString(36)}-${rand}-${counter}`;
}

export class ChatClient extends Emitter {
  /**
   * @param {object} o
   * @param {() => string} o.url            the /ws/chat URL
   * @param {{get(force?: boolean): Promise<{token: string}>}} o.tokens
   * @param {Storage|null} o.storage        sessionStorage/localStorage (or null: nothing persisted)
   * @param {string} o.storageKey
   * @param {string} o.locale               zh-CN | en-US
   * @param {boolean} [o.fresh]             start a new conversation, ignore a stored one
   */
  constructor({ url, tokens, storage = null, storageKey = 'cardcare', locale = 'zh-CN', fresh = false,
    WebSocketImpl, timers = globalThis, random = Math.random, now = Date.now, heartbeatMs, deadAfterMs }) {
    super();
    this.tokens = tokens;
    this.storage = storage;
    this.storageKey = storageKey;
    this.locale = locale;
    this.timers = timers;
    this.random = random;
    this.now = now;
    const saved = fresh ? null : this._load();
    this.conversationId = saved?.conversation_id ?? null;
    /** Events up to this seq were shown before this page loaded: replayed quietly. */
    this.historySeq = saved?.last_seq ?? 0;
    this.lastSeq = 0;
    this.outbox = Array.isArray(saved?.outbox) ? saved.outbox.slice(-OUTBOX_MAX) : [];
    this.mode = 'bot';
    this.status = 'connecting';
    this.customerId = null;
    this._ready = false;
    this._inflight = null;
    this._expect = [];
    this._retries = 0;
    this._holdTimer = null;
    this._forceToken = false;
    this._authFailures = 0;
    this.conn = new Connection({
      url, owner: this, WebSocketImpl, timers, random,
      ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
      ...(deadAfterMs !== undefined ? { deadAfterMs } : {}),
    });
    if (fresh) this._save();
  }

  start() {
    this.tokens.get().catch(() => {}); // warm the cache; failures surface on hello
    this.conn.start();
  }

  stop() {
    this._clearHold();
    this.conn.stop();
  }

  /** The browser's online/offline events: reconnect at once, or drop a socket that cannot work. */
  networkChanged(online) {
    if (online) this.conn.nudge();
    else this.conn.drop(4000, 'offline');
  }

  /** Queue a text message; returns the outbox item (shown pending until acked). */
  send(text) {
    return this._enqueue({ kind: 'message', text });
  }

  /** Queue a card action; `label` is what the customer clicked (shown in their bubble). */
  act(actionId, values = {}, label = '') {
    return this._enqueue({ kind: 'action', action_id: actionId, values, label });
  }

  // -- Connection owner -------------------------------------------------------------------

  onOpen(conn) {
    const ws = conn.ws;
    const force = this._forceToken;
    this._forceToken = false;
    this.tokens.get(force).then(
      ({ token }) => {
        if (conn.ws !== ws) return;
        const hello = { type: 'hello', token, locale: this.locale };
        if (this.conversationId) {
          hello.conversation_id = this.conversationId;
          // A page that has shown nothing yet asks for the whole conversation.
          if (this.lastSeq > 0) hello.last_seq = this.lastSeq;
        }
        conn.send(hello);
      },
      (err) => {
        this.emit('notice', { code: 'token_failed', message: String(err?.message || err) });
        if (conn.ws === ws) conn.drop(4001, 'no token');
      },
    );
  }

  onFrame(f) {
    switch (f.type) {
      case 'welcome': return this._welcome(f);
      case 'ack': return this._ack(f);
      case 'pong': return this._pong();
      case 'error': return this._error(f);
      case 'delta': return this.emit('delta', f);
      case 'typing': return this.emit('typing', f);
      default:
        if (Number.isInteger(f.seq)) this._stored(f);
    }
  }

  onClosed(code) {
    this._ready = false;
    this._inflight = null;
    this._expect = [];
    this._clearHold();
    if (code === 4401) {
      // Expired or revoked token: fetch a new one and come straight back (once; then back off).
      this._forceToken = true;
      this._authFailures += 1;
      return { retry: true, immediate: this._authFailures <= 1 };
    }
    if (code === 4403) {
      // The stored conversation is not this customer's (another login on this device): start anew.
      this.conversationId = null;
      this.lastSeq = 0;
      this.historySeq = 0;
      this._save();
      this.emit('reset', {});
      return { retry: true, immediate: true };
    }
    return { retry: true };
  }

  onHeartbeat(conn) {
    if (conn.send({ type: 'ping' })) this._expect.push('ping');
  }

  onStatus(state) {
    this.status = STATUS[state];
    this.emit('status', this.status);
  }

  // -- frames -------------------------------------------------------------------------------

  _welcome(f) {
    if (this.conversationId && f.conversation_id !== this.conversationId) {
      this.lastSeq = 0;
      this.historySeq = 0;
      this.emit('reset', {});
    }
    this.conversationId = f.conversation_id;
    this.customerId = f.customer_id ?? null;
    this.mode = f.mode || 'bot';
    this._authFailures = 0;
    this._ready = true;
    this._expect = [];
    this._save();
    this.conn.ready();
    this.emit('welcome', f);
    this._pump();
  }

  _stored(f) {
    if (f.seq <= this.lastSeq) return; // replayed twice or already seen: never shown twice
    this.lastSeq = f.seq;
    if (f.type === 'handoff' && MODE_BY_HANDOFF[f.status]) this.mode = MODE_BY_HANDOFF[f.status];
    this._save();
    this.emit('event', { frame: f, history: f.seq <= this.historySeq });
  }

  _ack(f) {
    const i = this._expect.indexOf(f.client_msg_id);
    if (i >= 0) this._expect.splice(i, 1);
    const item = this.outbox.find((o) => o.cmid === f.client_msg_id);
    this.outbox = this.outbox.filter((o) => o.cmid !== f.client_msg_id);
    this._save();
    if (this._inflight === f.client_msg_id) {
      this._inflight = null;
      this._retries = 0;
    }
    this.emit('ack', { cmid: f.client_msg_id, seq: f.seq, item });
    this._pump();
  }

  _pong() {
    const i = this._expect.indexOf('ping');
    if (i >= 0) this._expect.splice(i, 1);
  }

  _error(f) {
    const head = this._expect.shift();
    const item = head && head !== 'ping' ? this.outbox.find((o) => o.cmid === head) : null;
    if (!item) {
      this.emit('notice', { code: f.code, message: f.message });
      return;
    }
    this._inflight = null;
    if (RETRYABLE.has(f.code)) {
      // Nothing was stored: the same frame goes again after a pause.
      this._hold(backoffDelay(this._retries++, undefined, this.random));
      return;
    }
    this.outbox = this.outbox.filter((o) => o !== item);
    this._save();
    this.emit('failed', { item, code: f.code, message: f.message });
    this._pump();
  }

  // -- outbox -------------------------------------------------------------------------------

  _enqueue(fields) {
    const item = { cmid: newClientMsgId(fields.kind === 'action' ? 'a' : 'm', this.now(), this.random), ...fields };
    this.outbox.push(item);
    if (this.outbox.length > OUTBOX_MAX) this.outbox.shift();
    this._save();
    this.emit('pending', item);
    this._pump();
    return item;
  }

  _pump() {
    if (!this._ready || this._inflight || this._holdTimer !== null) return;
    const item = this.outbox[0];
    if (!item) return;
    const frame = item.kind === 'action'
      ? { type: 'action', client_msg_id: item.cmid, action_id: item.action_id, values: item.values || {} }
      : { type: 'message', client_msg_id: item.cmid, text: item.text };
    if (this.conn.send(frame)) {
      this._inflight = item.cmid;
      this._expect.push(item.cmid);
    }
  }

  _hold(ms) {
    this._clearHold();
    this._holdTimer = this.timers.setTimeout(() => {
      this._holdTimer = null;
      this._pump();
    }, ms);
  }

  _clearHold() {
    if (this._holdTimer !== null) {
      this.timers.clearTimeout(this._holdTimer);
      this._holdTimer = null;
    }
  }

  // -- persistence ----------------------------------------------------------------------------

  _load() {
    try {
      const doc = JSON.parse(this.storage?.getItem(this.storageKey) || 'null');
      return doc && doc.v === STORE_VERSION ? doc : null;
    } catch {
      return null;
    }
  }

  _save() {
    if (!this.storage) return;
    const doc = {
      v: STORE_VERSION,
      conversation_id: this.conversationId,
      last_seq: Math.max(this.lastSeq, this.historySeq),
      outbox: this.outbox,
    };
    try {
      this.storage.setItem(this.storageKey, JSON.stringify(doc));
    } catch {
      /* storage full or disabled (private mode): the session still works, a reload starts anew */
    }
  }
}
