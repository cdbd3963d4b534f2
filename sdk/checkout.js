/*!
 * Paygate Checkout SDK - one file, no dependencies, no build step.
 *
 *   <script src="https://<your checkout host>/checkout.js"></script>
 *   <script>
 *     var checkout = new PaymentGateway({
 *       key: 'key_test_abc123',          // your public API key (never the secret)
 *       orderId: 'order_...',            // created on YOUR server with POST /api/v1/orders
 *       onSuccess: function (data) {},  // {paymentId, orderId, status}: verify it server-side
 *       onFailure: function (data) {},  // {paymentId, error}
 *       onClose: function () {}         // the modal was closed (by the customer or after success)
 *     });
 *     checkout.open();
 *   </script>
 *
 * Usable as a global (window.PaymentGateway is the class itself), as CommonJS
 * (module.exports = PaymentGateway, which bundlers hand to `import PaymentGateway from ...`),
 * with AMD, and as an ES module side-effect import (`import './checkout.js'`, then
 * `window.PaymentGateway`). The checkout host defaults to the one this script was loaded from
 * (read from the <script> tag); when bundled or imported as a module there is no such tag, so
 * pass `checkoutUrl` (the checkout host's base URL, e.g. 'https://checkout.example.com').
 *
 * Messages from the checkout iframe are trusted only when they come from the checkout origin
 * AND from this modal's own iframe; everything else is ignored.
 */
