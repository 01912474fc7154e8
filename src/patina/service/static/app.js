// Patina web UI: a little script over the REST API. The login cookie authenticates; the X-Patina-UI
// header marks requests as coming from these pages (the server refuses cookie-only changes without it).
"use strict";

const UI = { "X-Patina-UI": "1" };

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options,
                                       headers: { ...UI, ...(options.headers || {}) } });
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const detail = body?.detail;
    throw new Error(typeof detail === "string" ? detail
      : Array.isArray(detail) ? detail.map(d => d.reason || d.msg || JSON.stringify(d)).join("; ")
      : `HTTP ${response.status}`);
  }
  return body;
}

function setupUpload() {
  const form = document.getElementById("upload-form");
  if (!form) return;
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const status = document.getElementById("upload-status");
    const files = document.getElementById("upload-files").files;
    const data = new FormData();
    for (const file of files) data.append("files", file);
    const collection = document.getElementById("upload-collection").value.trim();
    if (collection) data.append("collection", collection);
    status.textContent = `Uploading ${files.length} file(s)…`;
    try {
      const result = await api("/api/items", { method: "POST", body: data });
      const failed = result.failed.map(f => `${f.name}: ${f.reason}`).join("; ");
      status.textContent = `${result.new.length} new, ${result.items.length - result.new.length} already here`
        + (failed ? `; failed: ${failed}` : "");
      setTimeout(() => location.reload(), 600);
    } catch (error) {
      status.textContent = `Upload failed: ${error.message}`;
    }
  });
}

function setupSlider() {
  const slider = document.getElementById("slider");
  const after = document.getElementById("after");
  const divider = document.getElementById("divider");
  if (!slider || !after) return;
  const place = () => {
    after.style.clipPath = `inset(0 0 0 ${slider.value}%)`;
    divider.style.left = `${slider.value}%`;
  };
  slider.addEventListener("input", place);
  const compare = document.getElementById("compare");
  const follow = event => {
    if (event.buttons !== 1) return;
    const box = compare.getBoundingClientRect();
    slider.value = Math.round(100 * Math.min(1, Math.max(0, (event.clientX - box.left) / box.width)));
    place();
  };
  compare.addEventListener("pointerdown", event => {
    event.preventDefault();  // no native image drag
    compare.setPointerCapture(event.pointerId);
    follow(event);
  });
  compare.addEventListener("pointermove", follow);
  const select = document.getElementById("derivative-select");
  select?.addEventListener("change", () => { after.src = `/api/items/${select.value}/preview`; });
  place();
}

function jsonOrText(text) {
  // numbers, true/false, null typed into a text field are values, as on the command line (NAME=VALUE)
  try { return JSON.parse(text); } catch { return text; }
}

function formParameters(form) {
  const parameters = {};
  for (const input of form.querySelectorAll("input, select")) {
    if (input.type === "checkbox") parameters[input.name] = input.checked;
    else if (input.value.trim() === "") continue;  // left empty: the option's default
    else if (input.type === "number") parameters[input.name] = Number(input.value);
    else parameters[input.name] = jsonOrText(input.value.trim());
  }
  return parameters;
}

function jobRow(job) {
  const li = document.createElement("li");
  li.dataset.jobId = job.id;
  li.innerHTML = `${job.pipeline} #${job.id} <progress max="1" value="0"></progress> <span class="status"></span>
    <button type="button" class="cancel link" data-job-id="${job.id}">cancel</button>`;
  return li;
}

function updateJob(li, job) {
  li.dataset.status = job.status;
  li.querySelector("progress").value = job.progress;
  li.querySelector(".status").textContent = job.status === "running"
    ? `running ${Math.round(job.progress * 100)}%`
    : job.status + (job.status === "failed" || (job.status === "succeeded" && job.message.includes(";"))
      ? `: ${job.message}` : "");  // a success says more only with a note (e.g. a colour photo left as it is)
  if (job.finished) li.querySelector(".cancel")?.remove();
}

function setupItem() {
  const item = document.getElementById("item");
  if (!item) return;
  const itemId = Number(item.dataset.itemId);
  const jobs = document.getElementById("jobs");
  let polling = false;

  async function poll() {
    if (polling) return;
    polling = true;
    let reload = false;
    while (true) {
      const list = await api(`/api/jobs?item_id=${itemId}&limit=20`);
      for (const job of list) {
        let li = jobs.querySelector(`li[data-job-id="${job.id}"]`);
        if (!li) { li = jobRow(job); jobs.prepend(li); }
        const wasOpen = !["succeeded", "failed", "cancelled"].includes(li.dataset.status);
        updateJob(li, job);
        if (wasOpen && job.status === "succeeded") reload = true;
      }
      if (list.every(job => job.finished)) break;
      await new Promise(resolve => setTimeout(resolve, 500));
    }
    polling = false;
    if (reload) setTimeout(() => location.reload(), 800);
  }

  for (const form of document.querySelectorAll(".run-form")) {
    form.addEventListener("submit", async event => {
      event.preventDefault();
      try {
        const job = await api("/api/jobs", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ item_id: itemId, pipeline: form.dataset.pipeline, parameters: formParameters(form) }) });
        const li = jobRow(job);
        jobs.prepend(li);
        updateJob(li, job);
        poll();
      } catch (error) {
        alert(`Could not start: ${error.message}`);
      }
    });
  }
  jobs.addEventListener("click", async event => {
    const id = event.target.dataset?.jobId;
    if (event.target.classList.contains("cancel") && id) {
      await api(`/api/jobs/${id}/cancel`, { method: "POST" });
      poll();
    }
  });
  if ([...jobs.querySelectorAll("li")].some(li => ["queued", "running"].includes(li.dataset.status))) poll();

  const metadata = document.getElementById("metadata-form");
  metadata.addEventListener("submit", async event => {
    event.preventDefault();
    const status = document.getElementById("metadata-status");
    const fields = Object.fromEntries(new FormData(metadata));
    const tags = fields.tags.split(",").map(t => t.trim()).filter(Boolean);
    delete fields.tags;
    const current = [...document.querySelectorAll("#metadata-form input[name=tags]")][0].defaultValue
      .split(",").map(t => t.trim()).filter(Boolean);
    try {
      await api(`/api/items/${itemId}`, { method: "PATCH", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ metadata: fields, add_tags: tags.filter(t => !current.includes(t)),
                               remove_tags: current.filter(t => !tags.includes(t)) }) });
      status.textContent = "Saved.";
    } catch (error) {
      status.textContent = `Not saved: ${error.message}`;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => { setupUpload(); setupSlider(); setupItem(); });
