import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Transcript } from '../../../../web_widget/widget/transcript.js';

const keys = (t) => t.items.map((i) => i.key);

test('a pending message, its echo and its ack are one bubble, placed by seq', () => {
  const t = new Transcript();
  t.applyEvent({ type: 'message', seq: 1, role: 'bot', message_id: 'm_a', text: 'hi' });
  t.addPending({ cmid: 'm-1', kind: 'message', text: 'card 6222 0000 0000 1234' });
  assert.equal(t.byKey.get('c:m-1').status, 'pending');
  t.applyEvent({ type: 'message', seq: 2, role: 'customer', message_id: 'u_m-1', client_msg_id: 'm-1',
    text: 'card **** 1234' });
  t.ack('m-1', 2);
  assert.deepEqual(keys(t), ['m:m_a', 'c:m-1']);
  const mine = t.byKey.get('c:m-1');
  assert.equal(mine.seq, 2);
  assert.equal(mine.status, 'sent');
  assert.equal(mine.text, 'card **** 1234', 'the stored (masked) text replaces what was typed');
});

test('an ack before the echo also places the bubble, and pending items stay last', () => {
  const t = new Transcript();
  t.addPending({ cmid: 'm-1', kind: 'message', text: 'one' });
  t.addPending({ cmid: 'm-2', kind: 'message', text: 'two' });
  t.ack('m-1', 5);
  t.applyEvent({ type: 'message', seq: 6, role: 'bot', message_id: 'm_r', text: 'reply' });
  assert.deepEqual(keys(t), ['c:m-1', 'm:m_r', 'c:m-2']);
});

test('deltas stream into one bubble that the final message replaces', () => {
  const t = new Transcript();
  const seen = [];
  t.on('upsert', (i) => seen.push(i.key));
  t.applyDelta({ type: 'delta', message_id: 'm_x', text: '年费' });
  t.applyDelta({ type: 'delta', message_id: 'm_x', text: '为 ¥200' });
  assert.equal(t.byKey.get('m:m_x').text, '年费为 ¥200');
  assert.ok(t.byKey.get('m:m_x').streaming);
  t.applyEvent({ type: 'message', seq: 4, role: 'bot', message_id: 'm_x', text: '金卡年费为 ¥200。',
    citations: [{ article_id: 'annual-fees', title: '年费', section: '金卡', snippet: '…' }] });
  t.applyDelta({ type: 'delta', message_id: 'm_x', text: 'late' });
  const item = t.byKey.get('m:m_x');
  assert.equal(t.items.length, 1);
  assert.equal(item.text, '金卡年费为 ¥200。');
  assert.equal(item.streaming, false);
  assert.equal(item.seq, 4);
  assert.equal(item.citations.length, 1);
});

test('a replayed action finds its button label and marks the card as chosen', () => {
  const t = new Transcript();
  t.applyEvent({ type: 'message', seq: 1, role: 'bot', message_id: 'm_q', text: '请选择期数', cards: [{
    type: 'table', id: 'quote-1', title: '方案', columns: ['期数'],
    rows: [
      { cells: ['3'], action: { label: '选 3 期', action_id: 'installment.periods', values: { periods: 3 } } },
      { cells: ['12'], action: { label: '选 12 期', action_id: 'installment.periods', values: { periods: 12 } } },
    ],
  }] });
  t.applyEvent({ type: 'action', seq: 2, role: 'customer', action_id: 'installment.periods',
    values: { periods: 12 }, client_msg_id: 'a-1' }, true);
  assert.equal(t.byKey.get('c:a-1').text, '选 12 期');
  assert.equal(t.choice('m:m_q/quote-1').label, '选 12 期');
});

test('a form submission is summarised with the field labels', () => {
  const t = new Transcript();
  t.applyEvent({ type: 'message', seq: 1, role: 'bot', message_id: 'm_f', text: '', cards: [{
    type: 'form', id: 'limit-form', title: '临时额度申请',
    fields: [{ name: 'amount', label: '新额度', kind: 'number', min: 30001, max: 45000, required: true },
      { name: 'days', label: '天数', kind: 'select', options: [['30', '30天'], ['60', '60天']] }],
    submit: { label: '提交申请', action_id: 'limit.submit' },
  }] });
  t.applyEvent({ type: 'action', seq: 2, role: 'customer', action_id: 'limit.submit',
    values: { amount: 40000, days: '30' }, client_msg_id: 'a-2' });
  assert.equal(t.byKey.get('c:a-2').text, '提交申请 · 新额度 40000 · 天数 30天');
});

test('a refused input disappears and its card can be used again', () => {
  const t = new Transcript();
  t.choose('m:x/c', 'k', 'label', 'a-9');
  t.addPending({ cmid: 'a-9', kind: 'action', action_id: 'flow.confirm', label: '确认' });
  t.fail('a-9');
  assert.equal(t.byKey.has('c:a-9'), false);
  assert.equal(t.choice('m:x/c'), undefined);
});

test('handoff: repeated queue updates change the state, not the transcript; closed offers CSAT', () => {
  const t = new Transcript();
  const states = [];
  t.on('handoff', (h) => states.push(h && h.status));
  t.applyEvent({ type: 'handoff', seq: 1, status: 'queued', position: 3, eta_s: 120, ticket_id: 't_1' });
  t.applyEvent({ type: 'handoff', seq: 2, status: 'queued', position: 1, eta_s: 30 });
  assert.equal(t.mode, 'queued');
  assert.equal(t.handoff.position, 1);
  assert.equal(t.handoff.ticketId, 't_1');
  t.applyEvent({ type: 'handoff', seq: 3, status: 'assigned', agent_name: '张敏' });
  assert.equal(t.mode, 'agent');
  t.applyEvent({ type: 'message', seq: 4, role: 'agent', agent_name: '张敏', message_id: 'm_ag', text: '您好' });
  assert.equal(t.byKey.get('m:m_ag').agentName, '张敏');
  t.applyEvent({ type: 'handoff', seq: 5, status: 'closed', csat: true });
  assert.equal(t.mode, 'bot');
  assert.deepEqual(keys(t), ['h:1', 'h:3', 'm:m_ag', 'h:5', 'csat:5']);
  assert.deepEqual(states, ['queued', 'queued', 'assigned', 'closed']);
  t.applyEvent({ type: 'action', seq: 6, role: 'customer', action_id: 'csat', values: { rating: 4 }, client_msg_id: 'a-c' });
  assert.equal(t.csatRating, 4);
  assert.equal(t.byKey.has('c:a-c'), false, 'the rating is not shown as a chat bubble');
});

test('clear empties everything', () => {
  const t = new Transcript();
  t.applyEvent({ type: 'message', seq: 1, role: 'bot', message_id: 'm_1', text: 'x' });
  const removed = [];
  t.on('remove', (i) => removed.push(i.key));
  t.clear();
  assert.deepEqual(removed, ['m:m_1']);
  assert.equal(t.items.length, 0);
});
