// Small behaviours of the server-rendered pages: dialogs, the boot-disk list, byte counters.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.openDialog);
      if (dialog) { dialog.showModal(); }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      document.getElementById(closer.dataset.closeDialog).close();
      return;
    }
    var remove = event.target.closest("[data-remove-boot-disk]");
    if (remove) {
      remove.closest("li").remove();
    }
  });

  // A row added to the boot-disk list means the dialog did its job.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "boot-disks") {
      var dialog = document.getElementById("boot-disk-dialog");
      if (dialog && dialog.open) { dialog.close(); }
      var form = dialog && dialog.querySelector("form");
      if (form) { form.reset(); }
    }
    updateByteCounters();
  });

  // The conditions table opens by itself when a condition has a message; once the user opens or closes it, the
  // live updates that replace the status block keep the user's choice.
  var conditionsOpen = null;
  document.addEventListener("click", function (event) {
    var summary = event.target.closest && event.target.closest("details.conditions-box > summary");
    if (summary) { conditionsOpen = !summary.parentElement.open; }
  });
  document.addEventListener("htmx:load", function (event) {
    if (conditionsOpen === null) { return; }
    var root = event.target;
    var boxes = root.matches && root.matches("details.conditions-box") ? [root] : root.querySelectorAll("details.conditions-box");
    Array.prototype.forEach.call(boxes, function (box) { box.open = conditionsOpen; });
  });

  // "Choose from existing": choosing a disk in the list adds it (the quick start's "Select the disk from the list").
  // Not when the choice came from the keyboard: arrowing through a closed list fires "change" on every step, so a
  // keyboard user confirms with Add (or Enter) instead.
  var keyedSelect = null;
  document.addEventListener("keydown", function (event) { keyedSelect = event.target; }, true);
  document.addEventListener("pointerdown", function () { keyedSelect = null; }, true);
  document.addEventListener("change", function (event) {
    if (event.target.id === "id_existing" && event.target.value && keyedSelect !== event.target) {
      event.target.form.requestSubmit();
    }
  });

  // List selection for bulk actions: kept by name, so live updates of the rows do not lose it.
  var selected = new Set();
  function restoreSelection() {
    document.querySelectorAll("[data-select-row]").forEach(function (box) { box.checked = selected.has(box.value); });
    var all = document.querySelector("[data-select-all]");
    var boxes = document.querySelectorAll("[data-select-row]");
    if (all) { all.checked = boxes.length > 0 && Array.prototype.every.call(boxes, function (b) { return b.checked; }); }
    var checked = document.querySelectorAll("[data-select-row]:checked").length;
    var count = document.querySelector("[data-selected-count]");
    if (count) { count.textContent = checked ? checked + " selected:" : "Select rows to act on several at once:"; }
    document.querySelectorAll("[data-bulk-action]").forEach(function (b) { b.disabled = checked === 0; });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-row]")) {
      if (event.target.checked) { selected.add(event.target.value); } else { selected.delete(event.target.value); }
      restoreSelection();
    } else if (event.target.matches("[data-select-all]")) {
      document.querySelectorAll("[data-select-row]").forEach(function (box) {
        if (event.target.checked) { selected.add(box.value); } else { selected.delete(box.value); }
      });
      restoreSelection();
    }
  });
  // Menus inside live-updated fragments (operations, row menus) stay open when the fragment is replaced.
  var openMenus = new Set();
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details.dropdown[id]")) { return; }
    if (menu.open) { openMenus.add(menu.id); } else if (menu.isConnected) { openMenus.delete(menu.id); }
  }, true);
  // Choosing an item closes its menu (the item's dialog or page takes over).
  document.addEventListener("click", function (event) {
    var item = event.target.closest("details.dropdown[id] li a, details.dropdown[id] li button");
    if (!item) { return; }
    var menu = item.closest("details");
    openMenus.delete(menu.id);
    menu.open = false;
  });
  function reopenMenus() {
    openMenus.forEach(function (id) {
      var menu = document.getElementById(id);
      if (menu && !menu.open) { menu.open = true; }
    });
  }
  // A live update never replaces a fragment under an open menu: the item under the pointer would
  // move or vanish mid-click. The newest update waits until the menu closes and its request is done.
  var deferred = {};
  function hasOpenMenu(target) {
    return Array.prototype.some.call(target.querySelectorAll("details.dropdown[id]"), function (menu) {
      return menu.open || openMenus.has(menu.id);
    });
  }
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.id || !hasOpenMenu(target)) { return; }
    var holder = document.createElement("div");
    holder.appendChild(event.detail.fragment.cloneNode(true));
    deferred[target.id] = holder.innerHTML;
    event.detail.shouldSwap = false;
  });
  function applyDeferred() {
    Object.keys(deferred).forEach(function (id) {
      var target = document.getElementById(id);
      if (!target) { delete deferred[id]; return; }
      if (hasOpenMenu(target) || target.querySelector(".htmx-request")) { return; }
      var html = deferred[id];
      delete deferred[id];
      htmx.swap(target, html, { swapStyle: "outerHTML" });
      restoreSelection();
    });
  }
  document.addEventListener("toggle", function () { setTimeout(applyDeferred, 0); }, true);
  document.addEventListener("htmx:afterRequest", function () { setTimeout(applyDeferred, 0); });
  ["htmx:afterSwap", "htmx:oobAfterSwap", "htmx:wsAfterMessage"].forEach(function (name) {
    document.addEventListener(name, function () { restoreSelection(); reopenMenus(); });
  });
  document.addEventListener("DOMContentLoaded", restoreSelection);

  // A row's "⋯" menu is placed fixed to the viewport under (or, near the bottom, over) its button: the
  // table's scrolling box would otherwise clip the menus of the last rows.
  function placeRowMenu(menu) {
    var list = menu.querySelector(":scope > ul");
    if (!list) { return; }
    if (!menu.open) { list.classList.remove("placed"); return; }
    list.classList.add("placed");
    var anchor = menu.querySelector("summary").getBoundingClientRect();
    var box = list.getBoundingClientRect();
    var room = window.innerHeight - 8;
    var top = anchor.bottom + 4;
    if (top + box.height > room) {
      top = anchor.top - 4 - box.height >= 8 ? anchor.top - 4 - box.height : Math.max(8, room - box.height);
    }
    var left = Math.max(8, Math.min(anchor.right - box.width, window.innerWidth - 8 - box.width));
    list.style.top = top + "px";
    list.style.left = left + "px";
    list.style.right = "auto";
  }
  function placeOpenRowMenus() {
    document.querySelectorAll("details.row-menu[open]").forEach(placeRowMenu);
  }
  document.addEventListener("toggle", function (event) {
    if (event.target.matches && event.target.matches("details.row-menu")) { placeRowMenu(event.target); }
  }, true);
  window.addEventListener("scroll", placeOpenRowMenus, true);
  window.addEventListener("resize", placeOpenRowMenus);

  // VM create: the CPU shares offered follow the sizing policy of the chosen core count.
  function followSizingPolicy() {
    var data = document.getElementById("sizing-policies");
    var cores = document.getElementById("id_cores");
    var fraction = document.getElementById("id_core_fraction");
    if (!data || !cores || !fraction) { return; }
    var policies = JSON.parse(data.textContent);
    var n = parseInt(cores.value, 10);
    var policy = policies.find(function (p) { return p.min <= n && n <= p.max; });
    Array.prototype.forEach.call(fraction.options, function (option) {
      option.disabled = Boolean(option.value && policy && policy.fractions.length &&
                                policy.fractions.indexOf(option.value) < 0);
    });
    if (fraction.selectedOptions[0] && fraction.selectedOptions[0].disabled) { fraction.value = ""; }
    var help = document.getElementById("id_memory_helptext");
    if (help && policy) { help.textContent = "For " + n + " cores: " + policy.text; }
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "id_cores") { followSizingPolicy(); }
  });
  document.addEventListener("DOMContentLoaded", followSizingPolicy);

  // Meta tab: "Add" asks for a key and a value in a dialog, "Enter" puts them in the table to save.
  document.documentElement.classList.add("js");
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-meta-add]");
    if (!form) { return; }
    var map = form.dataset.metaAdd;
    var count = document.querySelector('[data-meta-count="' + map + '"]');
    var rows = document.getElementById("meta-rows-" + map);
    var key = form.elements.key.value.trim();
    if (!key || !count || !rows) { event.preventDefault(); return; }
    var index = parseInt(count.value, 10);
    var row = document.createElement("tr");
    row.dataset.key = key;
    [["key", key], ["value", form.elements.value.value]].forEach(function (pair) {
      var cell = document.createElement("td");
      var input = document.createElement("input");
      input.name = map + "-" + pair[0] + "-" + index;
      input.value = pair[1];
      input.setAttribute("aria-label", (pair[0] === "key" ? "Key " : "Value of ") + key);
      cell.appendChild(input);
      row.appendChild(cell);
    });
    row.appendChild(document.createElement("td"));
    var placeholder = rows.querySelector("td[colspan]");
    if (placeholder) { placeholder.parentElement.remove(); }
    rows.insertBefore(row, rows.querySelector(".meta-new"));
    count.value = String(index + 1);
    markChanged(rows);
    form.reset();
  });

  // A form marked data-save-appears shows its Save button (data-appears-on-change) once something in it changed:
  // the guide's "Click the "Save" button that appears". The server marks a form it sends back edited data-changed.
  function markChanged(element) {
    var form = element && element.closest && element.closest("form[data-save-appears]");
    if (form) { form.setAttribute("data-changed", ""); }
  }
  ["input", "change"].forEach(function (name) {
    document.addEventListener(name, function (event) { markChanged(event.target); });
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-save-appears]").forEach(function (form) {
      if (form.querySelector('.error, [aria-invalid="true"]')) { form.setAttribute("data-changed", ""); }
    });
  });

  // A confirmation dialog closes once its form is sent (the response updates the page behind it).
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-close-dialog-on-submit]");
    if (!form) { return; }
    var dialog = document.getElementById(form.dataset.closeDialogOnSubmit);
    if (dialog && dialog.open) { setTimeout(function () { dialog.close(); }, 0); }
  });

  // Responses with form errors come back as 422; let htmx swap them like any page.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function updateByteCounters() {
    document.querySelectorAll("[data-byte-count]").forEach(function (counter) {
      var field = document.getElementById(counter.dataset.byteCount);
      if (!field) { return; }
      var bytes = new TextEncoder().encode(field.value.replace(/\r\n/g, "\n")).length;
      counter.textContent = String(bytes);
      counter.parentElement.classList.toggle("warn", bytes > Number(counter.dataset.byteLimit));  // over what fits inline
    });
  }
  document.addEventListener("input", updateByteCounters);
  document.addEventListener("DOMContentLoaded", updateByteCounters);
})();

// Copy buttons: data-copy names the element whose text goes to the clipboard.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) { return; }
  var source = document.getElementById(button.dataset.copy);
  if (!source) { return; }
  var done = function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(source.textContent).then(done);
  } else {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
    done();
  }
});

// A form the server marks data-auto-submit continues what the user started (an IP address request once the
// address is bound or refused): submit it as if its button were pressed.
(function () {
  function submitMarked(root) {
    (root || document).querySelectorAll("form[data-auto-submit]").forEach(function (form) {
      form.removeAttribute("data-auto-submit");
      form.requestSubmit();
    });
  }
  document.addEventListener("DOMContentLoaded", function () { submitMarked(document); });
  document.addEventListener("htmx:afterSwap", function (event) { submitMarked(event.target); });
})();
