// RepurposeFlow's page: a thin client of the /v1 API. It holds no rules: counts and
// violations come from POST /v1/validate, so the page and the server never disagree.
"use strict";

const CONFIG = JSON.parse(document.getElementById("rf-config").textContent);
const PLATFORMS = ["tiktok", "twitter", "threads", "linkedin", "instagram", "email"];
const NAMES = {
  tiktok: "TikTok", twitter: "X", threads: "Threads",
  linkedin: "LinkedIn", instagram: "Instagram", email: "Email",
};
const LINKEDIN_FOLD = 210;
const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- talking to the API

// A host application that signs people in with Clerk provides the session token:
// either Clerk's own `window.Clerk` or a function `window.repurposeflowToken()`.
async function authHeaders() {
  if (CONFIG.devUser) return {};
  let token = null;
  if (typeof window.repurposeflowToken === "function") token = await window.repurposeflowToken();
  else if (window.Clerk && window.Clerk.session) token = await window.Clerk.session.getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

class Problem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, body, extra) {
  const headers = { Accept: "application/json", ...(await authHeaders()), ...(extra || {}) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new Problem(0, { detail: "The server can't be reached. Is `repurposeflow serve` running?" });
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Problem(response.status, data);
  return data;
}

function showProblem(err) {
  const box = $("notice");
  let text = err.message;
  if (err.status === 401) {
    text = `Please sign in. ${err.message}`;
  }
  box.textContent = text;
  box.hidden = false;
  box.dataset.code = (err.body && err.body.code) || "";
}

function clearProblem() {
  $("notice").hidden = true;
  $("notice").textContent = "";
}

function formatDate(iso) {
  return new Date(iso).toLocaleDateString(undefined, {
    year: "numeric", month: "long", day: "numeric", timeZone: "UTC",
  });
}

// Server-sent events read through fetch, so the Authorization header goes along
// (EventSource cannot send one).
async function* events(path) {
  const response = await fetch(path, { headers: { Accept: "text/event-stream", ...(await authHeaders()) } });
  if (!response.ok) throw new Problem(response.status, await response.json().catch(() => null));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

// ---------------------------------------------------------------- usage and history

async function loadUsage() {
  try {
    const u = await api("GET", "/v1/usage");
    const meter = $("usage-meter");
    meter.setAttribute("aria-valuemax", String(u.unlimited ? 1 : u.limit));
    meter.setAttribute("aria-valuenow", String(u.unlimited ? 0 : u.used));
    $("usage-bar").style.width = u.unlimited ? "0%" : `${Math.min(100, (100 * u.used) / u.limit)}%`;
    $("usage-text").textContent = u.unlimited
      ? `${u.tier} plan: ${u.used} used, unlimited · resets ${formatDate(u.resets_at)}`
      : `${u.used} of ${u.limit} used · ${u.remaining} left · resets ${formatDate(u.resets_at)}`;
    $("upgrade").hidden = u.tier === "business";
  } catch (err) {
    $("usage-text").textContent = err.status === 401 ? "Not signed in" : "Usage unavailable";
    if (err.status === 401) showProblem(err);
  }
}

let historyCursor = null;

function historyItem(gen) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.href = `/g/${gen.id}`;
  a.dataset.id = gen.id;
  const title = (gen.analysis && (gen.analysis.topic || gen.analysis.core_message)) || "Untitled";
  const when = new Date(gen.created_at).toLocaleString();
  a.innerHTML = "";
  const strong = document.createElement("span");
  strong.className = "h-title";
  strong.textContent = title.length > 60 ? `${title.slice(0, 57)}…` : title;
  const small = document.createElement("span");
  small.className = `h-meta status-${gen.status}`;
  small.textContent = `${when} · ${gen.status}`;
  a.append(strong, small);
  a.addEventListener("click", (e) => {
    e.preventDefault();
    history.pushState({}, "", a.href);
    openGeneration(gen.id);
  });
  li.append(a);
  return li;
}

async function loadHistory(more) {
  try {
    const query = new URLSearchParams({ limit: "10" });
    if (more && historyCursor) query.set("cursor", historyCursor);
    const page = await api("GET", `/v1/generations?${query}`);
    const list = $("history-list");
    if (!more) list.replaceChildren();
    for (const gen of page.items) list.append(historyItem(gen));
    historyCursor = page.next_cursor;
    $("history-more").hidden = !historyCursor;
    if (!list.children.length && !more) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "Nothing yet: your generations appear here.";
      list.append(li);
    }
  } catch (err) {
    if (err.status !== 401) showProblem(err);
  }
}

