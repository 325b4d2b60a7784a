// Which URLs may become links: only https: (web pages) and app: (screens of the bank app).
// Anything else — javascript:, data:, http:, relative paths, URLs with credentials — stays text.

const ALLOWED = new Set(['https:', 'app:']);

/** The normalised href when `raw` is a safe link target, else null. */
export function safeHref(raw) {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) return null;
  // Control characters and spaces inside a URL are a classic way to smuggle a scheme past filters.
  if (/[\u0000-\u0020\u007f-\u009f\u2028\u2029]/.test(raw)) return null;
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (!ALLOWED.has(url.protocol)) return null;
  if (url.username || url.password) return null;
  if (url.protocol === 'https:' && !url.hostname) return null;
  return url.href;
}

/** True when the link opens inside the bank app rather than a browser tab. */
export function isAppLink(href) {
  return typeof href === 'string' && href.startsWith('app:');
}
