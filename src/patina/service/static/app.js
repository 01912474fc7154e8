// Patina web UI: a little script over the REST API. The login cookie authenticates; the X-Patina-UI
// header marks requests as coming from these pages (the server refuses cookie-only changes without it).
// Nothing here reloads a page: results arrive in place, so nothing typed is ever lost.
"use strict";

const UI = { "X-Patina-UI": "1" };
const JSON_HEADERS = { "Content-Type": "application/json" };

class ApiError extends Error {
  constructor(message, status, fields) { super(message); this.status = status; this.fields = fields; }
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options,
                                       headers: { ...UI, ...(options.headers || {}) } });
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const detail = body?.detail;
    const fields = Array.isArray(detail) ? detail.filter(d => d.field) : [];
    throw new ApiError(typeof detail === "string" ? detail
      : Array.isArray(detail) ? detail.map(d => d.reason || d.msg || JSON.stringify(d)).join("; ")
      : `HTTP ${response.status}`, response.status, fields);
  }
  return body;
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

function element(tag, properties = {}, ...children) {
  const made = Object.assign(document.createElement(tag), properties);
  made.append(...children);
  return made;
}

function seconds(text) {
  const s = Math.max(0, Math.round(text));
  return s < 90 ? `${s} s` : `${Math.round(s / 60)} min`;
}

// -- jobs: one poller per job, shared by the item page and the run status ----------------------------------------
async function follow(jobId, onUpdate) {
  while (true) {
    const job = await api(`/api/jobs/${jobId}`);
    onUpdate(job);
    if (job.finished) return job;
    await sleep(500);
  }
}

function remaining(job) {
  // seconds left from the time spent so far, once a little progress shows
  if (job.status !== "running" || !job.started_at || job.progress < 0.02) return null;
  const spent = (Date.now() - Date.parse(job.started_at)) / 1000;
  return spent * (1 - job.progress) / job.progress;
}

function describe(job) {
  if (job.status === "running") {
    const left = remaining(job);
    return `running ${Math.round(job.progress * 100)}%` + (left === null ? "" : `, about ${seconds(left)} left`);
  }
  if (job.status === "succeeded") return job.message.replace(/^done;?\s*/, "done ").trim();
  return job.status + (job.message && job.status !== "queued" ? `: ${job.message}` : "");
}

// -- upload: drag and drop, one request per file with its own progress ------------------------------------------
function uploadOne(file, collection, row) {
  return new Promise(resolve => {
    const data = new FormData();
    data.append("files", file);
    if (collection) data.append("collection", collection);
    const request = new XMLHttpRequest();
    request.open("POST", "/api/items");
    request.setRequestHeader("X-Patina-UI", "1");
    request.upload.addEventListener("progress", event => {
      if (event.lengthComputable) row.progress.value = event.loaded / event.total;
    });
    request.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch { /* not JSON */ }
      row.progress.value = 1;
      if (request.status === 201) {
        const isNew = body.new.length > 0;
        row.state.textContent = isNew ? "added" : "already in the archive";
        resolve(isNew ? body.items[0] : null);
      } else {
        const detail = body?.detail;
        const reason = Array.isArray(detail) ? detail.map(d => d.reason).join("; ") : detail || `HTTP ${request.status}`;
        row.state.textContent = `not added: ${reason}`;
        row.li.dataset.failed = "1";
        resolve(null);
      }
    });
    request.addEventListener("error", () => { row.state.textContent = "not added: the connection failed"; resolve(null); });
    request.send(data);
  });
}

function tile(item) {
  const link = element("a", { className: "tile", href: `/items/${item.id}` },
    element("img", { src: `/api/items/${item.id}/thumbnail`, alt: "", loading: "lazy" }),
    element("span", { className: "caption", textContent: item.label }));
  link.dataset.itemId = item.id;
  return link;
}

