// The Andon board, live: the page as rendered by the service, then every committed event from /api/v1/events
// (after the seq the page was rendered at) patched into its tiles. No reload, no polling. Applying an event
// twice changes nothing, since the stream may repeat one the page was rendered with.
(() => {
  "use strict";
  const model = JSON.parse(document.getElementById("board-data").textContent);
  const token = new URLSearchParams(location.search).get("token");
  const STALE_AFTER_MS = 40000; // the stream sends a heartbeat every 15 s
  const MAX_CALLS_SHOWN = 3;
  const WORD = { green: "OK", yellow: "CALL", red: "STOP", blue: "MATERIAL" };
  const link = document.getElementById("link");
  let lastHeard = Date.now();

  const tileOf = (key) => (key ? document.querySelector(`.tile[data-key="${CSS.escape(key)}"]`) : null);
  const stationKey = (body) =>
    body.line && body.station ? `${body.line}/${body.station}` : model.subjects[body.subject || body.bin_id];

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function age(since) {
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }

  function setColour(tile, colour) {
    tile.classList.remove("green", "yellow", "red", "blue", "none");
    tile.classList.add(colour);
    tile.querySelector(".word").textContent = WORD[colour];
  }

  function setWip(tile, wip) {
    let box = tile.querySelector(".wip");
    const limit = Number(tile.dataset.limit) || 0;
    if (!box) {
      box = el("span", "wip");
      box.append(el("span", "label", "WIP"), " ", el("b", "wip-value"), limit ? ` / ${limit}` : "");
      const bar = el("span", "bar");
      bar.append(el("i"));
      box.append(bar);
      tile.querySelector(".head").append(box);
    }
    box.querySelector(".wip-value").textContent = wip;
    box.querySelector(".bar i").style.width = `${limit ? Math.min(100, Math.round((100 * wip) / limit)) : 0}%`;
  }

  function refreshMarks(tile) {
    const urgent = tile.querySelector(".call.urgent") !== null;
    const stockout = tile.querySelector(".call.stockout") !== null || tile.dataset.stockout === "true";
    const marks = tile.querySelector(".marks");
    const material = [...marks.children].some((m) => m.textContent === "MATERIAL CALL");
    marks.replaceChildren(
      ...[[stockout, "STOCKOUT"], [urgent, "URGENT"], [material, "MATERIAL CALL"]]
        .filter(([on]) => on).map(([, word]) => el("span", "mark", word)));
    const calls = [...tile.querySelectorAll(".calls li.call")];
    const summary = tile.querySelector(".summary");
    summary.replaceChildren();
    if (calls.length) {
      const oldest = calls.map((li) => li.dataset.since).sort()[0];
      summary.dataset.since = oldest;
      summary.append(`${calls.length} call${calls.length > 1 ? "s" : ""} · `, el("span", "age", age(oldest)));
    }
    calls.forEach((li, i) => { li.hidden = i >= MAX_CALLS_SHOWN; });
    tile.querySelector(".calls li.more")?.remove();
    if (calls.length > MAX_CALLS_SHOWN) {
      tile.querySelector(".calls").append(el("li", "more", `+${calls.length - MAX_CALLS_SHOWN} more calls`));
    }
  }

  function addCall(body) {
    const tile = tileOf(stationKey(body));
    if (!tile || tile.querySelector(`[data-signal="${CSS.escape(body.signal_id)}"]`)) return;
    const li = el("li", "call");
    li.classList.toggle("urgent", !!body.urgent);
    li.classList.toggle("stockout", !!body.stockout);
    li.dataset.signal = body.signal_id;
    li.dataset.since = body.ts;
    li.append(`${body.sku} · card ${body.card} · `, el("span", "age", age(body.ts)));
    tile.querySelector(".calls").append(li);
    refreshMarks(tile);
  }

  function changeCall(body, closed) {
    const li = document.querySelector(`.call[data-signal="${CSS.escape(body.signal_id)}"]`);
    if (!li) return;
    const tile = li.closest(".tile");
    if (closed) li.remove();
    else li.className = `call ${body.type.replace("signal_", "")}` +
      (li.classList.contains("urgent") ? " urgent" : "") + (li.classList.contains("stockout") ? " stockout" : "");
    refreshMarks(tile);
  }

  function alarmList(key) {
    const tile = tileOf(key);
    return tile ? tile.querySelector(".alarms") : document.getElementById("plant-alarms");
  }

  function raiseAlarm(subject, kind, since, detail, key) {
    const id = `${subject}|${kind}`;
    if (document.querySelector(`.alarm[data-alarm="${CSS.escape(id)}"]`)) return;
    const li = el("li", "alarm active", kind.replaceAll("_", " ") + " ");
    li.dataset.alarm = id;
    li.dataset.since = since;
    li.append(el("span", "age", age(since)), el("span", "detail", detail || ""));
    alarmList(key).append(li);
  }

  function alarmChanged(subject, kind, cleared) {
    const li = document.querySelector(`.alarm[data-alarm="${CSS.escape(`${subject}|${kind}`)}"]`);
    if (!li) return;
    if (cleared) li.remove();
    else li.className = "alarm acknowledged";
  }

  const handlers = {
    andon_changed: (b) => { const t = tileOf(`${b.line}/${b.station}`); if (t) setColour(t, b.colour); },
    wip_changed: (b) => { const t = tileOf(stationKey(b)); if (t) setWip(t, b.wip); },
    signal_released: addCall,
    signal_acknowledged: (b) => changeCall(b, false),
    signal_shipped: (b) => changeCall(b, false),
    signal_received: (b) => changeCall(b, true),
    signal_cancelled: (b) => changeCall(b, true),
    alarm_raised: (b) => raiseAlarm(b.subject, b.alarm_kind, b.ts, b.detail, stationKey(b)),
    alarm_acknowledged: (b) => alarmChanged(b.subject, b.alarm_kind, false),
    alarm_cleared: (b) => alarmChanged(b.subject, b.alarm_kind, true),
    sensor_stale: (b) => raiseAlarm(b.bin_id, "sensor_stale", b.ts, "", model.subjects[b.bin_id]),
    sensor_recovered: (b) => alarmChanged(b.bin_id, "sensor_stale", true),
  };

  function setLive(live) {
    link.classList.toggle("live", live);
    link.classList.toggle("stale", !live);
    link.querySelector(".text").textContent = live ? "LIVE" : "NOT LIVE · reconnecting";
    document.body.classList.toggle("stale", !live);
  }

  function connect() {
    const query = new URLSearchParams({ after: String(model.after), heartbeat: "true", type: model.event_types.join(",") });
    if (model.line) query.set("line", model.line);
    if (token) query.set("token", token);
    const stream = new EventSource(`/api/v1/events?${query}`);
    const heard = () => { lastHeard = Date.now(); setLive(true); };
    stream.onopen = heard;
    stream.onerror = () => setLive(false); // EventSource reconnects by itself, resuming after the last id
    stream.addEventListener("heartbeat", heard);
    for (const [type, handle] of Object.entries(handlers)) {
      stream.addEventListener(type, (message) => { heard(); handle(JSON.parse(message.data)); });
    }
    // Events the log no longer holds, or a replaced database: what the page shows can only be read anew.
    for (const type of ["gap", "reset"]) stream.addEventListener(type, () => location.reload());
  }

  // The most columns a line needs, chosen so that every tile fits the screen and is as large as it can be.
  function layout() {
    const lines = [...document.querySelectorAll(".line")];
    if (!lines.length || window.innerWidth <= 700) return;
    const main = document.getElementById("board");
    const counts = lines.map((line) => line.querySelectorAll(".tile").length);
    const chars = Math.max(...[...document.querySelectorAll(".tile")].map((t) => Number(t.style.getPropertyValue("--chars")) || 6));
    const width = main.clientWidth - 60, height = main.clientHeight;
    let best = { size: 0, cols: 1 };
    const gap = 0.006 * Math.min(innerWidth, innerHeight), frame = 0.03 * Math.min(innerWidth, innerHeight);
    for (let cols = 1; cols <= Math.max(...counts); cols++) {
      const rows = counts.reduce((sum, n) => sum + Math.ceil(n / cols), 0);
      // What decides readability: how large the longest station name can be, sized as andon.css sizes it
      // (40 % of the tile's height, or what its width holds), the tile less its gaps, padding and border.
      const inner = (extent, n) => (extent - (n - 1) * gap) / n - frame;
      const w = inner(width, cols), h = inner(height, rows);
      const size = w / h >= 2.5  // a wide tile puts the name beside the rest (andon.css)
        ? Math.min(0.62 * h, (0.58 * w) / (chars * 0.72)) : Math.min(0.4 * h, w / (chars * 0.72));
      if (size > best.size) best = { size, cols };
    }
    lines.forEach((line, i) => {
      line.style.setProperty("--rows", String(Math.ceil(counts[i] / best.cols)));
      line.querySelector(".tiles").style.setProperty("--cols", String(best.cols));
    });
  }

  function tick() {
    const now = new Date();
    document.getElementById("clock").textContent = now.toLocaleTimeString([], { hour12: false });
    for (const span of document.querySelectorAll("[data-since] .age")) {
      span.textContent = age(span.closest("[data-since]").dataset.since);
    }
    if (Date.now() - lastHeard > STALE_AFTER_MS) setLive(false);
  }

  document.querySelectorAll(".tile").forEach((tile) => refreshMarks(tile));
  window.addEventListener("resize", layout);
  layout();
  tick();
  setInterval(tick, 1000);
  connect();
})();
