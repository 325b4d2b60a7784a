import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import { Desk, timeline } from '../../../../web_widget/console/desk.js';
import { consoleText, duration, slaRemaining, sortQueue, waitingNow } from '../../../../web_widget/console/labels.js';
import { FakeSocket, ManualTimers } from './fakes.mjs';

beforeEach(() => FakeSocket.reset());

const CTX = {
  schema_version: 1, ticket_id: 't_1', conversation_id: 'c_1', reason: 'customer_request', priority: 3,
  customer: { name: '王*明', tier: 'gold' },
  transcript: [
    { seq: 1, role: 'customer', text: '转人工', at: '2026-11-29T02:00:00Z' },
    { seq: 2, role: 'bot', text: '已为您转接', at: '2026-11-29T02:00:01Z' },
  ],
  notes: [],
};

function start() {
  const timers = new ManualTimers();
  const desk = new Desk({ url: () => 'ws://test/ws/agent', token: 'agent-token', WebSocketImpl: FakeSocket, timers, now: () => 1_000_000 });
  const seen = { errors: [], blocked: [], undelivered: [], claimed: [] };
  desk.on('error', (e) => seen.errors.push(e));
  desk.on('blocked', (b) => seen.blocked.push(b));
  desk.on('undelivered', (u) => seen.undelivered.push(u.text));
  desk.on('claimed', (c) => seen.claimed.push(c.id));
  desk.start();
  const ws = FakeSocket.last;
  ws.accept();
  ws.push({ type: 'welcome', agent_id: 'zhangmin', display_name: '张敏', skills: ['general'], languages: ['zh'], capacity: 3 });
  ws.push({ type: 'queue', items: [{ conversation_id: 'c_1', priority: 3, waiting_s: 5 }], assigned: [] });
  return { desk, ws, timers, seen };
}

test('hello carries the agent token; the queue snapshot is kept', () => {
  const { desk, ws } = start();
  assert.deepEqual(ws.framesOf('hello'), [{ type: 'hello', token: 'agent-token' }]);
  assert.equal(desk.status, 'open');
  assert.equal(desk.queue.length, 1);
});

test('claim opens a chat with its context; replies are pending until ack', () => {
  const { desk, ws, seen } = start();
  assert.ok(desk.claim('c_1'));
  assert.ok(desk.claiming.has('c_1'));
  ws.push({ type: 'assigned', conversation_id: 'c_1', ticket_id: 't_1', context: CTX });
  assert.deepEqual(seen.claimed, ['c_1']);
  const chat = desk.chats.get('c_1');
  assert.equal(chat.entries.size, 2);
  const p = desk.reply('c_1', '您好，我是张敏');
  assert.equal(chat.pending.length, 1);
  const sent = ws.framesOf('message')[0];
  assert.equal(sent.client_msg_id, p.cmid);
  ws.push({ type: 'ack', conversation_id: 'c_1', seq: 4, client_msg_id: p.cmid, warnings: [] });
  assert.equal(chat.pending.length, 0);
  assert.equal(chat.entries.get(4).text, '您好，我是张敏');
  ws.push({ type: 'message', conversation_id: 'c_1', role: 'customer', text: '好的', seq: 5 });
  ws.push({ type: 'message', conversation_id: 'c_1', role: 'customer', text: '好的', seq: 5 });
  assert.equal(chat.entries.get(5).text, '好的');
  assert.equal(chat.unread, 1);
});

test('a blocked draft is reported with its rules and its text, and nothing is kept as sent', () => {
  const { desk, ws, seen } = start();
  desk.claim('c_1');
  ws.push({ type: 'assigned', conversation_id: 'c_1', ticket_id: 't_1', context: CTX });
  const p = desk.reply('c_1', '保证一定能通过');
  ws.push({ type: 'blocked', conversation_id: 'c_1', client_msg_id: p.cmid, rules: [{ rule_id: 'CLM-01', message: '不能承诺' }] });
  assert.equal(seen.blocked[0].text, '保证一定能通过');
  assert.equal(seen.blocked[0].rules[0].rule_id, 'CLM-01');
  assert.equal(desk.chats.get('c_1').pending.length, 0);
});

test('an error settles the oldest request: a lost claim race is reported and pushed frames do not interfere', () => {
  const { desk, ws, seen } = start();
  desk.claim('c_1');
  ws.push({ type: 'queue', items: [], assigned: [] });
  ws.push({ type: 'error', code: 'already_claimed', message: 'taken', conversation_id: 'c_1' });
  assert.equal(seen.errors[0].code, 'already_claimed');
  assert.equal(seen.errors[0].request, 'claim');
  assert.equal(desk.claiming.size, 0);
  assert.equal(desk.chats.size, 0);
});

