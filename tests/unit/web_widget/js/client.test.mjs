import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { ChatClient, newClientMsgId } from '../../../../web_widget/widget/client.js';
import { FakeSocket, ManualTimers, MemoryStorage, fakeTokens, flush } from './fakes.mjs';

beforeEach(() => FakeSocket.reset());

function makeClient(overrides = {}) {
  const timers = overrides.timers || new ManualTimers();
  const client = new ChatClient({
    url: () => 'ws://test/ws/chat',
    tokens: overrides.tokens || fakeTokens(),
    storage: overrides.storage || new MemoryStorage(),
    storageKey: 'k',
    locale: 'zh-CN',
    WebSocketImpl: FakeSocket,
    timers,
    random: () => 0.5,
    heartbeatMs: 25000,
    deadAfterMs: 10000,
    ...overrides,
  });
  const seen = { events: [], acks: [], failed: [], notices: [], resets: 0, status: [] };
  client.on('event', (e) => seen.events.push(e));
  client.on('ack', (a) => seen.acks.push(a));
  client.on('failed', (f) => seen.failed.push(f));
  client.on('notice', (n) => seen.notices.push(n));
  client.on('reset', () => { seen.resets += 1; });
  client.on('status', (s) => seen.status.push(s));
  return { client, timers, seen };
}

async function connect(client, welcome = {}) {
  const ws = FakeSocket.last;
  ws.accept();
  await flush();
  const hello = ws.framesOf('hello').at(-1);
  ws.push({ type: 'welcome', conversation_id: 'c_1', seq: 0, mode: 'bot', protocol: 1, customer_id: 'C001', ...welcome });
  return { ws, hello };
}

const msg = (seq, extra = {}) => ({ type: 'message', seq, role: 'bot', message_id: `m_${seq}`, text: `t${seq}`, ...extra });

test('client_msg_id uses only the protocol alphabet and stays short', () => {
  const id = newClientMsgId('m', 1732870000000, () => 0.123);
  assert.match(id, /^[A-Za-z0-9._:-]{1,100}$/);
});

test('hello starts a new conversation, a message is sent with an id and cleared on ack', async () => {
  const { client, seen } = makeClient();
  client.start();
  const { ws, hello } = await connect(client);
  assert.deepEqual(hello, { type: 'hello', token: 'tok-1', locale: 'zh-CN' });
  const item = client.send('我的账单什么时候还？');
  const sent = ws.framesOf('message')[0];
  assert.deepEqual(sent, { type: 'message', client_msg_id: item.cmid, text: '我的账单什么时候还？' });
  assert.equal(client.outbox.length, 1);
  ws.push({ type: 'ack', client_msg_id: item.cmid, seq: 1 });
  assert.equal(client.outbox.length, 0);
  assert.deepEqual(seen.acks.map((a) => a.seq), [1]);
  assert.equal(seen.status.at(-1), 'open');
});

test('stored events are delivered once, in order, and persisted with the conversation', async () => {
  const storage = new MemoryStorage();
  const { client, seen } = makeClient({ storage });
  client.start();
  const { ws } = await connect(client);
  ws.push(msg(1));
  ws.push(msg(2));
  ws.push(msg(2));
  ws.push(msg(1));
  ws.push(msg(3));
  assert.deepEqual(seen.events.map((e) => e.frame.seq), [1, 2, 3]);
  const saved = JSON.parse(storage.getItem('k'));
  assert.equal(saved.conversation_id, 'c_1');
  assert.equal(saved.last_seq, 3);
});

test('after a drop it reconnects with last_seq and resends the unacked message with the same id', async () => {
  const { client, timers, seen } = makeClient();
  client.start();
  const first = await connect(client);
  first.ws.push(msg(1));
  const lost = client.send('first');
  first.ws.drop(1006);
  assert.equal(seen.status.at(-1), 'offline');
  const queued = client.send('typed while offline');

  timers.advance(1000);
  assert.equal(FakeSocket.instances.length, 2);
  const { ws, hello } = await connect(client, { seq: 1 });
  assert.equal(hello.conversation_id, 'c_1');
  assert.equal(hello.last_seq, 1);
  // Stop-and-wait: the lost message goes first, with its original id; the next waits for the ack.
  assert.deepEqual(ws.framesOf('message').map((f) => f.client_msg_id), [lost.cmid]);
  ws.push({ type: 'ack', client_msg_id: lost.cmid, seq: 2 });
  assert.deepEqual(ws.framesOf('message').map((f) => f.client_msg_id), [lost.cmid, queued.cmid]);
  ws.push({ type: 'ack', client_msg_id: queued.cmid, seq: 3 });
  assert.equal(client.outbox.length, 0);
});

test('backoff grows between failed attempts and a welcome resets it', async () => {
  const { client, timers } = makeClient();
  client.start();
  FakeSocket.last.drop(1006);
  timers.advance(374);
  assert.equal(FakeSocket.instances.length, 1);
  timers.advance(1);
  assert.equal(FakeSocket.instances.length, 2); // 500 * (0.5 + 0.5 * 0.5) = 375 ms
  FakeSocket.last.drop(1006);
  timers.advance(749);
  assert.equal(FakeSocket.instances.length, 2);
  timers.advance(1);
  assert.equal(FakeSocket.instances.length, 3);
  await connect(client);
  FakeSocket.last.drop(1006);
  timers.advance(375);
  assert.equal(FakeSocket.instances.length, 4);
});

test('going online reconnects at once instead of waiting for the backoff', async () => {
  const { client } = makeClient();
  client.start();
  await connect(client);
  client.networkChanged(false);
  assert.equal(client.status, 'offline');
  const before = FakeSocket.instances.length;
  client.networkChanged(true);
  assert.equal(FakeSocket.instances.length, before + 1);
});

