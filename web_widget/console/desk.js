// The agent's desk: the agent protocol (docs/agent-protocol.md) over a self-healing socket, and
// the state the console renders (queue, held chats, their transcripts, notes and drafts). DOM-free.
//
// Replies to client frames come back in the order the frames were sent, so every request waits
// in one FIFO and each reply (or error) settles the oldest. Pushed frames (queue, customer
// messages, escalations, a customer leaving) can arrive in between and never touch the FIFO.

import { Emitter } from '../shared/emitter.js';
import { Connection, OPEN, WAITING } from '../shared/connection.js';

const REPLIES = new Set(['assigned', 'context', 'ack', 'blocked', 'noted', 'returned', 'pong', 'error']);

let counter = 0;

export class Desk extends Emitter {
  constructor({ url, token, WebSocketImpl, timers = globalThis, random = Math.random, now = Date.now }) {
    super();
    this.token = token;
    this.now = now;
    this.agent = null;
    this.queue = [];
    this.assigned = [];
    this.snapshotAt = now();
    this.chats = new Map();
    this.escalated = new Set();
    this.claiming = new Set();
    this.status = 'connecting';
    this._requests = [];
    this._pingOut = false;
    this.conn = new Connection({ url, owner: this, WebSocketImpl, timers, random });
  }

  start() {
    this.conn.start();
  }

  stop() {
    this.conn.stop();
  }

  // -- actions ----------------------------------------------------------------------------------

  claim(conversationId) {
    if (this.claiming.has(conversationId)) return false;
    if (!this._request({ type: 'claim', conversation_id: conversationId })) return false;
    this.claiming.add(conversationId);
    this.emit('queue');
    return true;
  }

  /** Send a reply; it shows as pending until `ack` (or `blocked`). */
  reply(conversationId, text) {
    const chat = this.chats.get(conversationId);
    if (!chat) return null;
    counter += 1;
    const cmid = `ag-${this.now().toString(36)}-${counter}`;
    const pending = { cmid, text, state: 'sending' };
    chat.pending.push(pending);
    chat.blocked = null;
    if (!this._request({ type: 'message', conversation_id: conversationId, text, client_msg_id: cmid })) {
      pending.state = 'unconfirmed';
    }
    this.emit('chat', chat);
    return pending;
  }

  note(conversationId, text) {
    const chat = this.chats.get(conversationId);
    if (!chat || !this._request({ type: 'note', conversation_id: conversationId, text })) return false;
    chat.pendingNotes.push(text);
    return true;
  }

  handback(conversationId, note) {
    return this._request({ type: 'handback', conversation_id: conversationId, ...(note ? { note } : {}) });
  }

  close(conversationId, disposition) {
    return this._request({ type: 'close', conversation_id: conversationId, disposition });
  }

  /** Forget a finished chat (its tab is closed). */
  dismiss(conversationId) {
    this.chats.delete(conversationId);
    this.emit('chats');
  }

  // -- Connection owner -----------------------------------------------------------------------

  onOpen(conn) {
    conn.send({ type: 'hello', token: this.token });
  }

  onFrame(f) {
    if (REPLIES.has(f.type) || (f.type === 'closed' && f.by === 'agent')) {
      const req = f.type === 'pong' ? this._takePing() : this._requests.shift();
      this._reply(f, req);
      return;
    }
    switch (f.type) {
      case 'welcome':
        this.agent = f;
        this._seenQueue = false; // the first snapshot on this socket re-reads the chats we hold
        this.conn.ready();
        this.emit('welcome', f);
        return;
      case 'queue': return this._queue(f);
      case 'message': return this._customerMessage(f);
      case 'escalation': return this._escalation(f);
      case 'closed': return this._closed(f);
      default:
    }
  }

