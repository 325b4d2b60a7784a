// One WebSocket that keeps itself alive: reconnects with backoff, detects dead sockets with a
// heartbeat, and leaves the protocol (hello, frames, close codes) to its owner.
// DOM-free: the WebSocket constructor and the timers are injected, so node --test drives it.

import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';

export const CONNECTING = 'connecting';
export const OPEN = 'open';
export const WAITING = 'waiting';
export const STOPPED = 'stopped';

const WS_OPEN = 1;

/**
 * Owner callbacks:
 *   onOpen(conn)            the socket is open: send hello
 *   onFrame(obj)            a parsed JSON frame arrived
 *   onClosed(code, reason)  the socket closed; return {retry: bool, immediate: bool}
 *   onHeartbeat(conn)       time to probe the socket (send a ping)
 *   onStatus(state)         CONNECTING | OPEN | WAITING | STOPPED
 * and `url()` returns the URL to connect to (it may change between attempts).
 */
export class Connection {
  constructor({
    url,
    owner,
    WebSocketImpl = globalThis.WebSocket,
    timers = globalThis,
    random = Math.random,
    backoff = DEFAULT_BACKOFF,
    heartbeatMs = 25000,
    deadAfterMs = 10000,
    connectTimeoutMs = 10000,
  }) {
    this.url = url;
    this.owner = owner;
    this.WebSocketImpl = WebSocketImpl;
    this.timers = timers;
    this.random = random;
    this.backoff = backoff;
    this.heartbeatMs = heartbeatMs;
    this.deadAfterMs = deadAfterMs;
    this.connectTimeoutMs = connectTimeoutMs;
    this.ws = null;
    this.state = STOPPED;
    this.attempt = 0;
    this._retryTimer = null;
    this._beatTimer = null;
    this._deadTimer = null;
    this._connectTimer = null;
    this._stopped = true;
  }

  start() {
    if (!this._stopped) return;
    this._stopped = false;
    this._connect();
  }

  stop() {
    this._stopped = true;
    this._clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closing */
      }
    }
    this._setState(STOPPED);
  }

  /** Reconnect now instead of waiting for the backoff (the network came back, the tab woke up). */
  nudge() {
    if (this._stopped || this.state !== WAITING) return;
    this._clear('_retryTimer');
    this._connect();
  }

  /** The owner saw its handshake complete (welcome): the next failure starts a fresh backoff. */
  ready() {
    this.attempt = 0;
    this._clear('_connectTimer');
    this._setState(OPEN);
    this._scheduleBeat();
  }

  get isOpen() {
    return this.state === OPEN && this.ws !== null && this.ws.readyState === WS_OPEN;
  }

  /** Send a frame on the raw socket (before `ready()` too); false when there is no open socket. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WS_OPEN) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Drop the current socket as if the network had failed (used for dead-socket detection). */
  drop(code = 4000, reason = 'dropped') {
    const ws = this.ws;
    if (!ws) return;
    this._detach(ws);
    try {
      ws.close();
    } catch {
      /* ignore */
    }
    this._onClosed(code, reason);
  }

  // -- internals ------------------------------------------------------------------------

  _connect() {
    if (this._stopped) return;
    this._setState(CONNECTING);
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url());
    } catch {
      this._onClosed(1006, 'cannot connect');
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.owner.onOpen(this);
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      this._alive();
      let frame;
      try {
        frame = JSON.parse(typeof ev.data === 'string' ? ev.data : '');
      } catch {
        return;
      }
      if (frame && typeof frame === 'object') this.owner.onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this._detach(ws);
      this._onClosed(ev.code, ev.reason);
    };
    ws.onerror = () => {
      /* a close event follows */
    };
    this._connectTimer = this.timers.setTimeout(() => this.drop(4008, 'connect timeout'), this.connectTimeoutMs);
  }

  _detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    if (this.ws === ws) this.ws = null;
  }

  _onClosed(code, reason) {
    this._clearTimers();
    if (this._stopped) return;
    const decision = this.owner.onClosed(code, reason) || { retry: true };
    if (!decision.retry) {
      this._stopped = true;
      this._setState(STOPPED);
      return;
    }
    this._setState(WAITING);
    const delay = decision.immediate ? 0 : backoffDelay(this.attempt, this.backoff, this.random);
    this.attempt += 1;
    this._retryTimer = this.timers.setTimeout(() => {
      this._retryTimer = null;
      this._connect();
    }, delay);
  }

  _alive() {
    this._clear('_deadTimer');
    if (this.state === OPEN) this._scheduleBeat();
  }

  _scheduleBeat() {
    if (!this.heartbeatMs) return;
    this._clear('_beatTimer');
    this._beatTimer = this.timers.setTimeout(() => {
      this._beatTimer = null;
      this.owner.onHeartbeat(this);
      this._deadTimer = this.timers.setTimeout(() => this.drop(4009, 'no heartbeat'), this.deadAfterMs);
    }, this.heartbeatMs);
  }

  _clear(name) {
    if (this[name] !== null) {
      this.timers.clearTimeout(this[name]);
      this[name] = null;
    }
  }

  _clearTimers() {
    for (const name of ['_retryTimer', '_beatTimer', '_deadTimer', '_connectTimer']) this._clear(name);
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.owner.onStatus?.(state);
  }
}
