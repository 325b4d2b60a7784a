// A minimal event emitter for the DOM-free models (no EventTarget: it must run under node --test too).

export class Emitter {
  constructor() {
    this._handlers = new Map();
  }

  /** Subscribe; returns the unsubscribe function. */
  on(type, fn) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(fn);
    return () => this._handlers.get(type)?.delete(fn);
  }

  emit(type, data) {
    for (const fn of [...(this._handlers.get(type) || [])]) fn(data);
  }
}
