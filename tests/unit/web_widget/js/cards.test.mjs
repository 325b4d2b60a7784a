import { test } from 'node:test';
import assert from 'node:assert/strict';

import { normalizeCard, validateForm, cardActions, actionKey, eventKeys } from '../../../../web_widget/widget/cards.js';

const form = normalizeCard({
  type: 'form', id: 'limit-form', title: '临时额度申请',
  fields: [
    { name: 'amount', label: '新额度', kind: 'number', min: 30001, max: 45000, required: true },
    { name: 'days', label: '天数', kind: 'select', options: [['30', '30天'], ['60', '60天'], ['90', '90天']] },
  ],
  submit: { label: '提交申请', action_id: 'limit.submit', values: { card: 'K00101' } },
});

test('form: required, number, min and max are checked before anything is sent', () => {
  assert.deepEqual(validateForm(form, { amount: '' }).errors.amount.key, 'fieldRequired');
  assert.equal(validateForm(form, { amount: 'abc' }).errors.amount.key, 'fieldNumber');
  assert.equal(validateForm(form, { amount: '30000' }).errors.amount.key, 'fieldMin');
  assert.equal(validateForm(form, { amount: '45001' }).errors.amount.key, 'fieldMax');
  assert.equal(validateForm(form, { amount: '40000', days: '45' }).errors.days.key, 'fieldRequired');
});

test('form: valid input becomes typed values merged with the submit values', () => {
  const r = validateForm(form, { amount: '40,000', days: '30' });
  assert.equal(r.ok, true);
  assert.deepEqual(r.values, { card: 'K00101', amount: 40000, days: '30' });
});

test('link cards keep only https and app URLs as links', () => {
  const link = (url) => normalizeCard({ type: 'link', id: 'l', title: 't', label: 'open', url }).href;
  assert.equal(link('https://www.lumenbank.example/limit'), 'https://www.lumenbank.example/limit');
  assert.equal(link('app://card/limit-increase?card=K00101'), 'app://card/limit-increase?card=K00101');
  assert.equal(link('javascript:alert(1)'), null);
  assert.equal(link('http://example.com'), null);
});

test('malformed cards become safe models; unknown types keep only their title', () => {
  assert.equal(normalizeCard(null), null);
  const weird = normalizeCard({ type: 'carousel', id: 'x', title: 'T', items: [1] });
  assert.deepEqual(weird, { type: 'unknown', id: 'x', title: 'T' });
  const table = normalizeCard({ type: 'table', id: 't', rows: [{ cells: ['a', { b: 1 }], action: { label: 'x' } }] });
  assert.deepEqual(table.rows[0], { cells: ['a', ''], action: null });
  const choices = normalizeCard({ type: 'choices', id: 'c', options: [
    { label: 'ok', action_id: 'a', values: { n: 1, obj: { deep: 1 } } }, { label: 'no id' }] });
  assert.deepEqual(cardActions(choices), [{ label: 'ok', action_id: 'a', values: { n: 1 } }]);
});

test('action keys ignore the order of values and match form submissions by action id', () => {
  const choices = normalizeCard({ type: 'choices', id: 'c', options: [{ label: 'x', action_id: 'a', values: { b: 1, a: 2 } }] });
  assert.equal(actionKey(choices, choices.options[0]), eventKeys('a', { a: 2, b: 1 })[0]);
  assert.equal(actionKey(form, form.submit), eventKeys('limit.submit', { amount: 1 })[1]);
});
