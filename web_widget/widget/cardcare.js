/*! cardcare chat widget loader — embed with one tag:
 * <script src="https://<cardcare-host>/widget/cardcare.js" data-token-endpoint="/api/token"
 *         data-customer-id="C001" data-locale="zh-CN" defer></script>
 * Attributes and the JavaScript API (window.CardCare.mount) are described in web_widget/README.md.
 * The server replaces __CARDCARE_VERSION__ with the content hash of the widget's files, so the
 * modules below are cached for good and a new release is picked up on the next page load.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || (window.CardCare && window.CardCare.version)) return;
  var version = '__CARDCARE_VERSION__';
  var base = new URL(version + '/', script.src).href;
  var ready = import(base + 'widget/main.js').then(function (m) {
    return m.install(base, script.src);
  });
  var api = {
    version: version,
    ready: ready,
    mount: function (target, options) {
      return ready.then(function (widget) {
        return widget.mount(target, options);
      });
    },
  };
  window.CardCare = api;
  var d = script.dataset;
  if (d.tokenEndpoint && d.autoMount !== 'false') {
    ready.then(function (widget) {
      var target = d.container ? document.querySelector(d.container) : null;
      return widget.mount(target, {
        tokenEndpoint: d.tokenEndpoint,
        customerId: d.customerId || undefined,
        locale: d.locale,
        server: d.server || undefined,
        storage: d.storage || undefined,
        open: d.open === 'true',
      });
    }).then(function (controller) {
      api.current = controller;
      document.dispatchEvent(new CustomEvent('cardcare:mounted', { detail: controller }));
    });
  }
})();
