// The conversation as the customer sees it: one ordered list of items built from stored events,
// streamed deltas and the customer's own pending inputs. DOM-free; the view renders its events.
//
// Keys make every item unique: "c:<client_msg_id>" for the customer's inputs (the local pending
// bubble and the server's echo are the same item), "m:<message_id>" for bot, agent and system
// messages (the streamed bubble and the final message are the same item), "h:<seq>" for handoff
// notices. Items are ordered by seq; items without one (pending, streaming) come last.

import { Emitter } from '../shared/emitter.js';
import { actionKey, cardActions, eventKeys, formSummary, normalizeCard } from './cards.js';

const CSAT_ACTION = 'csat';

export class Transcript extends Emitter {
  constructor() {
    super();
    this.items = [];
    this.byKey = new Map();
    this.handoff = null;
    this.csatRating = null;
    this._actions = new Map();
    this._choices = new Map();
    this._n = 0;
  }

  get mode() {
    const s = this.handoff?.status;
    return s === 'queued' ? 'queued' : s === 'assigned' ? 'agent' : 'bot';
  }

  clear() {
    for (const item of this.items) this.emit('remove', item);
    this.items = [];
    this.byKey.clear();
    this._actions.clear();
    this._choices.clear();
    this.handoff = null;
    this.csatRating = null;
    this.emit('handoff', null);
  }

  // -- the customer's inputs -----------------------------------------------------------------

  /** A message or action the customer just sent (from the client's outbox). */
  addPending(o) {
    if (o.kind === 'action' && o.action_id === CSAT_ACTION) return;
    const key = `c:${o.cmid}`;
    if (this.byKey.has(key)) return;
    this._insert({
      key, kind: o.kind, role: 'customer', seq: null, status: 'pending', cmid: o.cmid,
      text: o.kind === 'action' ? o.label || '' : o.text, actionId: o.action_id ?? null,
    });
  }

  ack(cmid, seq) {
    const item = this.byKey.get(`c:${cmid}`);
    if (!item) return;
    item.status = 'sent';
    if (item.seq === null) this._place(item, seq);
    this.emit('upsert', item);
  }

  /** An input the server refused: its bubble goes away (the view puts the text back). */
  fail(cmid) {
    const item = this.byKey.get(`c:${cmid}`);
    if (item) this._remove(item);
    for (const [cardKey, choice] of this._choices) {
      if (choice.cmid === cmid) this.unchoose(cardKey);
    }
  }

  // -- cards ---------------------------------------------------------------------------------

  /** The choice made on a card (`${itemKey}/${cardId}`), or undefined. */
  choice(cardKey) {
    return this._choices.get(cardKey);
  }

  choose(cardKey, key, label, cmid = null) {
    this._choices.set(cardKey, { key, label, cmid });
    this.emit('card', cardKey);
  }

  unchoose(cardKey) {
    if (this._choices.delete(cardKey)) this.emit('card', cardKey);
  }

  // -- server events -------------------------------------------------------------------------

  /** A stored event (has seq); `history` when it was shown before this page loaded. */
  applyEvent(f, history = false) {
    if (f.type === 'message') this._message(f, history);
    else if (f.type === 'action') this._action(f, history);
    else if (f.type === 'handoff') this._handoff(f, history);
  }

  /** A streamed piece of the reply `message_id` (ignored once the final message is in). */
  applyDelta(f) {
    if (typeof f.message_id !== 'string' || typeof f.text !== 'string') return;
    const key = `m:${f.message_id}`;
    const item = this.byKey.get(key);
    if (item && !item.streaming) return;
    if (item) {
      item.text += f.text;
      this.emit('upsert', item);
      return;
    }
    this._insert({ key, kind: 'message', role: f.role || 'bot', seq: null, streaming: true, text: f.text,
      citations: [], cards: [], agentName: f.agent_name || null });
  }