test('4401 fetches a fresh token and reconnects immediately', async () => {
  const tokens = fakeTokens();
  const { client } = makeClient({ tokens });
  client.start();
  await connect(client);
  FakeSocket.last.drop(4401);
  assert.equal(FakeSocket.instances.length, 1);
  const { timers } = { timers: client.timers };
  timers.advance(0);
  assert.equal(FakeSocket.instances.length, 2);
  const { hello } = await connect(client);
  assert.equal(tokens.calls.at(-1), true);
  assert.equal(hello.token, 'tok-2');
});

test('4403 forgets the stored conversation and starts a new one', async () => {
  const storage = new MemoryStorage();
  storage.setItem('k', JSON.stringify({ v: 1, conversation_id: 'c_other', last_seq: 9, outbox: [] }));
  const { client, timers, seen } = makeClient({ storage });
  client.start();
  FakeSocket.last.accept();
  await flush();
  assert.equal(FakeSocket.last.framesOf('hello')[0].conversation_id, 'c_other');
  FakeSocket.last.drop(4403);
  assert.equal(seen.resets, 1);
  timers.advance(0);
  const { hello } = await connect(client);
  assert.equal(hello.conversation_id, undefined);
  assert.equal(JSON.parse(storage.getItem('k')).conversation_id, 'c_1');
});

test('a reload asks for the whole conversation, marks old events as history and resends the outbox', async () => {
  const storage = new MemoryStorage();
  storage.setItem('k', JSON.stringify({
    v: 1, conversation_id: 'c_1', last_seq: 2, outbox: [{ cmid: 'm-x-1', kind: 'message', text: 'still pending' }],
  }));
  const { client, seen } = makeClient({ storage });
  client.start();
  const { ws, hello } = await connect(client, { seq: 3 });
  assert.equal(hello.conversation_id, 'c_1');
  assert.equal(hello.last_seq, undefined);
  ws.push(msg(1));
  ws.push(msg(2));
  ws.push(msg(3));
  assert.deepEqual(seen.events.map((e) => [e.frame.seq, e.history]), [[1, true], [2, true], [3, false]]);
  assert.deepEqual(ws.framesOf('message').map((f) => f.client_msg_id), ['m-x-1']);
});

test('a rate-limited message is handed back as failed and the next one goes out', async () => {
  const { client, seen } = makeClient();
  client.start();
  const { ws } = await connect(client);
  const a = client.send('one');
  const b = client.send('two');
  ws.push({ type: 'error', code: 'rate_limited', message: 'too many messages' });
  assert.equal(seen.failed.length, 1);
  assert.equal(seen.failed[0].item.cmid, a.cmid);
  assert.equal(seen.failed[0].code, 'rate_limited');
  assert.deepEqual(ws.framesOf('message').map((f) => f.client_msg_id), [a.cmid, b.cmid]);
});

test('an unavailable store means the same frame is sent again after a pause', async () => {
  const { client, timers, seen } = makeClient();
  client.start();
  const { ws } = await connect(client);
  const a = client.send('one');
  ws.push({ type: 'error', code: 'unavailable', message: 'briefly unavailable' });
  assert.equal(seen.failed.length, 0);
  assert.equal(ws.framesOf('message').length, 1);
  timers.advance(1000);
  assert.deepEqual(ws.framesOf('message').map((f) => f.client_msg_id), [a.cmid, a.cmid]);
});

test('an error with nothing in flight is a notice', async () => {
  const { client, seen } = makeClient();
  client.start();
  const { ws } = await connect(client);
  ws.push({ type: 'error', code: 'bad_frame', message: 'x' });
  assert.deepEqual(seen.notices.map((n) => n.code), ['bad_frame']);
});

test('a socket that stops answering pings is dropped and replaced', async () => {
  const { client, timers } = makeClient();
  client.start();
  const { ws } = await connect(client);
  timers.advance(25000);
  assert.equal(ws.framesOf('ping').length, 1);
  timers.advance(9999);
  assert.equal(FakeSocket.instances.length, 1);
  timers.advance(1);
  assert.equal(client.status, 'offline');
  timers.advance(1000);
  assert.equal(FakeSocket.instances.length, 2);
});

test('a pong keeps the socket and does not eat a message error', async () => {
  const { client, timers, seen } = makeClient();
  client.start();
  const { ws } = await connect(client);
  timers.advance(25000);
  const a = client.send('one');
  ws.push({ type: 'pong' });
  ws.push({ type: 'error', code: 'text_too_long', message: 'long' });
  assert.equal(seen.failed[0].item.cmid, a.cmid);
  timers.advance(20000);
  assert.equal(FakeSocket.instances.length, 1);
});

test('actions are sent with their values and handoff events change the mode', async () => {
  const { client } = makeClient();
  client.start();
  const { ws } = await connect(client);
  const item = client.act('installment.periods', { periods: 12 }, '选 12 期');
  assert.deepEqual(ws.framesOf('action')[0], {
    type: 'action', client_msg_id: item.cmid, action_id: 'installment.periods', values: { periods: 12 },
  });
  ws.push({ type: 'handoff', seq: 1, status: 'queued', position: 2, eta_s: 90 });
  assert.equal(client.mode, 'queued');
  ws.push({ type: 'handoff', seq: 2, status: 'assigned', agent_name: '张敏' });
  assert.equal(client.mode, 'agent');
});

test('stop closes the socket and never reconnects', async () => {
  const { client, timers } = makeClient();
  client.start();
  const { ws } = await connect(client);
  client.stop();
  assert.ok(ws.closedByClient);
  timers.advance(60000);
  assert.equal(FakeSocket.instances.length, 1);
  assert.equal(client.status, 'stopped');
});
