/* The import page: while a file is checked or applied (seconds for a large file), a progress
   bar says how far it is. It starts indeterminate and follows the figure the server leaves for
   it (the form's data-progress-url, polled); the live region speaks only when the step changes.
   Progressive enhancement only: without this file the browser's own loading indicator shows. */
(function () {
  "use strict";

  var STEPS = { checking: "Checking the rows…", writing: "Writing the students…" };
  var POLL_MS = 700;

  function setUpProgress(form) {
    var status = form.querySelector("[data-progress-status]");
    if (!status) return;
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) return;
      var bar = document.createElement("progress");
      bar.setAttribute("aria-label", "Import progress");
      var text = document.createElement("span");
      text.textContent = " " + form.getAttribute("data-import-progress");
      status.textContent = "";
      status.appendChild(bar);
      status.appendChild(text);
      status.hidden = false;
      form.setAttribute("aria-busy", "true");
      // Disabled after the submit has been taken, so the button's own value still goes.
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
      var url = form.getAttribute("data-progress-url");
      if (!url || !window.fetch) return;
      var step = null;
      function poll() {
        window.fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (figure) {
            if (!figure || figure.percent === null || figure.percent === undefined) return;
            bar.max = 100;
            bar.value = figure.percent;
            if (figure.step !== step && STEPS[figure.step]) {
              step = figure.step;
              text.textContent = " " + STEPS[step];
            }
          })
          .catch(function () { /* the bar stays as it is */ })
          .then(function () { window.setTimeout(poll, POLL_MS); });
      }
      window.setTimeout(poll, POLL_MS);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-import-progress]").forEach(setUpProgress);
  });
})();