(function (root, factory) {
  'use strict';
  var PaymentGateway = factory(root);
  if (typeof module === 'object' && module && typeof module.exports === 'object') {
    module.exports = PaymentGateway;
  } else if (typeof define === 'function' && define.amd) {
    define([], function () { return PaymentGateway; });
  }
  if (root) {
    root.PaymentGateway = PaymentGateway;
  }
})(typeof window !== 'undefined' ? window : (typeof globalThis !== 'undefined' ? globalThis : this), function (root) {
  'use strict';

  var MODAL_ID = 'payment-gateway-modal';
  var STYLE_ID = 'payment-gateway-styles';
  var VERSION = '1.0.0';

  // Where this script was loaded from, captured now: document.currentScript is only set while
  // the script first runs. The hosted checkout lives next to checkout.js.
  var scriptBase = (function () {
    if (!root || typeof root.document === 'undefined') {
      return null;
    }
    var script = root.document.currentScript;
    if (!script || !script.src) {
      var candidates = root.document.querySelectorAll('script[src*="checkout.js"]');
      script = candidates.length ? candidates[candidates.length - 1] : null;
    }
    if (!script || !script.src) {
      return null;
    }
    try {
      return new URL('./', script.src).href;
    } catch (e) {
      return null;
    }
  })();

  var CSS = [
    '#' + MODAL_ID + '{position:fixed;inset:0;z-index:2147483646;margin:0;padding:0;border:0;',
    'font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;}',
    '#' + MODAL_ID + ' .modal-overlay{position:absolute;inset:0;display:flex;align-items:center;',
    'justify-content:center;padding:24px;box-sizing:border-box;background:rgba(15,23,42,.62);',
    '-webkit-backdrop-filter:blur(2px);backdrop-filter:blur(2px);animation:pg-fade .18s ease-out;}',
    '#' + MODAL_ID + ' .modal-content{position:relative;box-sizing:border-box;width:440px;',
    'max-width:100%;height:650px;max-height:100%;background:#fff;border-radius:16px;',
    'box-shadow:0 24px 64px rgba(15,23,42,.35);overflow:visible;animation:pg-rise .22s ease-out;}',
    '#' + MODAL_ID + ' iframe{display:block;width:100%;height:100%;border:0;border-radius:16px;',
    'background:#fff;color-scheme:light;}',
    '#' + MODAL_ID + ' button[data-test-id="close-modal-button"]{position:absolute;top:-14px;',
    'right:-14px;width:36px;height:36px;margin:0;padding:0;border:0;border-radius:50%;',
    'background:#fff;color:#334155;font:400 24px/36px Arial,sans-serif;text-align:center;',
    'cursor:pointer;box-shadow:0 4px 14px rgba(15,23,42,.3);z-index:1;}',
    '#' + MODAL_ID + ' button[data-test-id="close-modal-button"]:hover{background:#f1f5f9;color:#0f172a;}',
    '#' + MODAL_ID + ' button[data-test-id="close-modal-button"]:focus-visible{outline:3px solid #6366f1;',
    'outline-offset:2px;}',
    '@media (max-width:520px),(max-height:560px){',
    '#' + MODAL_ID + ' .modal-overlay{padding:0;}',
    '#' + MODAL_ID + ' .modal-content{width:100%;height:100%;border-radius:0;box-shadow:none;}',
    '#' + MODAL_ID + ' iframe{border-radius:0;}',
    '#' + MODAL_ID + ' button[data-test-id="close-modal-button"]{top:10px;right:10px;width:32px;',
    'height:32px;font-size:22px;line-height:32px;background:rgba(255,255,255,.92);',
    'box-shadow:0 1px 6px rgba(15,23,42,.25);}',
    '}',
    '@keyframes pg-fade{from{opacity:0}to{opacity:1}}',
    '@keyframes pg-rise{from{transform:translateY(12px);opacity:.6}to{transform:none;opacity:1}}',
    '@media (prefers-reduced-motion:reduce){#' + MODAL_ID + ' .modal-overlay,#' + MODAL_ID +
      ' .modal-content{animation:none;}}'
  ].join('');

  var active = null; // the instance whose modal is open (one at a time)

  var sheet = null; // the constructed stylesheet, once adopted

  /** The modal's styles. A constructed stylesheet (adoptedStyleSheets) is not inline CSS, so
   *  it works on merchant pages whose CSP has no 'unsafe-inline' for styles; older browsers
   *  get a <style> element. */
  function injectStyles(doc) {
    var view = doc.defaultView || root;
    if (view.CSSStyleSheet && 'adoptedStyleSheets' in doc && 'replaceSync' in view.CSSStyleSheet.prototype) {
      if (sheet && doc.adoptedStyleSheets.indexOf(sheet) >= 0) {
        return;
      }
      sheet = new view.CSSStyleSheet();
      sheet.replaceSync(CSS);
      doc.adoptedStyleSheets = doc.adoptedStyleSheets.concat([sheet]);
      return;
    }
    if (doc.getElementById(STYLE_ID)) {
      return;
    }
    var style = doc.createElement('style');
    style.id = STYLE_ID;
    style.appendChild(doc.createTextNode(CSS));
    (doc.head || doc.documentElement).appendChild(style);
  }

  function resolveBase(checkoutUrl) {
    var base = checkoutUrl || scriptBase || (root.location && root.location.origin + '/');
    if (!base) {
      throw new Error('PaymentGateway: cannot tell the checkout URL; pass the checkoutUrl option');
    }
    var url = new URL(base, root.location && root.location.href);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new Error('PaymentGateway: checkoutUrl must be an http(s) URL');
    }
    // Accept the host's base URL, or by mistake the URL of checkout.js or of the page itself.
    url.pathname = url.pathname.replace(/\/(checkout\.js|checkout\.html|checkout)$/, '/');
    if (url.pathname.charAt(url.pathname.length - 1) !== '/') {
      url.pathname += '/';
    }
    url.search = '';
    url.hash = '';
    return url;
  }

  function callSafely(callback, arg) {
    if (typeof callback !== 'function') {
      return;
    }
    try {
      callback(arg);
    } catch (error) {
      // A merchant callback must not break the checkout; report it without swallowing it.
      setTimeout(function () { throw error; }, 0);
    }
  }

  /**
   * @param {{key: string, orderId: string, onSuccess?: Function, onFailure?: Function,
   *          onClose?: Function, checkoutUrl?: string}} options
   */
  function PaymentGateway(options) {
    if (!(this instanceof PaymentGateway)) {
      throw new TypeError('PaymentGateway must be called with new');
    }
    options = options || {};
    if (!options.key || typeof options.key !== 'string') {
      throw new Error('PaymentGateway: the "key" option is required');
    }
    if (!options.orderId || typeof options.orderId !== 'string') {
      throw new Error('PaymentGateway: the "orderId" option is required');
    }
    this.key = options.key;
    this.orderId = options.orderId;
    this.onSuccess = options.onSuccess;
    this.onFailure = options.onFailure;
    this.onClose = options.onClose;
    var base = resolveBase(options.checkoutUrl);
    this.checkoutOrigin = base.origin;
    var src = new URL('checkout', base);
    src.searchParams.set('order_id', this.orderId);
    src.searchParams.set('embedded', 'true');
    this.checkoutSrc = src.href;

    this._modal = null;
    this._iframe = null;
    this._lastFocus = null;
    this._bodyOverflow = '';
    this._onMessage = this._handleMessage.bind(this);
    this._onKeydown = this._handleKeydown.bind(this);
  }

  PaymentGateway.version = VERSION;

  PaymentGateway.prototype.isOpen = function () {
    return this._modal !== null;
  };

  PaymentGateway.prototype.open = function () {
    if (this._modal) {
      return this;
    }
    if (active && active !== this) {
      active.close();
    }
    var doc = root.document;
    injectStyles(doc);

    var modal = doc.createElement('div');
    modal.id = MODAL_ID;
    modal.setAttribute('data-test-id', 'payment-modal');
    modal.setAttribute('role', 'dialog');
    modal.setAttribute('aria-modal', 'true');
    modal.setAttribute('aria-label', 'Secure checkout');

    var overlay = doc.createElement('div');
    overlay.className = 'modal-overlay';

    var content = doc.createElement('div');
    content.className = 'modal-content';

    var iframe = doc.createElement('iframe');
    iframe.setAttribute('data-test-id', 'payment-iframe');
    iframe.setAttribute('title', 'Secure checkout');
    iframe.setAttribute('allow', 'payment');
    // The checkout learns which origin to answer from the referrer: always send the origin.
    iframe.setAttribute('referrerpolicy', 'origin');
    iframe.src = this.checkoutSrc;

    var close = doc.createElement('button');
    close.type = 'button';
    close.setAttribute('data-test-id', 'close-modal-button');
    close.setAttribute('aria-label', 'Close checkout');
    close.innerHTML = '&times;';
    var self = this;
    close.addEventListener('click', function () { self.close(); });

    content.appendChild(iframe);
    content.appendChild(close);
    overlay.appendChild(content);
    modal.appendChild(overlay);

    this._lastFocus = doc.activeElement;
    this._bodyOverflow = doc.body.style.overflow;
    doc.body.style.overflow = 'hidden';
    doc.body.appendChild(modal);

    this._modal = modal;
    this._iframe = iframe;
    active = this;
    root.addEventListener('message', this._onMessage);
    doc.addEventListener('keydown', this._onKeydown);
    try {
      iframe.focus();
    } catch (e) { /* focus is best effort */ }
    return this;
  };

  PaymentGateway.prototype.close = function () {
    if (!this._modal) {
      return this;
    }
    var doc = root.document;
    root.removeEventListener('message', this._onMessage);
    doc.removeEventListener('keydown', this._onKeydown);
    if (this._modal.parentNode) {
      this._modal.parentNode.removeChild(this._modal);
    }
    doc.body.style.overflow = this._bodyOverflow;
    this._modal = null;
    this._iframe = null;
    if (active === this) {
      active = null;
    }
    if (this._lastFocus && typeof this._lastFocus.focus === 'function') {
      try {
        this._lastFocus.focus();
      } catch (e) { /* the element may be gone */ }
    }
    this._lastFocus = null;
    callSafely(this.onClose);
    return this;
  };

  PaymentGateway.prototype._handleKeydown = function (event) {
    if (event.key === 'Escape' || event.key === 'Esc') {
      this.close();
    }
  };

  PaymentGateway.prototype._handleMessage = function (event) {
    // Only the checkout origin, and only this modal's own iframe, may talk to us.
    if (!this._iframe || event.origin !== this.checkoutOrigin ||
        event.source !== this._iframe.contentWindow) {
      return;
    }
    var message = event.data;
    if (!message || typeof message !== 'object' || typeof message.type !== 'string') {
      return;
    }
    var data = message.data && typeof message.data === 'object' ? message.data : {};
    switch (message.type) {
      case 'payment_success':
        callSafely(this.onSuccess, data);
        this.close();
        break;
      case 'payment_failed':
        callSafely(this.onFailure, data);
        break;
      case 'close_modal':
        this.close();
        break;
      default:
        break;
    }
  };

  return PaymentGateway;
});
