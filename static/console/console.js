/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  // "Select all" for the students list's row checkboxes, and a live count of ticked rows.
  function setUpSelection(form) {
    var all = form.querySelector("[data-select-all]");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=user_ids]"));
    var count = form.querySelector("[data-selected-count]");
    if (!boxes.length) return;

    function refresh() {
      var ticked = boxes.filter(function (b) { return b.checked; }).length;
      boxes.forEach(function (b) {
        var row = b.closest("tr");
        if (row) row.classList.toggle("is-selected", b.checked);
      });
      if (all) {
        all.checked = ticked === boxes.length;
        all.indeterminate = ticked > 0 && ticked < boxes.length;
      }
      if (count) count.textContent = ticked ? ticked + " selected" : "None selected";
    }

    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (b) { b.checked = all.checked; });
        refresh();
      });
    }
    boxes.forEach(function (b) { b.addEventListener("change", refresh); });
    refresh();

    // "All matching the filters": the ticks do not count, so they are set aside meanwhile.
    var scopes = Array.prototype.slice.call(form.querySelectorAll("input[name=scope]"));
    function applyScope() {
      var matching = scopes.some(function (r) { return r.checked && r.value === "matching"; });
      boxes.concat(all ? [all] : []).forEach(function (b) { b.disabled = matching; });
      if (count) count.hidden = matching;
    }
    scopes.forEach(function (r) { r.addEventListener("change", applyScope); });
    applyScope();
  }

  // The bulk bar's Action chooser: only the chosen action's fields and button are shown; the
  // others are disabled, so neither their checks nor Enter in a field can pick them. Without
  // JavaScript every section shows, each with its own button.
  function setUpBulkChooser(form) {
    var chooser = form.querySelector("[data-bulk-chooser]");
    if (!chooser) return;
    var select = chooser.querySelector("select");
    var sections = Array.prototype.slice.call(form.querySelectorAll("[data-bulk-for]"));
    function apply() {
      var action = select.value;
      sections.forEach(function (section) {
        var on = section.getAttribute("data-bulk-for").split(" ").indexOf(action) !== -1;
        section.hidden = !on;
        section.disabled = !on;
        section.querySelectorAll("[data-bulk-action]").forEach(function (button) {
          var mine = button.getAttribute("data-bulk-action") === action;
          button.hidden = !mine;
          button.disabled = !mine;
        });
      });
    }
    chooser.hidden = false;
    select.addEventListener("change", apply);
    apply();
  }

  // ---- Bulk actions: the case studies of the ticked students' programmes, and the preview ----
  // With "the ticked students", the case-study chooser shows only the programmes (its
  // optgroups) of the ticked rows (each row's box names its programmes); with none ticked, or
  // with "all matching", every programme the server offered (those of the matching students).
  // A choice no longer shown is cleared. Without JavaScript every programme shows and
  // the preview names anyone who cannot take the chosen one.
  function setUpCaseStudyScope(form) {
    var select = form.querySelector("#bulk-case-study");
    if (!select) return;
    var groups = Array.prototype.slice.call(select.querySelectorAll("optgroup[data-programme]"));
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=user_ids][data-programmes]"));
    var scopes = Array.prototype.slice.call(form.querySelectorAll("input[name=scope]"));
    function apply() {
      var matching = scopes.some(function (r) { return r.checked && r.value === "matching"; });
      var wanted = {};
      var ticked = false;
      if (!matching) {
        boxes.forEach(function (box) {
          if (!box.checked) return;
          ticked = true;
          box.getAttribute("data-programmes").split(" ").forEach(function (code) { if (code) wanted[code] = true; });
        });
      }
      groups.forEach(function (group) {
        var shown = !ticked || wanted[group.getAttribute("data-programme")] === true;
        group.hidden = !shown;
        group.disabled = !shown;
      });
      // A case study of several programmes is under each; keep the choice under one shown.
      var chosen = select.options[select.selectedIndex];
      if (chosen && chosen.parentNode.disabled) {
        var shown = Array.prototype.filter.call(select.options, function (option) {
          return option.value === chosen.value && !option.parentNode.disabled;
        });
        if (shown.length) shown[0].selected = true;
        else select.value = "";
      }
    }
    // "Select all" ticks boxes without their own change events, so listen on the whole form.
    form.addEventListener("change", function (event) {
      if (event.target !== select) apply();
    });
    apply();
  }
  // ---- end of the bulk actions' block ----

  // A filter select marked data-autosubmit applies its form as soon as it changes; the
  // form's Apply button does the same without JavaScript.
  function setUpAutosubmit(select) {
    select.addEventListener("change", function () {
      if (select.form) select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    });
  }

  // The phone menu (a <details>) closes with Escape and when a click lands outside it.
  function setUpMenu(menu) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (menu.open && !menu.contains(event.target)) menu.open = false;
    });
  }

  // A background export's page follows its job: the rows written so far, and a reload (to
  // show the download link or the error) when its state changes. Without this file the page
  // has a "Refresh now" link.
  function followExport(section) {
    var url = section.getAttribute("data-poll-url");
    var state = section.getAttribute("data-state");
    var done = section.querySelector("[data-rows-done]");
    var total = section.querySelector("[data-rows-total]");
    var percent = section.querySelector("[data-percent]");
    var bar = section.querySelector(".meter > span");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body || !body.data) return;
          var job = body.data;
          if (job.state !== state) { window.location.reload(); return; }
          var share = Math.round(job.progress * 100);
          if (done) done.textContent = job.rows_done.toLocaleString("en-GB");
          if (total && job.rows_total !== null) total.textContent = job.rows_total.toLocaleString("en-GB");
          if (percent) percent.textContent = share + "%";
          if (bar) bar.style.width = share + "%";
        })
        .catch(function () {})
        .then(function () { window.setTimeout(poll, 2000); });
    }
    window.setTimeout(poll, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll-url]").forEach(followExport);
    document.querySelectorAll("form[data-bulk]").forEach(setUpSelection);
    document.querySelectorAll("form[data-bulk]").forEach(setUpBulkChooser);
    document.querySelectorAll("form[data-bulk]").forEach(setUpCaseStudyScope);
    document.querySelectorAll("select[data-autosubmit]").forEach(setUpAutosubmit);
    document.querySelectorAll("details.navmenu, details.menu").forEach(setUpMenu);
  });
})();

