// The context package as a readable side panel: summary first, then who the customer is, why
// the chat came here, what was collected and done, and the transcript. Text only (textContent).

import { h } from '../shared/dom.js';
import { safeHref } from '../shared/safeurl.js';

const section = (title, ...body) => h('section', { class: 'cf-section' }, h('h3', { text: title }), ...body);
const kv = (pairs) => h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
  .map(([k, v]) => h('div', {}, h('dt', { text: k }), h('dd', {}, v))));
const time = (iso, t) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString(t.locale, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
};
const arr = (v) => (Array.isArray(v) ? v : []);

function summaryText(summary, t) {
  if (!summary) return '';
  if (summary.source === 'llm' && summary.llm) return summary.llm;
  return (t.locale === 'en-US' ? summary.en : summary.zh) || summary.zh || summary.en || '';
}

export function renderCaseFile(ctx, t) {
  if (!ctx) return h('div', { class: 'cf-empty', text: '…' });
  const c = ctx.customer || {};
  const parts = [];
  parts.push(section(t('summary'), h('p', { class: 'cf-summary', text: summaryText(ctx.summary, t) })));
  parts.push(section(t('customer'), kv([
    [t('customer'), h('span', {}, h('strong', { text: c.name || c.masked_id || '' }), ' ', h('span', { class: 'muted', text: c.masked_id || '' }))],
    [t('tier'), t(`tiers.${c.tier}`) || c.tier],
    [t('segment'), c.segment],
    [t('language'), t(`langNames.${c.language}`)],
    ['', h('span', { class: `badge ${c.is_verified ? 'badge-ok' : 'badge-warn'}`, text: t(c.is_verified ? 'verified' : 'unverified') })],
    ...arr(c.identifiers).map((i) => [i.kind, i.value]),
    [t('riskFlags'), arr(c.risk_flags).length ? h('span', { class: 'badge badge-risk', text: arr(c.risk_flags).join(', ') }) : null],
  ])));
  parts.push(section(t('handoffReason'), kv([
    [t('priorityLabel'), h('span', {}, h('span', { class: `prio prio-${ctx.priority}`, text: t('priority', { n: ctx.priority }) }), ' ',
      h('span', { text: t(`reasons.${ctx.reason}`) }))],
    ['', ctx.reason_detail],
    [t('topic'), ctx.topic],
    [t('sentiment'), ctx.sentiment_trend ? h('span', { class: `trend trend-${ctx.sentiment_trend}`, text: t(`trends.${ctx.sentiment_trend}`) }) : null],
  ])));
  if (arr(ctx.intents).length) {
    parts.push(section(t('intents'), h('div', { class: 'tags' }, arr(ctx.intents).map((i) => h('span', { class: 'tag', text: i.intent })))));
  }
  if (arr(ctx.slots).length || arr(ctx.flows).length) {
    parts.push(section(t('slots'),
      arr(ctx.slots).length ? kv(arr(ctx.slots).map((s) => [s.flow ? `${s.name} · ${s.flow}` : s.name, s.value])) : null,
      arr(ctx.flows).map((f) => h('p', { class: 'flow' }, h('strong', { text: f.flow }), ' ',
        h('span', { class: `badge flow-${f.status}`, text: t(`flowStatus.${f.status}`) }),
        f.step ? h('span', { class: 'muted', text: ` · ${f.step}` }) : null, f.detail ? h('span', { class: 'muted', text: ` · ${f.detail}` }) : null))));
  }
  if (arr(ctx.actions).length) {
    parts.push(section(t('actions'), h('ul', { class: 'cf-list' }, arr(ctx.actions).map((a) => h('li', { class: a.ok === false ? 'bad' : 'ok' },
      h('strong', { text: a.name }), h('span', { text: ` ${a.result}` }), h('span', { class: 'muted', text: ` · ${time(a.at, t)}` }))))));
  }
  if (arr(ctx.transactions).length) {
    parts.push(section(t('transactions'), h('table', { class: 'cf-table' }, h('tbody', {}, arr(ctx.transactions).map((x) => h('tr', {},
      h('td', { text: x.posted_on }), h('td', { text: x.merchant }), h('td', { class: 'num', text: `¥${x.amount}` }),
      h('td', { class: 'muted', text: x.note || '' })))))));
  }
  if (arr(ctx.articles).length) {
    parts.push(section(t('articles'), h('ul', { class: 'cf-list' }, arr(ctx.articles).map((a) => {
      const href = safeHref(a.url);
      return h('li', {}, href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: a.title || a.id }) : h('span', { text: a.title || a.id }),
        h('span', { class: 'muted', text: ` · ${a.id}` }));
    }))));
  }
  if (arr(ctx.next_steps).length) {
    parts.push(section(t('nextSteps'), h('ol', { class: 'cf-list' },
      arr(ctx.next_steps).map((s) => h('li', { text: (t.locale === 'en-US' ? s.en : s.zh) || s.zh || s.en || '' })))));
  }
  const transcript = arr(ctx.transcript);
  if (transcript.length) {
    parts.push(h('details', { class: 'cf-section cf-transcript' }, h('summary', { text: `${t('transcript')} (${transcript.length})` }),
      h('ol', {}, transcript.map((e) => h('li', { class: `tr-${e.role}` },
        h('span', { class: 'tr-who', text: `${t(`roles.${e.role}`)}${e.author ? ` ${e.author}` : ''}` }),
        h('span', { class: 'muted', text: ` ${time(e.at, t)}` }), h('p', { text: e.text }))))));
  }
  return h('div', { class: 'cf' }, parts);
}
