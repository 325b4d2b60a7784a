import { test } from 'node:test';
import assert from 'node:assert/strict';

import { translator as makeTranslator, pickLocale, etaText, errorText, format, loadStrings } from '../../../../web_widget/widget/i18n.js';
import zhCN from '../../../../web_widget/widget/locales/zh-CN.js';
import enUS from '../../../../web_widget/widget/locales/en-US.js';

const translator = (locale) => makeTranslator(locale, locale === 'zh-CN' ? zhCN : enUS);

function shape(value) {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape(value[k])]));
  return typeof value;
}

test('zh-CN and en-US have the same keys', () => {
  const zh = translator('zh-CN');
  const en = translator('en-US');
  assert.deepEqual(shape(zhCN), shape(enUS));
  for (const key of ['aiLabel', 'welcome', 'offlineBanner', 'csatTitle', 'queuedPosition']) {
    assert.notEqual(zh(key), key);
    assert.notEqual(en(key), key);
  }
});

test('the AI label is visible in both languages', () => {
  assert.equal(translator('zh-CN')('aiLabel'), '明光银行智能助手（AI）');
  assert.equal(translator('en-US')('aiLabel'), 'Lumen Bank assistant (AI)');
});

test('quick actions are the five top self-service entries with natural messages', () => {
  assert.deepEqual(translator('zh-CN')('quick').map((q) => q.label), ['账单', '分期', '额度', '挂失', '积分']);
  assert.equal(translator('en-US')('quick')[0].text, 'Show my bill');
});

test('locales, placeholders, ETA and errors', () => {
  assert.equal(pickLocale('zh'), 'zh-CN');
  assert.equal(pickLocale('en-GB'), 'en-US');
  assert.equal(pickLocale(undefined), 'zh-CN');
  assert.equal(format('{a} and {b}', { a: 1 }), '1 and {b}');
  const zh = translator('zh-CN');
  assert.equal(zh('queuedPosition', { position: 2, eta: etaText(zh, 90) }), '您排在第 2 位，预计等待约 2 分钟');
  assert.equal(etaText(zh, 20), '不到 1 分钟');
  assert.equal(etaText(zh, null), null);
  assert.match(errorText(zh, 'rate_limited'), /稍等/);
  assert.equal(errorText(zh, 'no_such_code'), zh('errors.generic'));
});

test('a page loads only the string table of its locale', async () => {
  assert.equal(await loadStrings('en'), enUS);
  assert.equal(await loadStrings('zh-CN'), zhCN);
});
