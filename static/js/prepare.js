// Preparation page: each tick saves at once through the API, and Start session follows it.
import { api } from "./api.js";

const form = document.querySelector("[data-checklist]");
if (form) {
  const sessionId = form.dataset.sessionId;
  const status = form.querySelector("[data-checklist-status]");
  const progress = document.querySelector("[data-progress]");
  const start = document.querySelector("[data-start]");
  const missingBox = document.querySelector("[data-missing]");
  const boxes = [...form.querySelectorAll("input[data-item-id]")];
  form.querySelector("[data-checklist-save]").hidden = true; // saving is immediate now

  const refresh = () => {
    const done = boxes.filter((box) => box.checked).length;
    progress.textContent = `${done} of ${boxes.length} done`;
    const missing = boxes.filter((box) => box.dataset.required === "y" && !box.checked);
    if (start) start.disabled = missing.length > 0;
    if (missingBox) {
      missingBox.hidden = missing.length === 0;
      missingBox.querySelectorAll("[data-missing-item]").forEach((li) => {
        li.hidden = !missing.some((box) => box.dataset.itemId === li.dataset.missingItem);
      });
    }
  };

  form.addEventListener("change", async (event) => {
    const box = event.target.closest("input[data-item-id]");
    if (!box) return;
    refresh();
    status.textContent = "Saving…";
    try {
      await api.put(`/api/v1/sessions/${sessionId}/checklist/${box.dataset.itemId}`, {
        checked: box.checked,
      });
      status.textContent = "Saved.";
    } catch (error) {
      box.checked = !box.checked;
      refresh();
      status.textContent = `Not saved: ${error.message}`;
    }
  });
}
