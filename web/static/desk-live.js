/* eiso: the live queue of the officer's desk (progressive enhancement: without it, a reload
   shows the same). Listens to the desk's server-sent events (web/live.py) and, after each
   dossier event, fetches this same page (its filters kept) and swaps in the parts marked
   data-live. The texts come from the page (translated on the server). No dependency. */
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  if (!status || !window.EventSource || !window.fetch || !window.DOMParser) return;
  var MAX_REFRESHES = 500; // then the page stops listening (a reload starts again)
  var refreshes = 0, timer = null, busy = false, again = false;
  var source = new EventSource(status.getAttribute("data-events"));

  function say(key) {
    status.textContent = status.getAttribute("data-" + key) || "";
  }
  function stop() {
    source.close();
    clearTimeout(timer);
    say("off");
  }
  function swap(html) {
    var next = new DOMParser().parseFromString(html, "text/html");
    var focused = document.activeElement && document.activeElement.getAttribute("href");
    var parts = document.querySelectorAll("[data-live]");
    for (var i = 0; i < parts.length; i++) {
      var fresh = next.getElementById(parts[i].id);
      if (fresh) parts[i].replaceWith(document.importNode(fresh, true));
    }
    if (focused) { // keep the keyboard where it was when that link is still there
      var same = document.querySelector('[data-live] a[href="' + CSS.escape(focused) + '"]');
      if (same) same.focus();
    }
  }
  function refresh() {
    if (busy) { again = true; return; }
    if (++refreshes > MAX_REFRESHES) { stop(); return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", redirect: "manual" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) { swap(html); say("updated"); })
      .catch(function () { stop(); })
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250); // a burst of events, one refresh
  }
  source.addEventListener("open", function () { say("on"); });
  source.addEventListener("dossier", schedule);
  source.addEventListener("unavailable", stop);
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) stop();
  });
})();
