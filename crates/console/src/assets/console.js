// fjord console: the one hand-written script. Live throughput charts (SVG drawn here), the
// messages live tail, delete confirmations and table filters. Everything it inserts into the
// page goes through textContent or setAttribute, never innerHTML, so message contents and
// topic names cannot become markup.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function human(n, unit) {
  const steps = unit === "B/s" ? ["B/s", "KiB/s", "MiB/s", "GiB/s"] : ["/s", "k/s", "M/s", "G/s"];
  const base = unit === "B/s" ? 1024 : 1000;
  let i = 0;
  while (Math.abs(n) >= base && i < steps.length - 1) { n /= base; i++; }
  return (i === 0 ? n.toFixed(n < 10 ? 1 : 0) : n.toFixed(1)) + " " + steps[i];
}

// ---- dashboard: msg/s and bytes/s, in and out -------------------------------------------
function startCharts(section) {
  const source = section.dataset.source;
  const samples = [];
  const keep = 90;
  let last = null;
  async function poll() {
    try {
      const r = await fetch(source, { headers: { accept: "application/json" } });
      if (!r.ok) return;
      const now = await r.json();
      if (last && now.time_ms > last.time_ms) {
        const dt = (now.time_ms - last.time_ms) / 1000;
        samples.push({
          messages_in: (now.messages_in - last.messages_in) / dt,
          messages_out: (now.messages_out - last.messages_out) / dt,
          bytes_in: (now.bytes_in - last.bytes_in) / dt,
          bytes_out: (now.bytes_out - last.bytes_out) / dt,
        });
        if (samples.length > keep) samples.shift();
        draw("messages", "/s");
        draw("bytes", "B/s");
      }
      last = now;
    } catch (e) { /* the broker may be restarting; keep polling */ }
  }
  function draw(kind, unit) {
    const svg = section.querySelector(`svg[data-chart="${kind}"]`);
    const label = section.querySelector(`[data-now="${kind}"]`);
    if (!svg) return;
    const w = 600, h = 160, pad = 18;
    const ins = samples.map(s => s[kind + "_in"]);
    const outs = samples.map(s => s[kind + "_out"]);
    const max = Math.max(1, ...ins, ...outs);
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    for (const f of [0, 0.5, 1]) {
      const y = pad + (h - 2 * pad) * (1 - f);
      svg.appendChild(el("svg:line", { x1: 0, x2: w, y1: y, y2: y, class: "grid" }));
      svg.appendChild(el("svg:text", { x: 4, y: y - 3 }, human(max * f, unit)));
    }
    const line = (values, cls) => {
      const pts = values.map((v, i) => {
        const x = w - (values.length - 1 - i) * (w / (keep - 1));
        const y = pad + (h - 2 * pad) * (1 - v / max);
        return x.toFixed(1) + "," + y.toFixed(1);
      });
      svg.appendChild(el("svg:polyline", { points: pts.join(" "), class: cls }));
    };
    line(ins, "in");
    line(outs, "out");
    if (label && samples.length) {
      const s = samples[samples.length - 1];
      label.textContent = `in ${human(s[kind + "_in"], unit)} · out ${human(s[kind + "_out"], unit)}`;
    }
  }
  poll();
  setInterval(poll, 2000);
}

// ---- messages: live tail ---------------------------------------------------------------
function renderValue(cell, r, link) {
  if (!r) { cell.appendChild(el("i", { class: "null" }, "null")); return; }
  cell.appendChild(el("pre", { class: r.format }, r.text));
  if (r.truncated) cell.appendChild(el("a", { class: "more", href: link }, ` show all ${r.size} bytes`));
}

function utc(ms) {
  return ms < 0 ? "—" : new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC");
}

function messageRow(topicPath, m) {
  const link = `/topics/${topicPath}/messages/${m.partition}/${m.offset}`;
  const tr = el("tr", { class: "new" });
  tr.appendChild(el("td", {}, String(m.partition)));
  const off = el("td");
  off.appendChild(el("a", { href: link }, String(m.offset)));
  tr.appendChild(off);
  tr.appendChild(el("td", { title: String(m.timestamp) }, utc(m.timestamp)));
  const key = el("td"); renderValue(key, m.key, link); tr.appendChild(key);
  const value = el("td"); renderValue(value, m.value, link); tr.appendChild(value);
  const headers = el("td");
  for (const h of m.headers) {
    const d = el("div");
    d.appendChild(el("b", {}, h.key));
    d.appendChild(document.createTextNode(": "));
    renderValue(d, h.value, link);
    headers.appendChild(d);
  }
  tr.appendChild(headers);
  return tr;
}

function startTail(button) {
  const tbody = document.querySelector("#messages tbody");
  const count = document.getElementById("count");
  let positions = button.dataset.positions || "";
  let timer = null;
  async function poll() {
    const params = new URLSearchParams({ limit: "200" });
    if (positions) params.set("positions", positions);
    if (button.dataset.partition) params.set("partition", button.dataset.partition);
    if (button.dataset.q) params.set("q", button.dataset.q);
    try {
      const r = await fetch(`${button.dataset.api}?${params}`, { headers: { accept: "application/json" } });
      if (!r.ok) return;
      const result = await r.json();
      for (const m of result.messages) tbody.appendChild(messageRow(button.dataset.topic, m));
      while (tbody.rows.length > 1000) tbody.deleteRow(0);
      if (count) count.textContent = String(tbody.rows.length);
      positions = Object.entries(result.next_offsets).map(([p, o]) => `${p}:${o}`).join(",");
    } catch (e) { /* keep polling */ }
  }
  button.addEventListener("click", () => {
    if (timer) {
      clearInterval(timer); timer = null;
      button.classList.remove("active"); button.textContent = "Live tail";
    } else {
      poll(); timer = setInterval(poll, 1000);
      button.classList.add("active"); button.textContent = "Stop tail";
    }
  });
}

// ---- small behaviours ----------------------------------------------------------------
document.addEventListener("DOMContentLoaded", () => {
  const charts = document.getElementById("throughput");
  if (charts) startCharts(charts);
  const tail = document.getElementById("tail");
  if (tail) startTail(tail);
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", ev => { if (!confirm(form.dataset.confirm)) ev.preventDefault(); });
  }
  for (const input of document.querySelectorAll("input.filter")) {
    const table = document.getElementById(input.dataset.filter);
    input.addEventListener("input", () => {
      const needle = input.value.toLowerCase();
      for (const row of table.tBodies[0].rows) row.hidden = !row.textContent.toLowerCase().includes(needle);
    });
  }
});