// ---------------------------------------------------------------- cards

let current = null; // the generation on screen

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (err) {
    // Older or locked-down browsers: a hidden textarea and execCommand.
    const area = el("textarea", { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  const label = button.textContent;
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = label; }, 1200);
}

// One editable text: a textarea (or input) bound to a path in the output, with its count.
function field(platform, path, value, opts) {
  const o = opts || {};
  const id = `f-${platform}-${path.replace(/\./g, "-")}`;
  const input = o.single
    ? el("input", { id, type: "text", value: value || "", "data-path": path })
    : el("textarea", { id, value: value || "", rows: o.rows || 3, "data-path": path });
  input.addEventListener("input", () => scheduleValidate(platform));
  const copy = el("button", { type: "button", class: "copy small secondary", textContent: "Copy" });
  copy.setAttribute("aria-label", `Copy ${o.label}`);
  copy.addEventListener("click", () => copyText(input.value, copy));
  const count = el("span", { class: "count", "data-count": path });
  count.setAttribute("aria-live", "polite");
  return el(
    "div", { class: "field" },
    el("div", { class: "field-head" }, el("label", { htmlFor: id, textContent: o.label }), count, copy),
    input,
  );
}

function tags(list) {
  return (list || []).join(" ");
}

function splitTags(text) {
  return text.split(/\s+/).filter(Boolean);
}

const RENDER = {
  twitter(out, body) {
    const list = el("ol", { class: "posts" });
    out.thread.forEach((post, i) => {
      list.append(el("li", {}, field("twitter", `thread.${i}`, post, { label: `Post ${i + 1}`, rows: 4 })));
    });
    body.append(list);
    if (out.hashtags && out.hashtags.length) body.append(el("p", { class: "tags", textContent: tags(out.hashtags) }));
  },
  threads(out, body) {
    const list = el("ol", { class: "posts" });
    out.posts.forEach((post, i) => {
      list.append(el("li", {}, field("threads", `posts.${i}`, post, { label: `Post ${i + 1}`, rows: 4 })));
    });
    body.append(list);
    if (out.topic_tag) body.append(el("p", { class: "tags", textContent: `Topic: ${out.topic_tag}` }));
  },
  linkedin(out, body) {
    body.append(field("linkedin", "post", out.post, { label: "Post", rows: 10 }));
    const preview = el("div", { class: "fold-preview", "data-fold": "linkedin" });
    body.append(el("p", { class: "muted small-text", textContent: "What shows before \u201csee more\u201d:" }), preview);
    body.append(el("p", { class: "tags", textContent: tags(out.hashtags) }));
    if (out.cta) body.append(el("p", { class: "muted", textContent: `First comment / CTA: ${out.cta}` }));
    updateFold(body);
  },
  instagram(out, body) {
    const slides = el("ol", { class: "slides" });
    (out.slides || []).forEach((slide, i) => {
      slides.append(el("li", {}, field("instagram", `slides.${i}`, slide, { label: `Slide ${i + 1}`, rows: 2 })));
    });
    body.append(slides);
    body.append(field("instagram", "caption", out.caption, { label: "Caption", rows: 5 }));
    body.append(field("instagram", "hashtags", tags(out.hashtags), { label: "Hashtags", single: true }));
  },
  email(out, body) {
    body.append(field("email", "subject", out.subject, { label: "Subject", single: true }));
    body.append(field("email", "preheader", out.preheader, { label: "Preheader", single: true }));
    body.append(field("email", "body_markdown", out.body_markdown, { label: "Body (Markdown)", rows: 10 }));
    body.append(field("email", "cta", out.cta, { label: "Call to action", single: true }));
  },
  tiktok(out, body) {
    const hooks = el("ol", { class: "posts" });
    out.hooks.forEach((hook, i) => {
      hooks.append(el("li", {}, field("tiktok", `hooks.${i}`, hook, { label: `Hook ${i + 1}`, rows: 2 })));
    });
    const points = el("ol", { class: "posts" });
    out.talking_points.forEach((point, i) => {
      points.append(el("li", {}, field("tiktok", `talking_points.${i}`, point, { label: `Point ${i + 1}`, rows: 2 })));
    });
    body.append(el("h4", { textContent: "Hooks (pick one)" }), hooks, el("h4", { textContent: "Talking points" }), points);
    body.append(field("tiktok", "cta", out.cta, { label: "Call to action", single: true }));
    body.append(el("p", { class: "tags", textContent: tags(out.hashtags) }));
    body.append(el("p", { class: "muted", "data-count": "caption" }));
    if (out.estimated_seconds) body.append(el("p", { class: "muted", textContent: `About ${out.estimated_seconds} s spoken.` }));
  },
};