function setupUpload() {
  const zone = document.getElementById("drop-zone");
  if (!zone) return;
  const input = document.getElementById("upload-files");
  const list = document.getElementById("upload-list");
  const gallery = document.getElementById("gallery");

  async function upload(files) {
    const collection = document.getElementById("upload-collection").value.trim();
    const rows = [...files].map(file => {
      const row = { progress: element("progress", { max: 1, value: 0 }), state: element("span", { className: "state" }) };
      row.progress.setAttribute("aria-label", `${file.name} upload`);
      row.li = element("li", {}, element("span", { className: "name", textContent: file.name }), row.progress, row.state);
      list.append(row.li);
      return row;
    });
    for (const [index, file] of [...files].entries()) {
      const item = await uploadOne(file, collection, rows[index]);
      if (item) {
        gallery.querySelector(".empty")?.remove();
        gallery.prepend(tile(item));
      }
    }
  }

  input.addEventListener("change", () => { if (input.files.length) upload(input.files); input.value = ""; });
  zone.addEventListener("click", () => input.click());
  zone.addEventListener("keydown", event => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
  });
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, event => { event.preventDefault(); zone.classList.add("over"); });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", event => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer?.files.length) upload(event.dataTransfer.files);
  });
}

// -- a run on a whole collection --------------------------------------------------------------------------------
function setupBatch() {
  const form = document.getElementById("batch-form");
  if (!form) return;
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const status = document.getElementById("batch-status");
    const chosen = document.getElementById("batch-preset").selectedOptions[0];
    try {
      const jobs = await api("/api/jobs/batch", { method: "POST", headers: JSON_HEADERS, body: JSON.stringify({
        collection: form.dataset.collection, pipeline: chosen.dataset.pipeline,
        parameters: JSON.parse(chosen.dataset.parameters) }) });
      status.replaceChildren(`${jobs.length} jobs queued. `,
        element("a", { href: "/jobs", textContent: "Follow them on the Jobs page" }));
    } catch (error) {
      status.textContent = `Not started: ${error.message}`;
    }
  });
}

