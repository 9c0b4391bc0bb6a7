// A person's page and the invite form, enhanced: only the chosen course pattern's fields
// show, the care-team choice shows only for a patient, and an invitation link can be copied.
// Without this script every field shows (grouped by pattern) and the link can be selected.

/** Show the groups whose data-for-<what> lists the checked radio's value. */
function showChosen(form, radioName, groupAttribute) {
  const update = () => {
    const chosen = form.querySelector(`input[name="${radioName}"]:checked`)?.value;
    for (const group of form.querySelectorAll(`[${groupAttribute}]`)) {
      group.hidden = Boolean(chosen) && !group.getAttribute(groupAttribute).split(' ').includes(chosen);
    }
  };
  form.addEventListener('change', (event) => {
    if (event.target.name === radioName) update();
  });
  update();
}

for (const form of document.querySelectorAll('[data-course-form]')) {
  showChosen(form, 'pattern', 'data-for-patterns');
}
const inviteForm = document.querySelector('[data-for-role]')?.closest('form');
if (inviteForm) showChosen(inviteForm, 'role', 'data-for-role');

/** Select the text of an element, so the person can copy it themselves. */
function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

for (const button of document.querySelectorAll('[data-copy]')) {
  const source = document.getElementById(button.dataset.copy);
  const say = button.parentElement.querySelector('[data-copy-status]');
  button.hidden = !source;
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      say.textContent = 'Copied. Paste it into a secure message.';
    } catch {
      selectText(source);
      say.textContent = 'Selected: press Ctrl+C (or ⌘C) to copy it.';
    }
  });
}

document.getElementById('date-preview')?.focus();
