/* Mermaid (3.6 MB, ~1 MB gzipped) is fetched only when a diagram comes near the screen, so a
   page's text shows and works without waiting for it. handbook/hooks/weight.py adds this file,
   deferred, to the pages that draw a diagram, with the kit's own copy of Mermaid in data-src.

   Material draws diagrams by calling window.mermaid.initialize() and .render() (and fetches
   Mermaid from a CDN if window.mermaid is missing, which the kit must never need). Until the
   real Mermaid is loaded, window.mermaid is this stand-in: it keeps Material's settings and
   holds each render until a diagram is within a screen of the viewport; then it loads Mermaid
   (which replaces window.mermaid), applies the settings, and renders. */
(function () {
  "use strict";
  var src = document.currentScript.getAttribute("data-src");
  var settings = null;
  var loading = null;

  function load() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () {
          if (settings) window.mermaid.initialize(settings);
          resolve(window.mermaid);
        };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  var near = new Promise(function (resolve) {
    var diagrams = document.querySelectorAll("pre.mermaid");
    if (!("IntersectionObserver" in window) || diagrams.length === 0) return resolve();
    var observer = new IntersectionObserver(
      function (entries) {
        if (entries.some(function (entry) { return entry.isIntersecting; })) {
          observer.disconnect();
          resolve();
        }
      },
      { rootMargin: "100% 0px 100% 0px" }
    );
    diagrams.forEach(function (diagram) { observer.observe(diagram); });
  });

  window.mermaid = {
    initialize: function (options) { settings = options; },
    render: function (id, text, container) {
      return near.then(load).then(function (mermaid) { return mermaid.render(id, text, container); });
    },
  };
})();
