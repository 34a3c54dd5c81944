// A TOML editor's refusal (the matching rules in settings, the alert configuration): the
// server names the first error as "file.toml:LINE:COLUMN: error: message". It is shown
// under the editor in the user's words, the editor is marked invalid, and the cursor is
// put where the error is.

import { ApiError } from './api.js';
import { alertBox } from './dom.js';
import { t } from './i18n.js';

const AT = /^[^:]*:(\d+):(\d+):\s*(?:error:\s*)?([\s\S]*)$/;

/** Shows `problem` (the refused save) in `container`, under `editor` (a textarea). */
export function showEditorError(editor, container, problem) {
  editor.setAttribute('aria-invalid', 'true');
  const detail = problem instanceof ApiError ? problem.message : String(problem);
  const at = AT.exec(detail);
  if (!at) {
    container.append(alertBox(detail));
    return;
  }
  const [line, column] = [Number(at[1]), Number(at[2])];
  const box = alertBox(`${t('editor.error_at', { line, column })} ${at[3]}`);
  box.dataset.line = line;
  box.dataset.column = column;
  container.append(box);
  const lines = editor.value.split('\n');
  const offset = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0) + Math.max(0, column - 1);
  editor.focus();
  editor.setSelectionRange(offset, offset);
}

/** Clears what showEditorError showed, before another save. */
export function clearEditorError(editor, container) {
  container.replaceChildren();
  editor.removeAttribute('aria-invalid');
}
