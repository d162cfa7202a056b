// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  function csrfToken(form) {
    var field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  // Quiz attempts: save each answer as the learner goes.
  function setUpAutosave(form) {
    var url = form.getAttribute("data-autosave");
    var timers = {};
    function save(fieldset) {
      var position = fieldset.getAttribute("data-position");
      var status = fieldset.querySelector(".save-status");
      var body = new FormData();
      body.append("csrf_token", csrfToken(form));
      body.append("position", position);
      fieldset.querySelectorAll('[name="q' + position + '"]').forEach(function (input) {
        if ((input.type === "radio" || input.type === "checkbox") && !input.checked) { return; }
        if (input.value) { body.append("values", input.value); }
      });
      status.classList.remove("is-error");
      status.textContent = "Saving…";
      fetch(url, { method: "POST", body: body, credentials: "same-origin",
                   headers: { "X-CSRFToken": csrfToken(form) } })
        .then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        })
        .then(function (result) {
          if (result.ok) {
            status.textContent = "Saved";
          } else {
            status.classList.add("is-error");
            status.textContent = result.data.error || "Not saved.";
            if (result.data.closed) { window.location.reload(); }
          }
        })
        .catch(function () {
          status.classList.add("is-error");
          status.textContent = "Not saved: check your connection. Your answer is kept on this page.";
        });
    }
    form.querySelectorAll("fieldset[data-position]").forEach(function (fieldset) {
      fieldset.addEventListener("change", function () { save(fieldset); });
      fieldset.addEventListener("input", function (event) {
        if (event.target.tagName !== "TEXTAREA" && event.target.type !== "text") { return; }
        var key = fieldset.getAttribute("data-position");
        clearTimeout(timers[key]);
        timers[key] = setTimeout(function () { save(fieldset); }, 800);
      });
    });
  }

  // A countdown beside the deadline (the server enforces it either way).
  function setUpTimer(element) {
    var deadline = Date.parse(element.getAttribute("data-deadline"));
    var output = element.querySelector(".timer-left");
    var lastAnnounced = null;
    function tick() {
      var seconds = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var minutes = Math.ceil(seconds / 60);
      if (minutes !== lastAnnounced && (minutes <= 5 || minutes % 5 === 0)) {
        output.textContent = seconds > 0 ? "About " + minutes + " minute" + (minutes === 1 ? "" : "s") + " left." :
          "Time is up.";
        lastAnnounced = minutes;
      }
      if (seconds > 0) { setTimeout(tick, 1000); }
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to the error summary so screen-reader users hear what went wrong.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
    document.querySelectorAll("form[data-autosave]").forEach(setUpAutosave);
    document.querySelectorAll("[data-deadline]").forEach(setUpTimer);
  });
})();

// Lesson editor: a live preview from the server's own renderer, a moment after typing stops.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-preview]");
    if (!form) { return; }
    var source = form.querySelector("textarea[name=source]");
    var output = document.querySelector(".live-preview");
    var timer = null;
    function refresh() {
      var body = new FormData();
      body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
      body.append("source", source.value);
      fetch(form.getAttribute("data-preview"), { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data) { output.innerHTML = data.html; } });
    }
    source.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 500); });
    if (!output.innerHTML.trim()) { refresh(); }
  });
})();
