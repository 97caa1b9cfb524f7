// surelabel labeling page: one item at a time, answers saved at once, progress polled live.
// Every piece of item text goes through textContent, never innerHTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const KEY = "surelabel.annotator";
  const choices = Array.from(document.querySelectorAll(".choice"));
  let annotator = localStorage.getItem(KEY) || "";
  let signedIn = false;    // an access link names the annotator: the server says who (status.you)
  let current = null;      // the item on screen
  let shownAt = 0;         // when it appeared (labeling time)
  let busy = false;        // a request is in flight: ignore keys
  let waiting = false;     // no item: a round runs, or the batch is held by others
  let seenRound = null;    // the round in the last status seen, and its auto-label count:
  let seenAuto = 0;        // a higher round shows "Round N: +X auto-labels"
  const STOP_REASONS = {   // the sentences for the stop codes (result.STOP_REASONS), should the server send none
    budget_spent: "the human-label budget is spent",
    pool_exhausted: "every pool item is labeled",
    validation_exhausted: "too few validation points are left to certify any more auto-labels",
    no_progress: "no round can make progress (a single class among the training labels and no budget left)",
  };

  async function api(path, payload) {
    const opts = payload === undefined ? {} : {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    };
    const resp = await fetch(path, opts);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = { ok: false, error: "The server sent no JSON (" + resp.status + ")." }; }
    if (!resp.ok || !data.ok) {
      const err = new Error(data.error || ("HTTP " + resp.status));
      err.status = resp.status;
      throw err;
    }
    return data;
  }

  function pct(v, digits) {
    return v === null || v === undefined ? "–" : (100 * v).toFixed(digits) + "%";
  }

  function stopReason(s) {
    if (s.stop_reason_text) return s.stop_reason_text;
    const code = s.stop_reason || "";
    return STOP_REASONS[code] || code.replace(/_/g, " ");
  }

  function roundNotice(s) {
    // a round (or several) completed since the last status: say what it auto-labeled
    if (seenRound !== null && s.round > seenRound) {
      const last = s.last_round;
      const added = s.round - seenRound === 1 && last && typeof last.n_auto_labeled === "number"
        ? last.n_auto_labeled : s.n_auto - seenAuto;
      const done = last && typeof last.round === "number" ? last.round : s.round - 1;
      const first = done - (s.round - seenRound - 1);
      const n = Math.max(0, added);
      const text = (first === done ? "Round " + done : "Rounds " + first + "–" + done) + ": +" + n
        + " auto-label" + (n === 1 ? "" : "s") + " (coverage " + pct(s.coverage, 1) + ")";
      const el = $("notice");
      el.textContent = text;
      el.hidden = false;
      document.body.dataset.notice = text;
    }
    seenRound = s.round;
    seenAuto = s.n_auto;
  }

  function showStatus(s) {
    roundNotice(s);
    $("round").textContent = String(s.round);
    $("given").textContent = String(s.human_labels.total);
    const size = s.pending_batches.reduce((n, b) => n + b.size, 0);
    const done = s.pending_batches.reduce((n, b) => n + b.answered, 0);
    $("batch").textContent = size ? done + " / " + size : "–";
    $("left").textContent = String(s.budget_left);
    $("coverage").textContent = pct(s.coverage, 1);
    $("bound").textContent = s.union_error_bound === null ? "–" : pct(s.union_error_bound, 2) + " ≤ " + pct(s.epsilon, 1);
    $("bar-fill").style.width = (100 * s.human_labels.total / Math.max(1, s.budget)).toFixed(1) + "%";
    const head = document.querySelector("#classes thead tr");
    if (s.guarantee === "per-class" && head.children.length === 4) {
      const th = document.createElement("th");
      th.textContent = "certified bound (this class)";
      head.insertBefore(th, head.lastElementChild);
    }
    const body = document.querySelector("#classes tbody");
    body.replaceChildren();
    for (const c of s.per_class) {
      const tr = document.createElement("tr");
      const iv = c.estimate_interval || [null, null];
      const est = c.estimate === null || c.estimate === undefined ? "–" : pct(c.estimate, 1) + " [" + pct(iv[0], 1) + ", " + pct(iv[1], 1) + "]";
      const cells = [c.class, c.threshold === null ? "–" : c.threshold.toFixed(3), est];
      if (s.guarantee === "per-class") cells.push(pct(c.certified_bound, 2));
      cells.push(String(c.auto_labeled));
      for (const v of cells) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    document.body.dataset.round = String(s.round);
    document.body.dataset.stepping = String(s.stepping);
    if (s.error) message("The last round could not run: " + s.error, "error");
  }

  async function refreshStatus() {
    try { showStatus(await api("api/status")); } catch (e) { /* the next poll retries */ }
  }

  function message(text, kind) {
    const m = $("message");
    m.textContent = text;
    m.className = "card message" + (kind ? " " + kind : "");
    m.hidden = !text;
  }

  function showItem(item) {
    current = item;
    shownAt = performance.now();
    $("task").hidden = false;
    $("item-id").textContent = item.id;
    $("item-kind").textContent = ({validation: "validation item", training: "training item",
      review: "review item", "spot-check": "spot-check item"})[item.kind] || (item.kind + " item");
    $("item-batch").textContent = String(item.batch);
    const text = $("item-text"), img = $("item-image"), fields = $("item-fields");
    text.hidden = img.hidden = fields.hidden = true;
    if (item.text !== undefined && item.text !== null) {
      text.textContent = item.text;
      text.hidden = false;
    } else if (item.image) {
      img.src = item.image;
      img.classList.remove("tiny");
      img.hidden = false;
    } else {
      const tb = fields.querySelector("tbody");
      tb.replaceChildren();
      for (const [k, v] of Object.entries(item.fields || {})) {
        const tr = document.createElement("tr");
        const a = document.createElement("td"), b = document.createElement("td");
        a.textContent = k;
        b.textContent = String(v);
        tr.append(a, b);
        tb.appendChild(tr);
      }
      fields.hidden = false;
    }
    for (const b of choices) b.classList.remove("chosen");
    document.body.dataset.item = item.id;
  }

  async function next() {
    busy = true;
    try {
      const data = await api("api/next", { annotator });
      if (data.item) {
        waiting = false;
        message("");
        showItem(data.item);
      } else {
        current = null;
        $("task").hidden = true;
        document.body.dataset.item = "";
        if (data.status) showStatus(data.status);
        if (data.reason === "stopped") {
          waiting = false;
          message("Done: the project has stopped: " + stopReason(data.status) + ". Thank you!", "done");
        } else {
          waiting = true;
          message(data.reason === "stepping"
            ? "This batch is complete. Running round " + data.status.round + " (training, certifying thresholds, auto-labeling)…"
            : "Nothing to label right now: the remaining items are with other people. Waiting…");
        }
      }
    } catch (e) {
      message(e.message, "error");
    } finally {
      busy = false;
    }
  }

  async function answer(label) {
    if (!current || busy) return;
    busy = true;
    const item = current;
    for (const b of choices) b.classList.toggle("chosen", b.dataset.label === label);
    try {
      await api("api/answer", {
        annotator, item_id: item.id, batch: item.batch, label,
        seconds: Math.round((performance.now() - shownAt) / 10) / 100,
      });
    } catch (e) {
      busy = false;
      message(e.message + (e.status === 409 ? " Moving on." : ""), e.status === 409 ? "" : "error");
      if (e.status !== 409) return;
    }
    busy = false;
    await next();
    refreshStatus();
  }

  async function skip() {
    if (!current || busy) return;
    busy = true;
    try { await api("api/skip", { annotator, item_id: current.id }); } catch (e) { message(e.message, "error"); }
    busy = false;
    await next();
  }

  async function undo() {
    if (busy) return;
    busy = true;
    try {
      const data = await api("api/undo", { annotator });
      message("Your last answer was taken back; answer it again.");
      showItem(data.item);
      refreshStatus();
    } catch (e) {
      message(e.message, "error");
    } finally {
      busy = false;
    }
  }

  function start() {
    $("name-form").hidden = true;
    $("who").hidden = false;
    $("who-name").textContent = annotator;
    $("who-change").hidden = signedIn;
    next();
  }

  $("name-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = $("name-input").value.trim();
    if (!v) return;
    annotator = v;
    localStorage.setItem(KEY, v);
    start();
  });
  $("who-change").addEventListener("click", () => {
    $("task").hidden = true;
    $("name-form").hidden = false;
    $("name-input").value = annotator;
    $("name-input").focus();
  });
  for (const b of choices) b.addEventListener("click", () => answer(b.dataset.label));
  $("item-image").addEventListener("load", (ev) => {
    const img = ev.target;  // small images are scaled up: keep their pixels sharp
    img.classList.toggle("tiny", img.naturalWidth > 0 && img.naturalWidth < 160);
  });
  $("skip").addEventListener("click", skip);
  $("undo").addEventListener("click", undo);

  document.addEventListener("keydown", (ev) => {
    if (ev.target instanceof HTMLInputElement || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    const chosen = choices.find((b) => b.dataset.key && b.dataset.key === key);
    if (chosen) {
      ev.preventDefault(); answer(chosen.dataset.label);
    } else if (ev.key === "s" || ev.key === "S") {
      ev.preventDefault(); skip();
    } else if (ev.key === "u" || ev.key === "U") {
      ev.preventDefault(); undo();
    }
  });

  // live progress; and while waiting for a round (or for others), look for the next item
  setInterval(async () => {
    await refreshStatus();
    if (waiting && !busy && annotator) next();
  }, 1000);

  function begin() {
    if (annotator) start();
    else { $("name-form").hidden = false; $("name-input").focus(); }
  }

  api("api/status").then((s) => {
    showStatus(s);
    if (s.you) { annotator = s.you; signedIn = true; }
    begin();
  }).catch((e) => {
    if (e.status === 401) message(e.message, "error");
    else begin();
  });
})();
