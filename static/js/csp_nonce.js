// xterm.js makes <style> elements at run time. The Content-Security-Policy admits no inline style but
// those carrying this response's nonce (style-src 'nonce-…'); scripts from this site stamp it on every
// <style> they create. Markup injected into a page still cannot style it: it never learns the nonce.
(function () {
  const meta = document.querySelector('meta[name="csp-nonce"]');
  const nonce = meta && meta.content;
  if (!nonce) return;
  const createElement = Document.prototype.createElement;
  Document.prototype.createElement = function (name, options) {
    const element = createElement.call(this, name, options);
    if (String(name).toLowerCase() === 'style') element.nonce = nonce;
    return element;
  };
})();
