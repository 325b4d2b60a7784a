// The widget's module entry: registers <cardcare-chat> and implements CardCare.mount().
// Loaded by the one-tag loader (cardcare.js) from a content-hashed URL.

import { CardCareChat } from './chat.js';
import { loadStrings, pickLocale } from './i18n.js';

const TAG = 'cardcare-chat';

/** The /ws/chat URL on the server that served the widget (http → ws, https → wss). */
export function socketUrl(scriptSrc, server) {
  const url = new URL(server || '/ws/chat', scriptSrc);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  return url.href;
}

/**
 * @param {string} base       the hashed asset base, e.g. https://host/widget/<hash>/
 * @param {string} scriptSrc  the loader's URL (its origin is where the chat socket is)
 */
export function install(base, scriptSrc) {
  if (!customElements.get(TAG)) customElements.define(TAG, CardCareChat);
  return {
    /**
     * Mount the widget into `target` (default: document.body). Resolves to a controller.
     * options: tokenEndpoint (required unless `tokens` is given), customerId, locale ('zh-CN' | 'en-US'),
     * server (socket URL or path), storage ('session' | 'local' | 'none'), open, fresh.
     */
    async mount(target, options = {}) {
      const locale = pickLocale(options.locale || document.documentElement.lang);
      const strings = await loadStrings(locale);
      const el = document.createElement(TAG);
      el.options = {
        ...options,
        locale,
        strings,
        tokenEndpoint: options.tokenEndpoint ? new URL(options.tokenEndpoint, document.baseURI).href : undefined,
        server: socketUrl(scriptSrc, options.server),
        cssHref: new URL('widget/widget.css', base).href,
      };
      if (!el.options.tokenEndpoint && !options.tokens) throw new TypeError('CardCare.mount needs a tokenEndpoint');
      (target || document.body).append(el);
      return {
        element: el,
        open: () => el.open(),
        close: () => el.close(),
        send: (text) => el.send(text),
        destroy: () => el.remove(),
      };
    },
  };
}
