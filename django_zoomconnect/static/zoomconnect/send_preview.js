/* The send form's live preview: the form is posted to the admin's preview endpoint as it changes. */
"use strict";
(function () {
  const panel = document.getElementById("zoomconnect-preview");
  if (!panel) {
    return;
  }
  const form = panel.closest("form");
  const refusals = panel.querySelector('[data-preview="refusals"]');
  let timer = null;
  let controller = null;

  function show(data, state) {
    for (const [key, text] of Object.entries(data.lines || {})) {
      const element = panel.querySelector('[data-preview="' + key + '"]');
      if (element) {
        element.textContent = text;
      }
    }
    refusals.replaceChildren(...(data.refusals || []).map(function (text) {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
    panel.dataset.encoding = data.encoding || "";
    panel.dataset.parts = data.parts === undefined ? "" : String(data.parts);
    panel.dataset.canSend = data.can_send ? "yes" : "no";
    panel.dataset.state = state;
  }

  async function update() {
    if (controller) {
      controller.abort();  // only the answer to the latest text counts
    }
    controller = new AbortController();
    panel.dataset.state = "loading";
    try {
      const response = await fetch(panel.dataset.url, {
        method: "POST",
        body: new FormData(form),  // with the form's CSRF token
        headers: {"Accept": "application/json"},
        credentials: "same-origin",
        signal: controller.signal,
      });
      const json = (response.headers.get("Content-Type") || "").includes("json");
      // Anything but JSON (a login page, a 403) is said as its status, never parsed.
      show(json ? await response.json() : {refusals: [response.status + " " + response.statusText]}, "ready");
    } catch (error) {
      if (error.name !== "AbortError") {
        show({refusals: [String(error)]}, "error");
      }
    }
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 250);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
  // The autocomplete widgets (select2) announce their changes through jQuery only.
  if (window.django && window.django.jQuery) {
    window.django.jQuery(form).on("change", "select", later);
  }
  update();
})();