test('notes, hand back and close update the chat', () => {
  const { desk, ws } = start();
  desk.claim('c_1');
  ws.push({ type: 'assigned', conversation_id: 'c_1', ticket_id: 't_1', context: CTX });
  desk.note('c_1', '已核实身份');
  ws.push({ type: 'noted', conversation_id: 'c_1', at: '2026-11-29T02:00:05Z' });
  const chat = desk.chats.get('c_1');
  assert.equal(chat.notes[0].text, '已核实身份');
  assert.deepEqual(timeline(chat).map((x) => x.kind), ['entry', 'entry', 'note']);
  desk.handback('c_1', '客户还想问积分');
  assert.deepEqual(ws.framesOf('handback').at(-1), { type: 'handback', conversation_id: 'c_1', note: '客户还想问积分' });
  ws.push({ type: 'returned', conversation_id: 'c_1', ticket_id: 't_1' });
  assert.equal(chat.status, 'returned');
});

test('the customer leaving closes the chat without touching pending requests', () => {
  const { desk, ws, seen } = start();
  desk.claim('c_1');
  ws.push({ type: 'closed', conversation_id: 'c_1', ticket_id: 't_1', disposition: 'abandoned', by: 'customer' });
  ws.push({ type: 'assigned', conversation_id: 'c_1', ticket_id: 't_1', context: CTX });
  assert.deepEqual(seen.claimed, ['c_1']);
});

test('after a reconnect held chats are re-read; an unconfirmed reply found in the transcript counts as sent', () => {
  const { desk, ws, timers, seen } = start();
  desk.claim('c_1');
  ws.push({ type: 'assigned', conversation_id: 'c_1', ticket_id: 't_1', context: CTX });
  desk.reply('c_1', '这条送到了');
  desk.reply('c_1', '这条没送到');
  ws.drop(1006);
  assert.equal(desk.status, 'offline');
  assert.deepEqual(desk.chats.get('c_1').pending.map((p) => p.state), ['unconfirmed', 'unconfirmed']);
  timers.advance(1000);
  const ws2 = FakeSocket.last;
  ws2.accept();
  ws2.push({ type: 'welcome', agent_id: 'zhangmin', display_name: '张敏' });
  ws2.push({ type: 'queue', items: [], assigned: [{ conversation_id: 'c_1', ticket_id: 't_1', priority: 3 }] });
  assert.deepEqual(ws2.framesOf('context'), [{ type: 'context', conversation_id: 'c_1' }]);
  const transcript = [...CTX.transcript, { seq: 3, role: 'agent', text: '这条送到了', at: '2026-11-29T02:00:09Z' }];
  ws2.push({ type: 'context', conversation_id: 'c_1', ticket_id: 't_1', context: { ...CTX, transcript } });
  assert.deepEqual(seen.undelivered, ['这条没送到']);
  assert.equal(desk.chats.get('c_1').pending.length, 0);
});

test('a refused token stops reconnecting', () => {
  const { desk, ws, timers } = start();
  let unauthorized = 0;
  desk.on('unauthorized', () => { unauthorized += 1; });
  ws.drop(4401);
  timers.advance(60000);
  assert.equal(unauthorized, 1);
  assert.equal(FakeSocket.instances.length, 1);
});

test('queue order, SLA countdown and durations', () => {
  const items = [
    { conversation_id: 'a', priority: 3, waiting_s: 100, sla_breached: false },
    { conversation_id: 'b', priority: 1, waiting_s: 5, sla_breached: false },
    { conversation_id: 'c', priority: 3, waiting_s: 10, sla_breached: true },
    { conversation_id: 'd', priority: 3, waiting_s: 200, sla_breached: false },
  ];
  assert.deepEqual(sortQueue(items).map((i) => i.conversation_id), ['b', 'c', 'd', 'a']);
  assert.deepEqual(sortQueue(items, new Set(['a'])).map((i) => i.conversation_id), ['b', 'a', 'c', 'd']);
  assert.equal(slaRemaining('2026-11-29T02:02:00Z', Date.parse('2026-11-29T02:00:30Z')), 90);
  assert.equal(slaRemaining('2026-11-29T02:02:00Z', Date.parse('2026-11-29T02:02:30Z')), -30);
  assert.equal(waitingNow({ waiting_s: 10 }, 1000, 6000), 15);
  const zh = consoleText('zh-CN');
  const en = consoleText('en-US');
  assert.equal(duration(zh, 75), '1分15秒');
  assert.equal(duration(en, 3725), '1h 2m');
  assert.equal(zh('reasons.unrecognised_transaction'), '不认识的交易（疑似盗刷）');
});