function updateFold(body) {
  const area = body.querySelector('[data-path="post"]');
  const preview = body.querySelector('[data-fold="linkedin"]');
  if (!area || !preview) return;
  const text = area.value;
  const parts = [el("span", { textContent: text.slice(0, LINKEDIN_FOLD) })];
  if (text.length > LINKEDIN_FOLD) parts.push(el("span", { class: "fold", textContent: "…see more" }));
  preview.replaceChildren(...parts);
}

// The platform's output as edited on the card, in the API's shape.
function editedOutput(platform) {
  const card = document.querySelector(`[data-platform="${platform}"]`);
  const out = JSON.parse(JSON.stringify(current.outputs[platform]));
  for (const input of card.querySelectorAll("[data-path]")) {
    const [key, index] = input.dataset.path.split(".");
    if (index !== undefined) out[key][Number(index)] = input.value;
    else if (key === "hashtags") out.hashtags = splitTags(input.value);
    else out[key] = input.value;
  }
  if (platform === "twitter") out.tweet_count = out.thread.length;
  if (platform === "tiktok") { delete out.caption; delete out.estimated_seconds; }
  return out;
}

function wholeText(platform, out) {
  switch (platform) {
    case "twitter": return out.thread.join("\n\n");
    case "threads": return out.posts.join("\n\n");
    case "linkedin": return `${out.post}\n\n${tags(out.hashtags)}`.trim();
    case "instagram": return `${out.caption}\n\n${tags(out.hashtags)}`.trim();
    case "email": return `Subject: ${out.subject}\nPreheader: ${out.preheader}\n\n${out.body_markdown}\n\n${out.cta}`;
    case "tiktok": return [...out.hooks, "", ...out.talking_points, "", out.cta, tags(out.hashtags)].join("\n").trim();
    default: return JSON.stringify(out, null, 2);
  }
}

const timers = {};
function scheduleValidate(platform) {
  clearTimeout(timers[platform]);
  const card = document.querySelector(`[data-platform="${platform}"]`);
  if (platform === "linkedin") updateFold(card);
  timers[platform] = setTimeout(() => validateCard(platform), 200);
}

async function validateCard(platform) {
  const card = document.querySelector(`[data-platform="${platform}"]`);
  if (!card || !current || !current.outputs[platform]) return;
  const output = editedOutput(platform);
  let result;
  try {
    result = await api("POST", "/v1/validate", { platform, output, generation_id: current.id });
  } catch (err) {
    result = { valid: false, violations: [{ code: "invalid", message: err.message }], measures: [] };
  }
  for (const node of card.querySelectorAll("[data-count]")) {
    node.textContent = "";
    node.classList.remove("over");
  }
  for (const m of result.measures) {
    const node = card.querySelector(`[data-count="${m.field}"]`);
    if (!node) continue;
    const unit = m.unit === "weighted" ? " weighted" : "";
    const range = m.minimum ? `${m.minimum}–${m.limit}` : `${m.limit}`;
    node.textContent = m.field === "caption" && platform === "tiktok"
      ? `Caption ${m.size} / ${range}${unit}`
      : `${m.size} / ${range}${unit}`;
    node.classList.toggle("over", !m.ok);
    node.dataset.size = String(m.size);
  }
  const list = card.querySelector(".violations");
  list.replaceChildren(...result.violations.map((v) => el("li", { textContent: v.message })));
  list.hidden = !result.violations.length;
  card.classList.toggle("invalid", !result.valid);
}

function cardShell(platform) {
  const copyAll = el("button", { type: "button", class: "secondary small", textContent: "Copy all" });
  copyAll.addEventListener("click", () => copyText(wholeText(platform, editedOutput(platform)), copyAll));
  const regen = el("button", { type: "button", class: "secondary small", textContent: "Regenerate (free)" });
  regen.dataset.regenerate = platform;
  regen.addEventListener("click", () => regenerate([platform], regen));
  regenerateReady(regen, !(current && current.status === "pending"));
  const state = el("span", { class: "state", textContent: "Waiting…" });
  const card = el(
    "article", { class: "card pending", "data-platform": platform },
    el("header", { class: "card-head" }, el("h3", { textContent: NAMES[platform] }), state, copyAll, regen),
    el("div", { class: "card-body" }, el("div", { class: "skeleton" })),
    el("ul", { class: "violations", hidden: true }),
  );
  card.setAttribute("aria-busy", "true");
  copyAll.disabled = true;
  return card;
}

