// Tokens for the sockets: fetched from an endpoint (the bank's backend in production, the demo
// endpoint in the demo), cached, and refreshed shortly before they expire or when the server
// says 4401. DOM-free: `fetch` and the clock are injected.

const REFRESH_MARGIN_S = 60;

/** The `exp` claim of a JWT (seconds since the epoch), or null. The signature is the server's business. */
export function jwtExpiry(token) {
  if (typeof token !== 'string') return null;
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
    return Number.isFinite(json.exp) ? json.exp : null;
  } catch {
    return null;
  }
}

export class TokenError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * A cached token from `endpoint`. `body` is what the endpoint expects (e.g. `{customer_id}` for
 * the demo). `now()` returns milliseconds.
 */
export class TokenSource {
  constructor({ endpoint, body = {}, fetchImpl = globalThis.fetch?.bind(globalThis), now = Date.now }) {
    this.endpoint = endpoint;
    this.body = body;
    this.fetchImpl = fetchImpl;
    this.now = now;
    this.current = null;
    this._inflight = null;
  }

  /** A token valid for at least a minute; `force` fetches a new one whatever the cache says. */
  async get(force = false) {
    if (!force && this.current && this.current.expiresAt - REFRESH_MARGIN_S > this.now() / 1000) {
      return this.current;
    }
    if (!this._inflight) {
      this._inflight = this._fetch().finally(() => {
        this._inflight = null;
      });
    }
    return this._inflight;
  }

  async _fetch() {
    const res = await this.fetchImpl(this.endpoint, {
      method: 'POST',
      credentials: 'include',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(this.body),
    });
    if (!res.ok) throw new TokenError(res.status, `token endpoint answered ${res.status}`);
    const doc = await res.json();
    if (!doc || typeof doc.token !== 'string') throw new TokenError(0, 'token endpoint sent no token');
    const expiresAt = Number.isFinite(doc.expires_at) ? doc.expires_at : jwtExpiry(doc.token) ?? this.now() / 1000 + 300;
    this.current = { token: doc.token, expiresAt };
    return this.current;
  }
}