/* The list on a phone and the keyboard: the bulk tools' summary counts the students they act
   on, and after a submit the focus goes to its outcome. */
(function () {
  "use strict";

  // The closed "Bulk actions" disclosure still says whom the bar would act on.
  function setUpBulkSummary(form) {
    var count = form.querySelector("[data-bulk-summary-count]");
    if (!count) return;
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=user_ids]"));
    var matching = form.querySelector("input[name=scope][value=matching]");
    var total = matching ? matching.closest("label").textContent.match(/all ([\d,]+)/) : null;
    function refresh() {
      var ticked = boxes.filter(function (b) { return b.checked; }).length;
      if (matching && matching.checked) count.textContent = "· all " + (total ? total[1] + " " : "") + "matching";
      else count.textContent = ticked ? "· " + ticked + " selected" : "· none selected";
    }
    form.addEventListener("change", refresh);
    refresh();
  }

  // What a submit came back with: a refused form's error summary or first refused field (where
  // the fix is made; the field's error is its description), else the message at the top of the
  // content or on the card that changed. The focus goes there, so it is in view and a screen
  // reader reads it, instead of staying on the page's start.
  var OUTCOMES = [
    "[data-focus-on-load]",
    "#main .bulk-refusals, #main .form-errors",
    "#main [aria-invalid=true]",
    "#messages:not(:empty)",
    ".card-feedback:not(:empty)",
  ];

  function outcome() {
    for (var i = 0; i < OUTCOMES.length; i++) {
      var target = document.querySelector(OUTCOMES[i]);
      if (target) return target;
    }
    return null;
  }

  function focusOutcome(target) {
    var details = target.closest("details:not([open])");
    if (details) details.open = true;
    if (!target.matches("a[href], button, input, select, textarea, summary, [tabindex]")) target.tabIndex = -1;
    target.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-bulk]").forEach(setUpBulkSummary);
    var target = outcome();
    if (!target) return;
    focusOutcome(target);
    // Scrolling to the address's #fragment (a card) once the page has loaded takes the focus
    // back to the page; it is given again, unless the reader has moved it meanwhile.
    window.addEventListener("load", function () {
      if (document.activeElement === document.body) focusOutcome(target);
    });
  });
})();