// Regenerating waits until every platform of the generation is done: until then the
// generation is still being written and the server would refuse.
function regenerateReady(button, ready) {
  button.disabled = !ready;
  if (ready) button.removeAttribute("title");
  else button.title = "Available once every platform is done";
}

function setCardState(platform, text, kind) {
  const card = document.querySelector(`[data-platform="${platform}"]`);
  if (!card) return;
  card.querySelector(".state").textContent = text;
  if (kind) card.dataset.state = kind;
}

function fillCard(gen, platform) {
  const card = document.querySelector(`[data-platform="${platform}"]`);
  const body = card.querySelector(".card-body");
  body.replaceChildren();
  card.classList.remove("pending");
  card.removeAttribute("aria-busy");
  const out = gen.outputs[platform];
  const copyAll = card.querySelector(".card-head button");
  if (out) {
    RENDER[platform](out, body);
    setCardState(platform, "Ready", "ready");
    copyAll.disabled = false;
    validateCard(platform);
  } else if (gen.errors[platform]) {
    body.append(el("p", { class: "error", textContent: gen.errors[platform] }));
    setCardState(platform, "Failed", "failed");
    copyAll.disabled = true;
  } else {
    body.append(el("div", { class: "skeleton" }));
  }
}

function showGeneration(gen) {
  current = gen;
  $("result").hidden = false;
  const cards = $("cards");
  cards.replaceChildren(...gen.platforms.map(cardShell));
  const cost = gen.usage && Number(gen.usage.estimated_cost_usd) > 0 ? ` · $${gen.usage.estimated_cost_usd}` : "";
  $("result-meta").textContent =
    `${gen.status} · ${new Date(gen.created_at).toLocaleString()} · ${gen.engine || ""} ${gen.model || ""}${cost}`.trim();
  if (gen.status !== "pending") for (const p of gen.platforms) fillCard(gen, p);
  $("retry-failed").hidden = !Object.keys(gen.errors || {}).length;
}

async function follow(gen) {
  showGeneration(gen);
  for (const p of gen.platforms) setCardState(p, "Waiting…", "waiting");
  $("status").textContent = "Writing your posts…";
  // Platforms whose card was filled from their `rendered` event, before the end: the
  // final state leaves those cards (and any edits made to them meanwhile) alone.
  const early = new Set();
  try {
    for await (const { event, data } of events(`/v1/generations/${gen.id}/events`)) {
      if (event === "progress") {
        if (!data.platform) {
          if (data.kind === "note" && data.detail) $("status").textContent = data.detail;
          continue;
        }
        const p = data.platform;
        if (data.kind === "rendered" && data.output && current && current.id === gen.id) {
          current = { ...current, outputs: { ...(current.outputs || {}), [p]: data.output }, errors: current.errors || {} };
          fillCard(current, p);
          early.add(p);
          continue;
        }
        const label = { rendering: "Writing…", repairing: "Fixing limits…", rendered: "Done, saving…", platform_failed: "Failed" }[data.kind];
        if (label) setCardState(data.platform, label, data.kind);
      } else if (event === "generation") {
        if (data.status !== "pending") {
          current = data;
          for (const b of document.querySelectorAll("[data-regenerate]")) regenerateReady(b, true);
          for (const p of data.platforms) if (!early.has(p) || !data.outputs[p]) fillCard(data, p);
          $("retry-failed").hidden = !Object.keys(data.errors || {}).length;
          $("status").textContent = data.status === "completed" ? "All done." : `Finished: ${data.status}.`;
          $("result-meta").textContent = `${data.status} · ${new Date(data.created_at).toLocaleString()} · ${data.engine || ""} ${data.model || ""}`.trim();
        }
      }
    }
  } catch (err) {
    showProblem(err);
  }
  loadUsage();
  loadHistory(false);
}

async function openGeneration(id) {
  clearProblem();
  try {
    const gen = await api("GET", `/v1/generations/${id}`);
    if (gen.status === "pending") await follow(gen);
    else showGeneration(gen);
    $("result").scrollIntoView({ block: "start" });
  } catch (err) {
    showProblem(err);
  }
}

