import { test } from 'node:test';
import assert from 'node:assert/strict';

import { safeHref, isAppLink } from '../../../../web_widget/shared/safeurl.js';
import { backoffDelay } from '../../../../web_widget/shared/backoff.js';
import { jwtExpiry, TokenSource } from '../../../../web_widget/shared/token.js';

test('safeHref accepts https and app links only', () => {
  assert.equal(safeHref('https://lumenbank.example/a?b=1'), 'https://lumenbank.example/a?b=1');
  assert.equal(safeHref('app://card/limit'), 'app://card/limit');
  assert.ok(isAppLink(safeHref('app://card/limit')));
  for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', ' javascript:alert(1)', 'java\tscript:alert(1)',
    'data:text/html,<script>alert(1)</script>', 'http://lumenbank.example', '/relative', '//evil.example',
    'https://user:pw@evil.example', 'vbscript:msgbox', 'https://', '', null, 42, 'https://a.example/\u2028']) {
    assert.equal(safeHref(bad), null, `must refuse ${JSON.stringify(bad)}`);
  }
});

test('backoff grows exponentially with jitter and is capped', () => {
  assert.equal(backoffDelay(0, undefined, () => 0), 250);
  assert.equal(backoffDelay(0, undefined, () => 0.999999), 500);
  assert.equal(backoffDelay(3, undefined, () => 0), 2000);
  assert.equal(backoffDelay(50, undefined, () => 0.999999), 15000);
  for (let i = 0; i < 12; i += 1) assert.ok(backoffDelay(i) <= 15000);
});

const jwt = (claims) => `x.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

test('jwtExpiry reads exp and tolerates garbage', () => {
  assert.equal(jwtExpiry(jwt({ sub: 'C001', exp: 1764463200 })), 1764463200);
  assert.equal(jwtExpiry('nonsense'), null);
  assert.equal(jwtExpiry(null), null);
});

test('TokenSource caches, refreshes near expiry and on demand', async () => {
  let now = 1_000_000_000;
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push(JSON.parse(init.body));
    return { ok: true, json: async () => ({ token: `t${calls.length}`, expires_at: now / 1000 + 3600 }) };
  };
  const src = new TokenSource({ endpoint: '/api/v1/demo/token', body: { customer_id: 'C001' }, fetchImpl, now: () => now });
  assert.equal((await src.get()).token, 't1');
  assert.equal((await src.get()).token, 't1');
  now += 3550 * 1000;
  assert.equal((await src.get()).token, 't2');
  assert.equal((await src.get(true)).token, 't3');
  assert.deepEqual(calls[0], { customer_id: 'C001' });
});

test('TokenSource reports a refusing endpoint', async () => {
  const src = new TokenSource({ endpoint: '/t', fetchImpl: async () => ({ ok: false, status: 401 }) });
  await assert.rejects(src.get(), /401/);
});