  onClosed(code) {
    // Outstanding requests never get their reply: messages become "unconfirmed" until the
    // context re-read after the reconnect shows whether they reached the customer.
    for (const req of this._requests) {
      if (req.type === 'message') {
        const p = this.chats.get(req.conversation_id)?.pending.find((x) => x.cmid === req.client_msg_id);
        if (p) p.state = 'unconfirmed';
      }
      if (req.type === 'claim') this.claiming.delete(req.conversation_id);
    }
    this._requests = [];
    this._pingOut = false;
    if (code === 4401) {
      this.emit('unauthorized', {});
      return { retry: false };
    }
    for (const chat of this.chats.values()) this.emit('chat', chat);
    return { retry: true };
  }

  onHeartbeat(conn) {
    if (conn.send({ type: 'ping' })) this._pingOut = true;
  }

  onStatus(state) {
    this.status = state === OPEN ? 'open' : state === WAITING ? 'offline' : 'connecting';
    this.emit('status', this.status);
  }

  // -- frames ---------------------------------------------------------------------------------

  _request(frame) {
    if (!this.conn.send(frame)) return false;
    this._requests.push(frame);
    return true;
  }

  _takePing() {
    this._pingOut = false;
    return { type: 'ping' };
  }

  _queue(f) {
    this.queue = Array.isArray(f.items) ? f.items : [];
    this.assigned = Array.isArray(f.assigned) ? f.assigned : [];
    this.snapshotAt = this.now();
    const first = !this._seenQueue;
    this._seenQueue = true;
    // After a reload or reconnect: reopen the chats we hold and catch up on what was missed.
    for (const a of this.assigned) {
      if (!this.chats.has(a.conversation_id)) {
        this.chats.set(a.conversation_id, newChat(a.conversation_id, a.ticket_id, a));
        this._request({ type: 'context', conversation_id: a.conversation_id });
        this.emit('chats');
      } else if (first) {
        this._request({ type: 'context', conversation_id: a.conversation_id });
      }
    }
    this.emit('queue');
  }

  _reply(f, req) {
    const cid = f.conversation_id || req?.conversation_id;
    switch (f.type) {
      case 'assigned':
        this.claiming.delete(cid);
        this._context(cid, f, true);
        return;
      case 'context':
        this._context(cid, f, false);
        return;
      case 'ack':
        return this._ack(cid, f);
      case 'blocked':
        return this._blocked(cid, f);
      case 'noted': {
        const chat = this.chats.get(cid);
        if (!chat) return;
        chat.notes.push({ text: chat.pendingNotes.shift() ?? '', at: f.at, mine: true });
        this.emit('chat', chat);
        return;
      }
      case 'returned':
        return this._finish(cid, { status: 'returned' });
      case 'closed':
        return this._finish(cid, { status: 'closed', disposition: f.disposition, by: f.by });
      case 'error':
        return this._error(f, req);
      default:
    }
  }

  _context(cid, f, isNew) {
    const chat = this.chats.get(cid) || newChat(cid, f.ticket_id, null);
    const ctx = f.context && typeof f.context === 'object' ? f.context : {};
    chat.ticketId = f.ticket_id || chat.ticketId;
    chat.context = ctx;
    for (const e of Array.isArray(ctx.transcript) ? ctx.transcript : []) {
      if (Number.isInteger(e.seq)) chat.entries.set(e.seq, { ...e });
    }
    if (Array.isArray(ctx.notes)) {
      chat.notes = ctx.notes.map((n) => ({ text: n.text, at: n.at, author: n.agent_id, mine: n.agent_id === this.agent?.agent_id }));
    }
    this._settleUnconfirmed(chat);
    const created = !this.chats.has(cid);
    this.chats.set(cid, chat);
    if (created) this.emit('chats');
    this.emit('chat', chat);
    if (isNew) this.emit('claimed', chat);
  }

  /** After a reconnect: a reply found in the transcript was delivered; the others go back to the draft. */
  _settleUnconfirmed(chat) {
    const agentTexts = [...chat.entries.values()].filter((e) => e.role === 'agent').map((e) => e.text);
    const keep = [];
    for (const p of chat.pending) {
      if (p.state !== 'unconfirmed') keep.push(p);
      else if (!agentTexts.includes(p.text)) this.emit('undelivered', { chat, text: p.text });
    }
    chat.pending = keep;
  }

