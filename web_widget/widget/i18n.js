// The customer widget's own texts (zh-CN, en-US; tables in ./locales/), lookups and formatting.
// DOM-free. What the assistant says comes from the server, never from here.

/** The supported locale closest to `raw` (zh* → zh-CN, anything else → en-US; default zh-CN). */
export function pickLocale(raw) {
  if (typeof raw !== 'string' || !raw) return 'zh-CN';
  return raw.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en-US';
}

/** Fill `{name}` placeholders; unknown placeholders stay as written. */
export function format(template, params = {}) {
  return String(template).replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/** The string table of `locale` (a module per locale, so a page downloads only its own). */
export async function loadStrings(locale) {
  return (await import(`./locales/${pickLocale(locale)}.js`)).default;
}

/** A translator over a string table: t('key', params) or t('errors.rate_limited'). */
export function translator(locale, table) {
  const t = (key, params) => {
    const value = key.split('.').reduce((obj, k) => (obj == null ? undefined : obj[k]), table);
    return value === undefined ? key : typeof value === 'string' ? format(value, params) : value;
  };
  t.locale = pickLocale(locale);
  return t;
}

/** "about 2 minutes" from seconds. */
export function etaText(t, seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return null;
  if (seconds < 60) return t('etaLessMinute');
  return t('etaMinutes', { n: Math.round(seconds / 60) });
}

/** The polite text for an error code from the server. */
export function errorText(t, code) {
  const text = t(`errors.${code}`);
  return text === `errors.${code}` ? t('errors.generic') : text;
}