  _message(f, history) {
    const role = ['customer', 'bot', 'agent', 'system'].includes(f.role) ? f.role : 'system';
    const key = role === 'customer' && f.client_msg_id ? `c:${f.client_msg_id}` : `m:${f.message_id ?? f.seq}`;
    const item = this.byKey.get(key);
    const fields = {
      role, text: typeof f.text === 'string' ? f.text : '', ts: f.ts || null, history,
      agentName: typeof f.agent_name === 'string' ? f.agent_name : null,
      citations: Array.isArray(f.citations) ? f.citations.filter((c) => c && typeof c === 'object') : [],
      cards: Array.isArray(f.cards) ? f.cards.map(normalizeCard).filter(Boolean) : [],
      streaming: false, status: 'sent',
    };
    if (item) {
      Object.assign(item, fields);
      if (item.seq === null) this._place(item, f.seq);
      this.emit('upsert', item);
    } else {
      this._insert({ key, kind: 'message', seq: f.seq, cmid: f.client_msg_id ?? null, ...fields });
    }
    this._register(this.byKey.get(key));
  }

  _action(f, history) {
    const values = f.values && typeof f.values === 'object' ? f.values : {};
    if (f.action_id === CSAT_ACTION) {
      this.csatRating = Number(values.rating) || null;
      for (const item of this.items) if (item.kind === 'csat') this.emit('upsert', item);
      return;
    }
    const found = this._lookup(f.action_id, values);
    if (found) this.choose(found.cardKey, found.key, found.label, f.client_msg_id ?? null);
    const key = f.client_msg_id ? `c:${f.client_msg_id}` : `a:${f.seq}`;
    const item = this.byKey.get(key);
    if (item) {
      item.status = 'sent';
      if (item.seq === null) this._place(item, f.seq);
      this.emit('upsert', item);
      return;
    }
    this._insert({ key, kind: 'action', role: 'customer', seq: f.seq, status: 'sent', history,
      cmid: f.client_msg_id ?? null, actionId: f.action_id, text: found?.label || f.label || '' });
  }

  _handoff(f, history) {
    const prev = this.handoff;
    this.handoff = {
      status: f.status, position: Number.isFinite(f.position) ? f.position : null,
      eta: Number.isFinite(f.eta_s) ? f.eta_s : Number.isFinite(f.eta_seconds) ? f.eta_seconds : null, ticketId: f.ticket_id || prev?.ticketId || null,
      agentName: f.agent_name || (f.status === 'assigned' ? null : prev?.agentName) || null,
    };
    this.emit('handoff', this.handoff);
    // A queue position update changes the status bar, not the transcript.
    if (!(f.status === 'queued' && prev?.status === 'queued')) {
      this._insert({ key: `h:${f.seq}`, kind: 'handoff', role: 'system', seq: f.seq, history,
        status: f.status, agentName: this.handoff.agentName, ticketId: this.handoff.ticketId });
    }
    if (f.status === 'closed' && f.csat) {
      this._insert({ key: `csat:${f.seq}`, kind: 'csat', role: 'system', seq: f.seq + 0.5, history });
    }
  }

  // -- card action index ---------------------------------------------------------------------

  _register(item) {
    item.cards.forEach((card) => {
      const cardKey = `${item.key}/${card.id}`;
      for (const action of cardActions(card)) {
        this._actions.set(actionKey(card, action), { cardKey, card, label: action.label });
      }
    });
  }

  _lookup(actionId, values) {
    for (const key of eventKeys(actionId, values)) {
      const hit = this._actions.get(key);
      if (hit) {
        const label = hit.card.type === 'form' ? formSummary(hit.card, values) : hit.label;
        return { cardKey: hit.cardKey, key, label };
      }
    }
    return null;
  }

  // -- ordering ------------------------------------------------------------------------------

  _rank(item) {
    return [item.seq ?? Number.POSITIVE_INFINITY, item.n];
  }

  _before(a, b) {
    const [sa, na] = this._rank(a);
    const [sb, nb] = this._rank(b);
    return sa < sb || (sa === sb && na < nb);
  }

  _insert(item) {
    item.n = this._n++;
    let i = this.items.length;
    while (i > 0 && this._before(item, this.items[i - 1])) i -= 1;
    this.items.splice(i, 0, item);
    this.byKey.set(item.key, item);
    this.emit('upsert', item);
  }

  _place(item, seq) {
    this.items.splice(this.items.indexOf(item), 1);
    item.seq = seq;
    let i = this.items.length;
    while (i > 0 && this._before(item, this.items[i - 1])) i -= 1;
    this.items.splice(i, 0, item);
  }

  _remove(item) {
    this.items.splice(this.items.indexOf(item), 1);
    this.byKey.delete(item.key);
    this.emit('remove', item);
  }
}