// -- the compare view: slider or side by side, fitted to the picture, zoom and pan to 1:1 -----------------------
function setupViewer() {
  const viewer = document.getElementById("viewer");
  if (!viewer) return null;
  const stage = document.getElementById("stage");
  const before = document.getElementById("before");
  const after = document.getElementById("after");
  const paneAfter = document.getElementById("pane-after");
  const slider = document.getElementById("slider");
  const divider = document.getElementById("divider");
  const select = document.getElementById("derivative-select");
  const canvas = document.getElementById("mask-canvas");
  const item = document.getElementById("item");
  canvas.width = Number(item.dataset.width);
  canvas.height = Number(item.dataset.height);
  const view = { mode: "slider", zoom: null, x: 0, y: 0 };  // zoom null: fitted
  const listeners = { mode: [], stroke: null };

  const natural = () => [before.naturalWidth || 1, before.naturalHeight || 1];
  const hasAfter = () => !paneAfter.hidden;

  function paneSize() {
    const [w, h] = natural();
    const side = view.mode === "side" && hasAfter();
    const stacked = side && viewer.clientWidth < 600;
    const width = Math.max(120, side && !stacked ? (viewer.clientWidth - 8) / 2 : viewer.clientWidth);
    const fit = Math.min(width / w, (window.innerHeight * (stacked ? 0.4 : 0.72)) / h);
    return { fit, width: Math.round(w * fit), height: Math.round(h * fit), side, stacked };
  }

  function layout() {
    const [w, h] = natural();
    const size = paneSize();
    const scale = view.zoom ?? size.fit;
    stage.classList.toggle("side", size.side);
    stage.classList.toggle("stacked", size.stacked);
    viewer.style.setProperty("--pane-w", `${size.width}px`);
    viewer.style.setProperty("--pane-h", `${size.height}px`);
    // a picture larger than the pane pans only as far as its edges; a smaller one (1:1 of a small preview) is centred
    const place = (offset, pane, picture) => picture <= pane ? (pane - picture) / 2
      : Math.min(0, Math.max(pane - picture, offset));
    view.x = place(view.x, size.width, w * scale);
    view.y = place(view.y, size.height, h * scale);
    const masking = view.mode === "mask";
    for (const layer of [before, after, canvas]) {
      const width = layer === canvas ? canvas.width : layer.naturalWidth;
      const relative = width ? w / width : 1;  // an upscaled version (and the full-size mask) shown at the same size
      layer.style.width = `${width || w}px`;
      layer.style.transform = `translate(${view.x}px, ${view.y}px) scale(${scale * relative})`;
    }
    const split = size.side ? 0 : masking ? 100 : Number(slider.value);
    paneAfter.style.clipPath = size.side ? "none" : `inset(0 0 0 ${split}%)`;
    divider.style.left = `${split}%`;
    divider.hidden = size.side || masking || !hasAfter();
    slider.hidden = size.side || masking || !hasAfter();
    canvas.hidden = !masking;
    document.getElementById("mask-tools").hidden = !masking;
    if (hasAfter() || masking) {
      document.getElementById("viewer-hint").textContent = masking ? "Drag to paint or erase; + and − zoom."
        : size.side ? "Left: the original; right: the new version."
        : "Left of the line: the original; right: the new version.";
    }
    document.getElementById("zoom-fit").setAttribute("aria-pressed", String(view.zoom === null));
    document.getElementById("zoom-1").setAttribute("aria-pressed", String(view.zoom === 1));
    viewer.dataset.zoom = (view.zoom ?? size.fit).toFixed(3);
  }

  function zoomTo(zoom) {
    const size = paneSize();
    const old = view.zoom ?? size.fit;
    if (zoom !== null) zoom = Math.min(8, Math.max(Math.min(size.fit, 1), zoom));
    if (zoom !== null && zoom !== 1 && Math.abs(zoom - size.fit) < 1e-6) zoom = null;
    const now = zoom ?? size.fit;
    // zoom about the middle of the pane
    view.x = size.width / 2 - (size.width / 2 - view.x) * now / old;
    view.y = size.height / 2 - (size.height / 2 - view.y) * now / old;
    view.zoom = zoom;
    layout();
  }

  for (const button of viewer.querySelectorAll("[data-mode]")) {
    button.addEventListener("click", () => {
      view.mode = button.dataset.mode;
      for (const other of viewer.querySelectorAll("[data-mode]")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      viewer.dataset.mode = view.mode;
      for (const listener of listeners.mode) listener(view.mode);
      zoomTo(view.zoom);
    });
  }
  document.getElementById("zoom-fit").addEventListener("click", () => zoomTo(null));
  document.getElementById("zoom-1").addEventListener("click", () => zoomTo(1));
  document.getElementById("zoom-in").addEventListener("click", () => zoomTo((view.zoom ?? paneSize().fit) * 1.5));
  document.getElementById("zoom-out").addEventListener("click", () => zoomTo((view.zoom ?? paneSize().fit) / 1.5));
  slider.addEventListener("input", layout);

  let drag = null;
  stage.addEventListener("pointerdown", event => {
    event.preventDefault();  // no native image drag
    stage.setPointerCapture(event.pointerId);
    drag = { x: event.clientX, y: event.clientY, vx: view.x, vy: view.y };
    if (view.mode === "mask") listeners.stroke?.(event, true);
    else if (view.zoom === null) moveSplit(event);
  });
  stage.addEventListener("pointermove", event => {
    if (!drag || event.buttons !== 1) return;
    if (view.mode === "mask") { listeners.stroke?.(event, false); return; }
    if (view.zoom === null) { moveSplit(event); return; }
    view.x = drag.vx + event.clientX - drag.x;  // zoomed: dragging moves the picture
    view.y = drag.vy + event.clientY - drag.y;
    layout();
  });
  stage.addEventListener("pointerup", () => { drag = null; });
  function moveSplit(event) {
    if (!hasAfter() || view.mode === "side") return;
    const pane = document.getElementById("pane-before").getBoundingClientRect();
    slider.value = Math.round(100 * Math.min(1, Math.max(0, (event.clientX - pane.left) / pane.width)));
    layout();
  }
  stage.addEventListener("keydown", event => {
    const step = 40;
    const keys = { "+": () => zoomTo((view.zoom ?? paneSize().fit) * 1.5), "=": () => zoomTo((view.zoom ?? paneSize().fit) * 1.5),
                   "-": () => zoomTo((view.zoom ?? paneSize().fit) / 1.5), "0": () => zoomTo(null), "1": () => zoomTo(1) };
    if (keys[event.key]) { keys[event.key](); event.preventDefault(); return; }
    const arrows = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    if (!arrows[event.key]) return;
    event.preventDefault();
    if (view.zoom === null) {  // fitted: the arrows move the split
      slider.value = Math.min(100, Math.max(0, Number(slider.value) - 5 * arrows[event.key][0]));
    } else {
      view.x += step * arrows[event.key][0];
      view.y += step * arrows[event.key][1];
    }
    layout();
  });

  function show(derivativeId) {
    after.src = `/api/items/${derivativeId}/preview`;
    paneAfter.hidden = false;
    layout();
  }
  select.addEventListener("change", () => show(select.value));
  before.addEventListener("load", layout);
  after.addEventListener("load", layout);
  window.addEventListener("resize", layout);
  layout();

  return {
    canvas,
    onMode(listener) { listeners.mode.push(listener); },
    onStroke(listener) { listeners.stroke = listener; },
    add(item) {  // a new version: offered in the list, and shown
      if (select.disabled) { select.replaceChildren(); select.disabled = false; }
      const option = element("option", { value: item.id, textContent: `${item.original_name} (item ${item.id})` });
      select.append(option);
      select.value = String(item.id);
      show(item.id);
    },
  };
}

// -- the run form: presets, typed settings, errors beside their fields, progress and result beside the button ----
function formParameters(fieldset) {
  const parameters = {};
  for (const field of fieldset.querySelectorAll(".field")) {
    const name = field.dataset.option, type = field.dataset.type;
    if (type === "references") {
      const ids = [...field.querySelectorAll("input:checked")].map(i => i.value).filter(Boolean).map(Number);
      if (ids.length) parameters[name] = ids;
      continue;
    }
    const input = field.querySelector(`[name="${name}"]`);
    if (input.type === "checkbox") { parameters[name] = input.checked; continue; }
    const text = input.value.trim();
    if (text === "") continue;  // left empty: the option's default
    if (type === "texts") parameters[name] = text.split(",").map(t => t.trim()).filter(Boolean);
    else if (type === "numbers") parameters[name] = text.split(",").map(t => Number(t.trim()));
    else if (input.type === "number") parameters[name] = Number(text);
    else if ((type === "integer" || type === "number") && text !== "auto" && !Number.isNaN(Number(text))) {
      parameters[name] = Number(text);
    } else parameters[name] = text;
  }
  return parameters;
}

function clearErrors(form) {
  for (const error of form.querySelectorAll(".field-error")) { error.hidden = true; error.textContent = ""; }
  for (const invalid of form.querySelectorAll("[aria-invalid]")) invalid.removeAttribute("aria-invalid");
}

function showFieldErrors(form, pipeline, fields) {
  let first = null;
  for (const { field, reason, msg } of fields) {
    const box = form.querySelector(`fieldset[data-pipeline="${pipeline}"] .field[data-option="${field}"]`);
    if (!box) continue;
    const error = box.querySelector(".field-error");
    error.textContent = reason || msg;
    error.hidden = false;
    const input = box.querySelector("input:not([type=range]), select");
    input?.setAttribute("aria-invalid", "true");
    input?.setAttribute("aria-errormessage", error.id);
    first = first || input;
  }
  if (first) {
    document.getElementById("advanced").open = true;
    const expert = first.closest("details.expert");
    if (expert) expert.open = true;
    first.focus();
  }
  return first !== null;
}

function applyPreset(form, radio) {
  const pipeline = radio.dataset.pipeline;
  const preset = JSON.parse(radio.dataset.parameters);
  for (const fieldset of form.querySelectorAll(".pipeline-options")) {
    const active = fieldset.dataset.pipeline === pipeline;
    fieldset.hidden = !active;
    fieldset.disabled = !active;
    if (!active) continue;
    for (const input of fieldset.querySelectorAll("input, select")) {  // back to the pipeline's defaults
      if (input.type === "checkbox" || input.type === "radio") input.checked = input.defaultChecked;
      else if (input.tagName === "SELECT") for (const o of input.options) o.selected = o.defaultSelected;
      else input.value = input.defaultValue;
    }
    for (const [name, value] of Object.entries(preset)) {
      const input = fieldset.querySelector(`[name="${name}"]`);
      if (!input) continue;
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = String(value);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
    syncRanges(fieldset);
  }
  clearErrors(form);
  if (form.querySelector(`fieldset[data-pipeline="${pipeline}"] .picker`) && radio.value === "stylize") {
    document.getElementById("advanced").open = true;
  }
}

function syncRanges(root) {
  for (const range of root.querySelectorAll("input[type=range][data-pair]")) {
    const number = document.getElementById(range.dataset.pair);
    if (number.value !== "") range.value = number.value;
  }
}

function setupRanges() {
  document.addEventListener("input", event => {
    const target = event.target;
    if (target.matches?.("input[type=range][data-pair]")) {
      document.getElementById(target.dataset.pair).value = target.value;
    } else if (target.matches?.("input[type=number]")) {
      const range = document.querySelector(`input[type=range][data-pair="${target.id}"]`);
      if (range && target.value !== "") range.value = target.value;
    }
  });
}

function jobRow(job) {
  const li = element("li", {}, `${job.pipeline} #${job.id} `,
    element("progress", { max: 1, value: job.progress }), " ", element("span", { className: "status" }));
  li.dataset.jobId = job.id;
  li.querySelector("progress").setAttribute("aria-label", `job ${job.id} progress`);
  if (!job.finished) {
    const cancel = element("button", { type: "button", className: "cancel link", textContent: "cancel" });
    cancel.dataset.jobId = job.id;
    li.append(" ", cancel);
  }
  return li;
}

function updateJobRow(li, job) {
  li.dataset.status = job.status;
  li.querySelector("progress").value = job.progress;
  li.querySelector(".status").textContent = describe(job);
  if (job.finished) li.querySelector(".cancel")?.remove();
}

function setupItem(viewer) {
  const item = document.getElementById("item");
  if (!item) return null;
  const itemId = Number(item.dataset.itemId);
  const form = document.getElementById("run-form");
  const status = document.getElementById("run-status");
  const jobs = document.getElementById("jobs");
  const downloads = document.getElementById("downloads");

  for (const radio of form.querySelectorAll("input[name=preset]")) {
    radio.addEventListener("change", () => applyPreset(form, radio));
  }
  applyPreset(form, form.querySelector("input[name=preset]:checked"));

  async function finished(job) {
    if (job.status !== "succeeded" || !job.derivative_id) return;
    const made = await api(`/api/items/${job.derivative_id}`);
    if (!downloads.querySelector(`a[href="/api/items/${made.id}/file"]`)) {
      downloads.append(element("li", {},
        element("a", { href: `/api/items/${made.id}/file`, download: "", textContent: made.original_name }), " · ",
        element("a", { href: `/items/${made.id}`, textContent: "details" })));
      viewer?.add(made);
    }
    status.querySelector(".result")?.replaceChildren(
      element("a", { href: `/items/${made.id}`, textContent: `Open the new version (item ${made.id})` }));
  }

  async function track(job, onUpdate = () => {}) {
    let li = jobs.querySelector(`li[data-job-id="${job.id}"]`);
    if (!li) { li = jobRow(job); jobs.prepend(li); }
    const done = await follow(job.id, update => { updateJobRow(li, update); onUpdate(update); });
    await finished(done);
    return done;
  }

  async function run(pipeline, parameters) {
    // queue a run and show its progress and result beside the Run button; an error names its field when it can
    const job = await api("/api/jobs", { method: "POST", headers: JSON_HEADERS,
      body: JSON.stringify({ item_id: itemId, pipeline, parameters }) });
    const bar = element("progress", { max: 1, value: 0 });
    bar.setAttribute("aria-label", "progress of this run");
    const text = element("span", { className: "text", textContent: "queued" });
    const cancel = element("button", { type: "button", className: "link", textContent: "cancel" });
    cancel.addEventListener("click", () => api(`/api/jobs/${job.id}/cancel`, { method: "POST" }));
    status.replaceChildren(bar, text, cancel, element("span", { className: "result" }));
    status.dataset.jobId = job.id;
    status.dataset.status = job.status;
    track(job, update => {
      bar.value = update.progress;
      text.textContent = describe(update);
      status.dataset.status = update.status;
      if (update.finished) cancel.remove();
    }).catch(error => { text.textContent = `Lost track of the job: ${error.message}`; });
    return job;
  }

  form.addEventListener("submit", async event => {
    event.preventDefault();
    clearErrors(form);
    const fieldset = form.querySelector(".pipeline-options:not([disabled])");
    const pipeline = fieldset.dataset.pipeline;
    const button = document.getElementById("run-button");
    button.disabled = true;
    try {
      await run(pipeline, formParameters(fieldset));
    } catch (error) {
      const marked = error instanceof ApiError && showFieldErrors(form, pipeline, error.fields);
      status.replaceChildren(element("span", { className: "text error",
        textContent: marked ? "Not started: see the settings marked above." : `Not started: ${error.message}` }));
    } finally {
      button.disabled = false;
    }
  });

  jobs.addEventListener("click", async event => {
    const id = event.target.dataset?.jobId;
    if (event.target.classList.contains("cancel") && id) await api(`/api/jobs/${id}/cancel`, { method: "POST" });
  });
  for (const li of jobs.querySelectorAll("li")) {  // jobs already running when the page opened
    if (["queued", "running"].includes(li.dataset.status)) track({ id: Number(li.dataset.jobId) });
  }

  const metadata = document.getElementById("metadata-form");
  metadata.addEventListener("submit", async event => {
    event.preventDefault();
    const saved = document.getElementById("metadata-status");
    const fields = Object.fromEntries(new FormData(metadata));
    const tags = fields.tags.split(",").map(t => t.trim()).filter(Boolean);
    delete fields.tags;
    const tagInput = document.getElementById("meta-tags");
    const current = tagInput.defaultValue.split(",").map(t => t.trim()).filter(Boolean);
    try {
      await api(`/api/items/${itemId}`, { method: "PATCH", headers: JSON_HEADERS,
        body: JSON.stringify({ metadata: fields, add_tags: tags.filter(t => !current.includes(t)),
                               remove_tags: current.filter(t => !tags.includes(t)) }) });
      for (const input of metadata.querySelectorAll("input")) input.defaultValue = input.value;
      saved.textContent = "Saved.";
    } catch (error) {
      saved.textContent = `Not saved: ${error.message}`;
    }
  });
  return run;
}

// -- the damage mask: the detected one over the photo, painted and erased, then restore with it -----------------
function setupMaskEditor(viewer, run) {
  if (!viewer || !run) return;
  const item = document.getElementById("item");
  const itemId = Number(item.dataset.itemId);
  const canvas = viewer.canvas;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const status = document.getElementById("mask-status");
  const brush = document.getElementById("mask-brush");
  let tool = "paint", loaded = false, last = null;

  async function load() {
    status.textContent = "Finding the damage…";
    const picture = new Image();
    picture.src = `/api/items/${itemId}/damage-mask`;
    try { await picture.decode(); } catch { status.textContent = "Could not find the damage mask."; return; }
    const scratch = element("canvas", { width: canvas.width, height: canvas.height });
    const scratchContext = scratch.getContext("2d");
    scratchContext.drawImage(picture, 0, 0, canvas.width, canvas.height);
    const gray = scratchContext.getImageData(0, 0, canvas.width, canvas.height);
    const red = context.createImageData(canvas.width, canvas.height);
    for (let i = 0; i < gray.data.length; i += 4) { red.data[i] = 220; red.data[i + 3] = gray.data[i]; }
    context.putImageData(red, 0, 0);
    loaded = true;
    canvas.dataset.loaded = "1";
    status.textContent = "";
  }

  viewer.onMode(mode => { if (mode === "mask" && !loaded) load(); });
  for (const button of document.querySelectorAll("#mask-tools [data-tool]")) {
    button.addEventListener("click", () => {
      tool = button.dataset.tool;
      for (const other of document.querySelectorAll("#mask-tools [data-tool]")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
    });
  }
  document.getElementById("mask-reset").addEventListener("click", () => {
    context.clearRect(0, 0, canvas.width, canvas.height);
    load();
  });

  viewer.onStroke((event, start) => {
    const box = canvas.getBoundingClientRect();
    const ratio = canvas.width / box.width;
    const point = [(event.clientX - box.left) * ratio, (event.clientY - box.top) * ratio];
    context.globalCompositeOperation = tool === "erase" ? "destination-out" : "source-over";
    context.strokeStyle = context.fillStyle = "rgb(220, 0, 0)";
    context.lineWidth = Number(brush.value) * ratio;
    context.lineCap = context.lineJoin = "round";
    context.beginPath();
    context.moveTo(...(start || !last ? point : last));
    context.lineTo(...point);
    context.stroke();
    last = point;
    canvas.dataset.edited = "1";
  });

  function maskBlob() {  // white where painted (alpha over half), black elsewhere, at the photo's size
    const painted = context.getImageData(0, 0, canvas.width, canvas.height);
    const out = new ImageData(canvas.width, canvas.height);
    for (let i = 0; i < painted.data.length; i += 4) {
      const value = painted.data[i + 3] > 127 ? 255 : 0;
      out.data[i] = out.data[i + 1] = out.data[i + 2] = value;
      out.data[i + 3] = 255;
    }
    const flat = element("canvas", { width: canvas.width, height: canvas.height });
    flat.getContext("2d").putImageData(out, 0, 0);
    return new Promise(resolve => flat.toBlob(resolve, "image/png"));
  }

  document.getElementById("mask-run").addEventListener("click", async () => {
    if (!loaded) return;
    status.textContent = "Keeping your mask…";
    try {
      const data = new FormData();
      data.append("file", await maskBlob(), "mask.png");
      const mask = await api(`/api/items/${itemId}/masks`, { method: "POST", body: data });
      status.textContent = `Mask kept as item ${mask.id}; restoring with it (progress beside the Run button).`;
      status.dataset.maskId = mask.id;
      await run("restore", { mask: [mask.id] });
    } catch (error) {
      status.textContent = `Not started: ${error.message}`;
    }
  });
}

// -- curation: bulk edit of search results, descriptions from a CSV file, withdrawal ----------------------------
function setupCuration() {
  const bulk = document.getElementById("bulk-form");
  bulk?.addEventListener("submit", async event => {
    event.preventDefault();
    const status = document.getElementById("bulk-status");
    const field = document.getElementById("bulk-field").value;
    const tag = document.getElementById("bulk-tag").value.trim();
    const collection = document.getElementById("bulk-collection").value.trim();
    const body = { q: bulk.dataset.query, metadata: field ? { [field]: document.getElementById("bulk-value").value } : {},
                   add_tags: tag ? [tag] : [], add_collections: collection ? [collection] : [] };
    try {
      const changed = await api("/api/items/bulk-edit", { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body) });
      status.textContent = `${changed.length} items updated.`;
    } catch (error) {
      status.textContent = `Not changed: ${error.message}`;
    }
  });

  const csv = document.getElementById("csv-form");
  if (csv) {
    const result = document.getElementById("csv-result");
    const applyButton = document.getElementById("csv-apply");
    const send = async dryRun => {
      const data = new FormData();
      data.append("file", document.getElementById("csv-file").files[0]);
      data.append("dry_run", String(dryRun));
      return api("/api/items/metadata-csv", { method: "POST", body: data });
    };
    const show = plan => {
      const rows = plan.changes.map(change => element("li", {}, `row ${change.row}: item ${change.item_id} (${change.label}) `
        + [...Object.entries(change.fields).map(([name, [old, now]]) => `${name}: “${old}” → “${now}”`),
           ...change.add_tags.map(t => `+tag ${t}`), ...change.add_collections.map(c => `+collection ${c}`)].join("; ")));
      const problems = plan.problems.map(([row, reason]) => element("li", { className: "error" }, `row ${row} left out: ${reason}`));
      result.replaceChildren(element("p", {}, `${plan.changes.length} photos ${plan.applied ? "changed" : "would change"}, `
        + `${plan.unchanged.length} rows already as given, ${plan.problems.length} rows left out.`),
        element("ul", { className: "csv-changes" }, ...rows, ...problems));
    };
    csv.addEventListener("submit", async event => {
      event.preventDefault();
      try {
        const plan = await send(true);
        show(plan);
        applyButton.hidden = plan.changes.length === 0;
      } catch (error) { result.textContent = `Not read: ${error.message}`; applyButton.hidden = true; }
    });
    applyButton.addEventListener("click", async () => {
      try { show(await send(false)); applyButton.hidden = true; } catch (error) { result.textContent = `Not applied: ${error.message}`; }
    });
  }

  const withdraw = document.getElementById("withdraw-form");
  withdraw?.addEventListener("submit", async event => {
    event.preventDefault();
    const status = document.getElementById("withdraw-status");
    const itemId = Number(document.getElementById("item").dataset.itemId);
    try {
      const item = await api(`/api/items/${itemId}/withdraw`, { method: "POST", headers: JSON_HEADERS,
        body: JSON.stringify({ reason: document.getElementById("withdraw-reason").value }) });
      status.textContent = `Withdrawn on ${item.withdrawn_at.slice(0, 10)}: hidden from the gallery, search and exports.`;
      document.getElementById("withdraw-button").disabled = true;
    } catch (error) {
      status.textContent = `Not withdrawn: ${error.message}`;
    }
  });
}

// -- the jobs page: live states, ETA, filter -------------------------------------------------------------------
function setupJobs() {
  const list = document.getElementById("job-list");
  if (!list) return;
  const filter = document.getElementById("job-filter");
  const statusFilter = document.getElementById("job-status");

  function apply() {
    const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    for (const card of list.querySelectorAll(".job-card")) {
      const text = card.dataset.search.toLowerCase();
      card.hidden = !words.every(word => text.includes(word))
        || (statusFilter.value !== "" && card.dataset.status !== statusFilter.value);
    }
  }
  filter.addEventListener("input", apply);
  statusFilter.addEventListener("change", apply);
  document.getElementById("job-filters").addEventListener("submit", event => event.preventDefault());

  function typicalSeconds(jobs) {
    const spans = jobs.filter(j => j.status === "succeeded" && j.started_at && j.finished_at)
      .map(j => (Date.parse(j.finished_at) - Date.parse(j.started_at)) / 1000).slice(0, 20);
    return spans.length ? spans.reduce((a, b) => a + b, 0) / spans.length : null;
  }

  async function refresh() {
    const jobs = await api("/api/jobs?limit=200");
    const typical = typicalSeconds(jobs);
    const queued = jobs.filter(j => j.status === "queued").sort((a, b) => a.id - b.id);
    for (const job of jobs) {
      const card = list.querySelector(`.job-card[data-job-id="${job.id}"]`);
      if (!card) continue;
      card.dataset.status = job.status;
      card.querySelector("progress").value = job.progress;
      card.querySelector(".status").textContent = job.status === "running" ? `running ${Math.round(job.progress * 100)}%` : job.status;
      card.querySelector(".message").textContent = job.message;
      let eta = remaining(job);
      if (job.status === "queued" && typical !== null) eta = typical * (queued.indexOf(job) + 1);
      card.querySelector(".eta").textContent = eta === null ? "" : `about ${seconds(eta)} left`;
      if (job.derivative_id && !card.querySelector(".result a")) {
        card.querySelector(".result").append(element("a", { href: `/items/${job.derivative_id}`, textContent: `result: item ${job.derivative_id}` }));
      }
    }
    apply();
    return jobs.some(j => !j.finished);
  }
  (async () => { while (await refresh()) await sleep(1000); })();
}

document.addEventListener("DOMContentLoaded", () => {
  setupRanges();
  setupUpload();
  setupBatch();
  setupCuration();
  const viewer = setupViewer();
  setupMaskEditor(viewer, setupItem(viewer));
  setupJobs();
});