async function regenerate(platforms, button) {
  if (!current) return;
  clearProblem();
  if (button) button.disabled = true;
  const targets = platforms || Object.keys(current.errors || {});
  for (const p of targets) setCardState(p, "Writing again…", "rendering");
  try {
    const gen = await api("POST", `/v1/generations/${current.id}/regenerate`, platforms ? { platforms } : {});
    current = gen;
    for (const p of targets) fillCard(gen, p);
    $("retry-failed").hidden = !Object.keys(gen.errors || {}).length;
    $("status").textContent = "Written again, free of charge.";
  } catch (err) {
    showProblem(err);
  } finally {
    if (button) button.disabled = false;
  }
}

// ---------------------------------------------------------------- the form

async function submit(event) {
  event.preventDefault();
  clearProblem();
  const content = $("content").value;
  if (!content.trim()) {
    showProblem(new Problem(422, { detail: "Paste your text or choose a file first." }));
    $("content").focus();
    return;
  }
  const platforms = chosenPlatforms();
  if (!platforms.length) {
    showProblem(new Problem(422, { detail: "Pick at least one platform." }));
    return;
  }
  const body = { content, platforms };
  if ($("tone").value) body.tone = $("tone").value;
  if ($("engine").value) body.engine = $("engine").value;
  const button = $("generate");
  button.disabled = true;
  $("status").textContent = "Starting…";
  try {
    const gen = await api("POST", "/v1/generations", body);
    history.pushState({}, "", `/g/${gen.id}`);
    if (gen.status === "pending") await follow(gen);
    else {
      showGeneration(gen);
      $("status").textContent = gen.cached ? "You asked for this before: here it is again, free." : "All done.";
      loadUsage();
      loadHistory(false);
    }
  } catch (err) {
    $("status").textContent = "";
    showProblem(err);
    loadUsage();
  } finally {
    button.disabled = false;
  }
}

function readFile(file) {
  if (!file) return;
  if (file.size > 2 * 1024 * 1024) {
    showProblem(new Problem(413, { detail: `${file.name} is larger than 2 MB.` }));
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    $("content").value = reader.result;
    countWords();
    scheduleEstimate();
  };
  reader.readAsText(file);
}

function countWords() {
  const words = $("content").value.trim().split(/\s+/).filter(Boolean).length;
  $("word-count").textContent = words ? `${words} words` : "";
}

// ---------------------------------------------------------------- engines and estimates

// What GET /v1/engines says of each engine; until it answers, the server's names alone.
let engines = {};
let estimateTimer = null;
let estimateSeq = 0;
const ESTIMATE_DELAY_MS = 400;

function engineLabel(e) {
  if (e.kind === "local") return e.name === "local" ? "local (offline, free)" : `${e.name} (free)`;
  if (e.kind === "model" && !e.available) return `${e.name}: unavailable, ${e.unavailable_reason}`;
  if (e.kind === "model") return `${e.name} (${e.model})`;
  return e.name;
}

function fillEngines(list, keep) {
  engines = Object.fromEntries(list.map((e) => [e.name, e]));
  const select = $("engine");
  select.replaceChildren(...list.map((e) => {
    const option = el("option", { value: e.name, textContent: engineLabel(e) });
    option.disabled = e.available === false;
    return option;
  }));
  const usable = list.filter((e) => e.available !== false).map((e) => e.name);
  const preferred = [keep, ...list.filter((e) => e.default).map((e) => e.name)];
  select.value = preferred.find((name) => usable.includes(name)) || usable[0] || "";
  showEngine();
}

function dollars(value) {
  const n = Number(value);
  return n < 1
    ? `$${n.toFixed(4)}`
    : `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function chosenPlatforms() {
  return [...document.querySelectorAll('input[name="platform"]:checked')].map((i) => i.value);
}

// The note under the picker: what the engine is and, for a model engine, its model and
// prices; the line under it is the cost estimate (model engines only).
function showEngine() {
  const e = engines[$("engine").value];
  const note = $("engine-note");
  const line = $("estimate");
  clearTimeout(estimateTimer);
  estimateSeq += 1; // an answer still on its way is for another choice
  line.classList.remove("stale");
  delete line.dataset.cost;
  if (!e || !e.kind) {
    note.textContent = "";
    line.textContent = "";
    return;
  }
  if (e.kind !== "model") {
    note.textContent = e.name === "local"
      ? "Writes from your own sentences, on this server."
      : "Runs on this server.";
    line.textContent = "Free: no tokens, no key, no charge.";
    line.dataset.cost = "0";
    return;
  }
  const price = e.models.find((m) => m.name === e.model);
  note.textContent = price
    ? `Model ${e.model} · $${price.input} in / $${price.output} out per million tokens`
    : `Model ${e.model} · no price in the server's table`;
  scheduleEstimate(0);
}

