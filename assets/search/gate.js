/* Material asks for the search index (1.5 MB, 260 KB gzipped) as every page loads. Most readers
   never search, and on a phone that download competes with the page itself, so the request is
   held until the reader opens search: focuses the search box, taps the search icon, or arrives
   from a search result (?q= or ?h= in the address). handbook/hooks/search.py puts this script
   inline at the top of every page, before Material's bundle sends the request. */
(function () {
  "use strict";
  var INDEX = /\/search\/search_index\.json(?:[?#]|$)/;
  var held = [];
  var opened = /[?&][qh]=/.test(location.search);
  var open = XMLHttpRequest.prototype.open;
  var send = XMLHttpRequest.prototype.send;

  XMLHttpRequest.prototype.open = function (method, url) {
    this.qunbookIndex = INDEX.test(String(url));
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    var request = this;
    var args = arguments;
    if (opened || !request.qunbookIndex) return send.apply(request, args);
    held.push(function () { send.apply(request, args); });
  };

  function release() {
    if (opened) return;
    opened = true;
    held.splice(0).forEach(function (go) { go(); });
  }
  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target && target.getAttribute && target.getAttribute("data-md-component") === "search-query") release();
  });
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "__search" && event.target.checked) release();
  });
})();
