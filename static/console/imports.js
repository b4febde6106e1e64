/* The import page: while a file is checked or applied (seconds for a large file), say so.
   Progressive enhancement only: without this file the browser's own loading indicator shows. */
(function () {
  "use strict";

  function setUpProgress(form) {
    var status = form.querySelector("[data-progress-status]");
    if (!status) return;
    form.addEventListener("submit", function () {
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
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-import-progress]").forEach(setUpProgress);
  });
})();