function scheduleEstimate(delay) {
  clearTimeout(estimateTimer);
  const e = engines[$("engine").value];
  if (!e || e.kind !== "model") return;
  const line = $("estimate");
  const text = $("content").value;
  const platforms = chosenPlatforms();
  if (!text.trim() || !platforms.length) {
    estimateSeq += 1;
    line.classList.remove("stale");
    delete line.dataset.cost;
    line.textContent = text.trim()
      ? "Pick a platform to see the estimated cost."
      : "Paste your text to see the estimated cost (no charge for the estimate).";
    return;
  }
  // The figure on screen stays, dimmed, until the new one arrives: nothing moves.
  if (line.dataset.cost !== undefined) line.classList.add("stale");
  else line.textContent = "Estimating the cost…";
  const tone = $("tone").value;
  estimateTimer = setTimeout(
    () => runEstimate(e.name, text, platforms, tone),
    delay === undefined ? ESTIMATE_DELAY_MS : delay,
  );
}

async function runEstimate(engine, text, platforms, tone) {
  const seq = ++estimateSeq;
  const body = { text, platforms, engine };
  if (tone) body.tone = tone;
  let message;
  let cost;
  try {
    const est = await api("POST", "/v1/estimates", body);
    const total = est.total.estimated_cost_usd;
    const what = `${platforms.length} platform${platforms.length === 1 ? "" : "s"}, ${est.calls.length} calls`;
    cost = total === null ? "unknown" : total;
    message = total === null
      ? `Estimated cost unknown (no price for ${est.model}) · ${what} · no charge for the estimate`
      : `Estimated cost ${dollars(total)} for ${what} · no charge for the estimate`;
  } catch (err) {
    message = err.status === 401
      ? "Sign in to see the estimated cost."
      : `No estimate yet: ${err.message}`;
  }
  if (seq !== estimateSeq) return; // the text or the choice changed meanwhile
  const line = $("estimate");
  line.textContent = message;
  line.classList.remove("stale");
  if (cost !== undefined) line.dataset.cost = cost;
  else delete line.dataset.cost;
}

async function loadEngines() {
  try {
    const data = await api("GET", "/v1/engines");
    fillEngines(data.engines, $("engine").value);
  } catch (err) {
    // The server's names stay; generating still works with them.
    if (err.status !== 401) $("engine-note").textContent = `Engines unavailable: ${err.message}`;
  }
}

function setupEngines() {
  // The server's names at once (the picker is never empty), then /v1/engines's details.
  fillEngines(CONFIG.engines.map((name) => ({ name, default: name === CONFIG.defaultEngine })), CONFIG.defaultEngine);
  $("engine").addEventListener("change", showEngine);
  $("tone").addEventListener("change", () => scheduleEstimate());
  for (const box of document.querySelectorAll('input[name="platform"]')) {
    box.addEventListener("change", () => scheduleEstimate());
  }
  loadEngines();
}

async function upgrade() {
  clearProblem();
  try {
    const here = window.location.origin;
    const session = await api("POST", "/v1/billing/checkout", {
      tier: "pro", interval: "month", success_url: `${here}/`, cancel_url: `${here}/`,
    });
    window.location.assign(session.url);
  } catch (err) {
    showProblem(err);
  }
}

function route() {
  const match = window.location.pathname.match(/^\/g\/([0-9a-f-]{36})$/i);
  if (match) openGeneration(match[1]);
  else {
    $("result").hidden = true;
    current = null;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupEngines();
  $("compose").addEventListener("submit", submit);
  $("content").addEventListener("input", () => { countWords(); scheduleEstimate(); });
  $("file").addEventListener("change", (e) => readFile(e.target.files[0]));
  const area = $("content");
  area.addEventListener("dragover", (e) => { e.preventDefault(); area.classList.add("drop"); });
  area.addEventListener("dragleave", () => area.classList.remove("drop"));
  area.addEventListener("drop", (e) => {
    e.preventDefault();
    area.classList.remove("drop");
    readFile(e.dataTransfer.files[0]);
  });
  $("history-more").addEventListener("click", () => loadHistory(true));
  $("retry-failed").addEventListener("click", (e) => regenerate(null, e.target));
  $("upgrade").addEventListener("click", upgrade);
  window.addEventListener("popstate", route);
  loadUsage();
  loadHistory(false);
  route();
});