  _ack(cid, f) {
    const chat = this.chats.get(cid);
    if (!chat) return;
    const p = chat.pending.find((x) => x.cmid === f.client_msg_id);
    chat.pending = chat.pending.filter((x) => x !== p);
    if (Number.isInteger(f.seq)) {
      chat.entries.set(f.seq, { seq: f.seq, role: 'agent', text: p?.text ?? '', at: new Date(this.now()).toISOString(),
        author: this.agent?.display_name, warnings: Array.isArray(f.warnings) ? f.warnings : [] });
    }
    this.emit('chat', chat);
  }

  _blocked(cid, f) {
    const chat = this.chats.get(cid);
    if (!chat) return;
    const p = chat.pending.find((x) => x.cmid === f.client_msg_id);
    chat.pending = chat.pending.filter((x) => x !== p);
    chat.blocked = { text: p?.text ?? '', rules: Array.isArray(f.rules) ? f.rules : [] };
    this.emit('blocked', { chat, text: chat.blocked.text, rules: chat.blocked.rules });
    this.emit('chat', chat);
  }

  _customerMessage(f) {
    const chat = this.chats.get(f.conversation_id);
    if (!chat || !Number.isInteger(f.seq) || chat.entries.has(f.seq)) return;
    chat.entries.set(f.seq, { seq: f.seq, role: f.role || 'customer', text: f.text, at: new Date(this.now()).toISOString() });
    chat.unread += 1;
    this.emit('chat', chat);
    this.emit('customer-message', { chat, text: f.text });
  }

  _escalation(f) {
    this.escalated.add(f.conversation_id);
    const chat = this.chats.get(f.conversation_id);
    if (chat) {
      chat.escalated = true;
      this.emit('chat', chat);
    }
    this.emit('queue');
    this.emit('escalation', f);
  }

  _closed(f) {
    this._finish(f.conversation_id, { status: 'closed', disposition: f.disposition, by: f.by });
  }

  _finish(cid, change) {
    const chat = this.chats.get(cid);
    if (!chat) return;
    Object.assign(chat, change);
    this.emit('chat', chat);
  }

  _error(f, req) {
    const cid = f.conversation_id || req?.conversation_id || null;
    const chat = cid ? this.chats.get(cid) : null;
    if (req?.type === 'claim') {
      this.claiming.delete(req.conversation_id);
      this.emit('queue');
    }
    if (req?.type === 'message' && chat) {
      chat.pending = chat.pending.filter((x) => x.cmid !== req.client_msg_id);
      this.emit('undelivered', { chat, text: req.text });
    }
    if (req?.type === 'note' && chat) chat.pendingNotes.shift();
    if (chat) this.emit('chat', chat);
    this.emit('error', { code: f.code, message: f.message, request: req?.type || null, conversationId: cid });
  }
}

function newChat(id, ticketId, item) {
  return {
    id, ticketId, context: null, item, entries: new Map(), notes: [], pending: [], pendingNotes: [],
    status: 'active', disposition: null, by: null, blocked: null, unread: 0, escalated: false,
  };
}

/** Everything of a chat in order: transcript entries by seq, notes placed by time. */
export function timeline(chat) {
  const time = (x) => Date.parse(x.at) || 0;
  const entries = [...chat.entries.values()].sort((a, b) => a.seq - b.seq).map((e) => ({ kind: 'entry', ...e }));
  const notes = chat.notes.map((n) => ({ kind: 'note', ...n })).sort((a, b) => time(a) - time(b));
  const out = [];
  let i = 0;
  for (const e of entries) {
    while (i < notes.length && time(e) && time(notes[i]) < time(e)) out.push(notes[i++]);
    out.push(e);
  }
  while (i < notes.length) out.push(notes[i++]);
  return out;
}
