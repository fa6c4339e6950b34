// The VM class form's "Add" buttons as the admin guide walks them: a label expression or a toleration through a
// pop-up (Enter confirms, Escape or Cancel leaves the form as it was), a sizing rule straight into the form; each
// row is added in place with the index the server reads (<block>-<i>-<field>, <block>-count), so nothing typed
// elsewhere is lost. Without this script the buttons post the form and the server adds an empty row.
(() => {
  "use strict";
  const form = document.querySelector("form.vm-class-form");
  if (!form) return;

  function addRow(block, values) {
    const count = form.querySelector(`input[name="${block}-count"]`);
    const template = document.getElementById(`${block}-row`);
    const index = Number(count.value) || 0;
    // The template is the server's own markup of an empty row (no cluster data): only its placeholders change.
    const holder = document.createElement("template");
    holder.innerHTML = template.innerHTML.replaceAll("__i__", String(index)).replaceAll("__n__", String(index + 1));
    const first = holder.content.firstElementChild;
    for (const [name, value] of Object.entries(values || {})) {
      const field = holder.content.querySelector(`[name="${block}-${index}-${name}"]`);
      if (field) field.value = value;
    }
    template.before(holder.content);
    count.value = String(index + 1);
    return first;
  }

  let opener = null;
  form.addEventListener("click", (event) => {
    const button = event.target.closest('button[name="add"]');
    if (!button || button.disabled) return;
    event.preventDefault();
    // Enter in a text field "clicks" the form's first button: that is not asking for a row.
    if (event.detail === 0 && document.activeElement !== button) return;
    const dialog = button.dataset.dialog && document.getElementById(button.dataset.dialog);
    if (!dialog) {
      const row = addRow(button.value);
      const field = row && row.querySelector("input, select");
      if (field) field.focus();
      return;
    }
    opener = button;
    dialog.querySelector("form").reset();
    dialog.returnValue = "";
    dialog.dataset.block = button.value;
    dialog.showModal();
  });

  for (const dialog of document.querySelectorAll("dialog.row-dialog")) {
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "enter") {
        addRow(dialog.dataset.block, Object.fromEntries(new FormData(dialog.querySelector("form"))));
      }
      if (opener) opener.focus();
    });
  }
})();
