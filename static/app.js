// Small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("submit", (ev) => {
  // Buttons that destroy something ask first (data-confirm holds the translated question).
  const button = ev.submitter;
  const question = button && button.dataset ? button.dataset.confirm : null;
  if (question && !window.confirm(question)) {
    ev.preventDefault();
  }
});

// Entitlement form: "add a row" copies the last service-history row with the next index.
document.documentElement.classList.add("has-js");
document.addEventListener("click", (ev) => {
  const add = ev.target.closest ? ev.target.closest("#history-add") : null;
  if (!add) return;
  const rows = document.querySelectorAll("#history .history-row");
  const last = rows[rows.length - 1];
  if (!last) return;
  const next = Number(last.dataset.row) + 1;
  const copy = last.cloneNode(true);
  copy.dataset.row = String(next);
  copy.querySelectorAll("[name]").forEach((el) => {
    el.name = el.name.replace(/^history\[\d+\]/, "history[" + next + "]");
    if (el.type === "checkbox") el.checked = false;
    else if (el.tagName === "SELECT") el.selectedIndex = 0;
    else el.value = "";
  });
  copy.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; });
  last.after(copy);
});

// Imports: post the form with fetch and show the server's progress lines on a bar while a
// large file is checked and written; the answer ends with the result page, shown in place.
document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  if (ev.defaultPrevented || !form.matches || !form.matches("form[data-progress]")) return;
  if (!window.fetch || !window.TextDecoderStream) return;
  ev.preventDefault();
  const data = new FormData(form);
  if (ev.submitter && ev.submitter.name) data.append(ev.submitter.name, ev.submitter.value);
  const box = document.getElementById("import-progress");
  const phase = document.getElementById("import-phase");
  const count = document.getElementById("import-count");
  const bar = document.getElementById("import-bar");
  const failed = document.getElementById("import-failed");
  box.hidden = false;
  failed.hidden = true;
  form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  const fail = (message) => {
    failed.textContent = message;
    failed.hidden = false;
    form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
  };
  let res;
  try {
    // A control named "action" shadows form.action, so read the attribute.
    res = await fetch(form.getAttribute("action"), { method: "POST", body: new URLSearchParams(data), headers: { "x-import-progress": "1" } });
  } catch (e) {
    fail(String(e));
    return;
  }
  if (!res.body) { fail(res.statusText); return; }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let page = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let nl;
    while (!page && (nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === "page") {
        page = true;
      } else if (line.startsWith("progress ")) {
        const [, p, d, t] = line.split(" ");
        phase.textContent = phase.dataset[p] || p;
        count.textContent = Number(d).toLocaleString() + " / " + Number(t).toLocaleString();
        bar.max = Math.max(Number(t), 1);
        bar.value = Number(d);
      } else if (line.startsWith("error ")) {
        fail(line.slice(6));
      }
    }
  }
  if (page) {
    const doc = new DOMParser().parseFromString(buf, "text/html");
    document.title = doc.title;
    document.body.replaceWith(document.adoptNode(doc.body));
    window.scrollTo(0, 0);
  } else if (failed.hidden) {
    fail(res.statusText);
  }
});

// Signature pad: the customer signs with a finger or mouse; the drawing goes into the
// hidden input as a PNG data URL, which the server checks and stores with the report.
document.querySelectorAll("[data-signature]").forEach((box) => {
  const canvas = box.querySelector("canvas");
  const input = box.querySelector("input[type=hidden]");
  if (!canvas || !input) return;
  const ctx = canvas.getContext("2d");
  ctx.lineWidth = 3;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.strokeStyle = "#111";
  let drawing = false;
  let drawn = false;
  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * (canvas.width / r.width), (ev.clientY - r.top) * (canvas.height / r.height)];
  };
  canvas.addEventListener("pointerdown", (ev) => {
    drawing = true;
    try { canvas.setPointerCapture(ev.pointerId); } catch (e) { /* synthetic pointers cannot be captured */ }
    const [x, y] = at(ev);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 0.1, y + 0.1);
    ctx.stroke();
    drawn = true;
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drawing) return;
    const [x, y] = at(ev);
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    if (drawn) input.value = canvas.toDataURL("image/png");
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  const clear = box.querySelector("[data-signature-clear]");
  if (clear) clear.addEventListener("click", () => {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    input.value = "";
    drawn = false;
  });
});

// Certification self-assessment: the score and level follow the form as it is filled in,
// from the same rules the server saves with (POST /api/v1/certification/score); the
// "calculate" button does the same without this file.
(() => {
  const form = document.getElementById("cert-form");
  if (!form || !window.fetch) return;
  let timer = null;
  const update = async () => {
    const indicators = [];
    form.querySelectorAll("tr[data-code]").forEach((row) => {
      const code = row.dataset.code;
      const status = form.elements["status." + code];
      if (!status || !status.value) return;
      const fraction = form.elements["fraction." + code];
      const item = { code, points: Number(row.dataset.points), status: status.value };
      if (fraction && fraction.value !== "") item.fraction = Number(fraction.value);
      indicators.push(item);
    });
    const deductions = (form.elements.deductions ? form.elements.deductions.value : "")
      .split("\n").filter((l) => l.trim() !== "").length;
    const bonus = form.elements.bonus_reason && form.elements.bonus_reason.value.trim() !== "" ? 1 : 0;
    const body = { scheme: form.dataset.scheme, indicators, special_deductions: deductions, special_bonus: bonus };
    try {
      const res = await fetch("/api/v1/certification/score", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (!res.ok) return;
      const o = await res.json();
      const score = document.getElementById("cert-score");
      const level = document.getElementById("cert-level");
      if (score) score.textContent = String(o.score);
      const live = document.getElementById("cert-live");
      if (live) live.hidden = false;
      if (level) {
        level.dataset.level = o.level;
        level.textContent = form.getAttribute("data-level-" + o.level.replace(/_/g, "-")) || o.level;
        level.classList.toggle("ok", o.passed);
        level.classList.toggle("bad", !o.passed);
      }
    } catch (e) { /* offline: the calculate button still works */ }
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(update, 300); };
  form.addEventListener("change", later);
  form.addEventListener("input", later);
})();
