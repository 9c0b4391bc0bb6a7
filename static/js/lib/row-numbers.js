// Renumbering a row of the template editor's lists after a row is added, removed or moved.
//
// Field names carry the row's place ('cues-2-at', 'intention-0', button values 'up-cues-2'),
// and so do ids, label targets, fragments and the numbers people read ('Prompt 3 text',
// 'Move prompt 3 up'). The server reads rows in the order of these numbers
// (kap/clinic/template_form.py), so after any change every row must say where it now is.

/** Escape a list name for use inside a regular expression. @param {string} text */
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Rewrites every '<list>-<n>' in an attribute value to '<list>-<index>' ('cues-2-at' to
 * 'cues-0-at', 'up-cues-2' to 'up-cues-0', '#cues-row-2' to '#cues-row-0').
 * @param {string} value @param {string} list @param {number} index
 */
export function renumberValue(value, list, index) {
  const pattern = new RegExp(`(^|[^a-z_])(${escapeRegExp(list)})-(row-)?\\d+(?=$|[^0-9])`, 'g');
  return value.replace(pattern, (_m, before, name, row) => `${before}${name}-${row ?? ''}${index}`);
}

/**
 * Rewrites the number people read in an accessible name ('Move prompt 3 up' for the row at
 * index 0 becomes 'Move prompt 1 up'): the first whole number in the text.
 * @param {string} text @param {number} index
 */
export function renumberLabel(text, index) {
  return text.replace(/\d+/, String(index + 1));
}

/**
 * Where a list action leaves the rows: the new order of the old indices, and the index of the
 * row that should take the focus afterwards (null: the list is empty).
 * @param {number} count rows before the change
 * @param {'add'|'remove'|'up'|'down'} verb @param {number} index the row acted on (add: ignored)
 * @returns {{order: (number|null)[], focus: number|null}} null in order marks the new row
 */
export function applyAction(count, verb, index) {
  const order = Array.from({ length: count }, (_v, i) => i);
  if (verb === 'add') return { order: [...order, null], focus: count };
  if (verb === 'remove') {
    order.splice(index, 1);
    return { order, focus: order.length ? Math.min(index, order.length - 1) : null };
  }
  const to = verb === 'up' ? index - 1 : index + 1;
  if (to < 0 || to >= count) return { order, focus: index };
  [order[index], order[to]] = [order[to], order[index]];
  return { order, focus: to };
}
