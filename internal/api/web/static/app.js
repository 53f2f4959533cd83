// edgeagent dashboard: live fragments over Server-Sent Events, actions with
// the session's CSRF token, and the station screen.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";

  function toast(text, bad) {
    var box = document.getElementById("toast");
    var p = document.createElement("p");
    p.textContent = text;
    if (bad) p.className = "bad";
    box.appendChild(p);
    setTimeout(function () { p.remove(); }, 6000);
  }

  // Live pages: the server sends the page's fragment whenever it changes.
  var live = document.getElementById("live");
  if (live) {
    var es = new EventSource("/ui/live?page=" + encodeURIComponent(live.dataset.page));
    es.addEventListener("fragment", function (e) {
      // Keep what someone is typing into a form.
      var a = document.activeElement;
      if (a && live.contains(a) && a.tagName === "INPUT" && a.value) return;
      live.innerHTML = e.data;
    });
  }

  // follow watches an outbox item after a retry and says what became of it:
  // delivered, refused again (with the cloud's words), or not reached yet.
  function follow(url, until) {
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
      .then(function (res) {
        var it = res[1];
        if (!res[0]) { toast(it.error || "The item cannot be read.", true); return; }
        if (it.state === "delivered") { toast("Item " + it.id + " delivered to the cloud.", false); return; }
        if (it.state === "parked") { toast("Item " + it.id + " refused again: " + (it.last_error || "no reason given"), true); return; }
        if (it.attempts > 0 && it.last_error) {
          toast("Item " + it.id + " not delivered yet: " + it.last_error + ". It goes again by itself.", true);
          return;
        }
        if (Date.now() > until) { toast("Item " + it.id + " is still waiting to be sent.", false); return; }
        setTimeout(function () { follow(url, until); }, 500);
      })
      .catch(function (err) { toast("The agent did not answer: " + err, true); });
  }

  // Actions: forms with data-api post JSON with the CSRF token.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.dataset || !f.dataset.api) return;
    e.preventDefault();
    if (f.dataset.confirm && !window.confirm(f.dataset.confirm)) return;
    if (!csrf) { window.location = "/login?next=" + encodeURIComponent(location.pathname); return; }
    var body = {};
    new FormData(f).forEach(function (v, k) {
      v = v === "true" ? true : v === "false" ? false : v;
      var dot = k.indexOf(".");
      if (dot < 0) { body[k] = v; return; }
      var outer = k.slice(0, dot); // e.g. signature.password
      body[outer] = body[outer] || {};
      body[outer][k.slice(dot + 1)] = v;
    });
    fetch(f.dataset.api, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
      .then(function (res) {
        if (res[0] && f.dataset.show === "badge" && res[1].badge) {
          // A new badge is shown once: its code and a picture to print.
          var w = window.open("", "_blank");
          if (w) w.document.write('<title>Badge</title><p>' + res[1].badge.replace(/[<>&]/g, "") + '</p>' +
            (res[1].png ? '<img alt="badge" src="data:image/png;base64,' + res[1].png + '">' : '') + '<p><button onclick="print()">Print</button></p>');
          toast("New badge made: print it now, it is shown once.", false);
        } else if (res[0] && f.dataset.follow) {
          toast("Sent again; waiting for the cloud's answer…", false);
          follow(f.dataset.follow, Date.now() + 30000);
        } else if (res[0] && f.dataset.go) { window.location = f.dataset.go; }
        else if (res[0]) { toast("Done.", false); if (f.dataset.reload) window.location.reload(); }
        else toast(res[1].error || res[1].message || "Refused.", true);
      })
      .catch(function (err) { toast("The agent did not answer: " + err, true); });
  });

  // A report that prints (a reconciliation on A4).
  document.addEventListener("click", function (e) {
    if (e.target && e.target.dataset && e.target.dataset.print !== undefined) window.print();
  });

  // The station screen.
  var station = document.querySelector(".station");
  if (!station) return;
  var name = station.dataset.station;
  var verdict = document.getElementById("verdict");
  var text = document.getElementById("verdict-text");
  var recent = document.getElementById("recent");
  var seen = {};
  var audio = null;

  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.type = "square"; o.frequency.value = 330; g.gain.value = 0.2;
      o.connect(g); g.connect(audio.destination); o.start(); o.stop(audio.currentTime + 0.45);
    } catch (err) { /* no sound device */ }
  }

  function show(v) {
    if (v.scan && seen[v.scan]) return;
    if (v.scan) seen[v.scan] = true;
    verdict.className = "verdict " + (v.ok ? "ok" : "bad");
    verdict.dataset.code = v.code;
    text.textContent = v.headline || v.message;
    document.getElementById("verdict-detail").textContent = v.headline ? v.message : "";
    if (v.mode) document.getElementById("mode").textContent = v.mode + (v.reason ? " · " + v.reason : "");
    if (v.mode) { // a verdict of the station (not a failure to reach it): its view of the container
      document.getElementById("container").textContent = v.container || "—";
      document.getElementById("count").textContent = v.container ? v.count + (v.capacity ? " / " + v.capacity : "") : "";
    }
    var li = document.createElement("li");
    li.className = v.ok ? "good" : "bad";
    li.textContent = (v.headline ? v.headline + ": " : "") + v.message;
    recent.insertBefore(li, recent.firstChild);
    while (recent.children.length > 12) recent.removeChild(recent.lastChild);
    if (!v.ok) beep();
  }

  // The verdict stream. When it drops (the agent restarts, the network
  // fails) the screen says so plainly, and the browser reconnects by
  // itself; a paired screen's credential outlives restarts.
  var liveState = document.getElementById("live-state");
  function connect() {
    var es2 = new EventSource("/api/v1/stations/" + encodeURIComponent(name) + "/events");
    es2.addEventListener("open", function () { liveState.hidden = true; document.body.dataset.live = "1"; });
    es2.addEventListener("verdict", function (e) { show(JSON.parse(e.data)); });
    es2.addEventListener("error", function () {
      liveState.hidden = false;
      document.body.dataset.live = "0";
      if (es2.readyState === EventSource.CLOSED) { es2.close(); setTimeout(connect, 2000); }
    });
  }
  connect();

  var form = document.getElementById("scan-form");
  if (!form) return;
  var input = document.getElementById("scan");
  // A wedge scanner types into whatever has focus: keep it here.
  setInterval(function () { if (document.activeElement !== input) input.focus({ preventScroll: true }); }, 1000);
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var data = input.value;
    input.value = "";
    if (!data) return;
    fetch("/api/v1/stations/" + encodeURIComponent(name) + "/scan", { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify({ data: data }) })
      .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
      .then(function (res) {
        if (res[0]) show(res[1]);
        else show({ ok: false, code: "not_recorded", headline: "Not recorded", message: res[1].error || "Scan not recorded: scan again", mode: "", count: 0 });
      })
      .catch(function () { show({ ok: false, code: "not_recorded", headline: "Not recorded", message: "The agent did not answer: scan again", mode: "", count: 0 }); });
  });
})();
