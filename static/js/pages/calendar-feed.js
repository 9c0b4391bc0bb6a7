// The Reminders page's calendar link: the Copy button (shown only where copying works).

const input = document.querySelector('[data-calendar-url]');
const button = document.querySelector('[data-copy-calendar]');
const status = document.querySelector('[data-copy-status]');

async function copy() {
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = 'Copied.';
  } catch {
    // Denied or unavailable: select the text so a long press or Ctrl+C copies it.
    input.focus();
    input.select();
    status.textContent = 'Select the link and copy it.';
  }
}

if (input && button && status && navigator.clipboard) {
  button.hidden = false;
  button.addEventListener('click', copy);
}
