// Imports: upload one or many files (drop them, or choose them) with the store, a column
// mapping and a statement profile; watch the upload and then the import job; read a
// refused file's errors by file, line and column; run a reconciliation; see the history.

import { ApiError, get, post, upload, waitForJob } from '../api.js';
import { alertBox, field, h, select, show } from '../dom.js';
import { bytes, count, unixTime } from '../format.js';
import { t } from '../i18n.js';
import { dataTable, scroller } from '../table.js';

const BUILT_IN_PROFILES = ['payoneer', 'airwallex'];

function today() {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}

/** A job's outcome: each file with its outcome and, for a refused file, its errors. */
export function jobResult(job) {
  const box = h('div', { class: 'job-result', dataset: { job: job.id, state: job.state } });
  box.append(h('p', { class: `state ${job.state}` }, t('imports.job_state', { id: job.id, kind: t(`job.kind.${job.kind}`), state: t(`job.state.${job.state}`) })));
  if (job.error) box.append(alertBox(job.error));
  const result = job.result;
  if (!result) return box;
  if (job.kind === 'reconcile') {
    box.append(
      h(
        'p',
        {},
        t('imports.reconciled', { orders: count(result.orders), differences: count(result.differences), receipts: count(result.receipt_differences ?? 0) }),
        ' ',
        h('a', { href: '/' }, t('nav.dashboard')),
        ' · ',
        h('a', { href: '/differences' }, t('nav.differences')),
      ),
    );
    return box;
  }
  const files = result.files || [];
  box.append(
    dataTable(
      [
        { key: 'name', label: t('col.file') },
        { key: 'outcome', label: t('col.outcome'), cell: (f) => h('span', { class: `badge ${f.outcome}` }, t(`outcome.${f.outcome}`)) },
        { key: 'summary', label: t('col.summary') },
      ],
      files,
      { caption: t('imports.files'), rowAttributes: (f) => ({ dataset: { outcome: f.outcome } }) },
    ),
  );
  for (const file of files.filter((f) => f.diagnostics && f.diagnostics.length)) {
    box.append(
      scroller(
        dataTable(
          [
            { key: 'file', label: t('col.file'), cell: (d) => d.file || file.name },
            { key: 'line', label: t('col.line'), count: true },
            { key: 'column', label: t('col.column'), cell: (d) => (d.column ? String(d.column) : d.column_name || '—') },
            { key: 'severity', label: t('col.severity'), cell: (d) => t(`severity.${d.severity}`) },
            { key: 'message', label: t('col.message'), cell: (d) => h('span', { class: 'message-text' }, d.message) },
          ],
          file.diagnostics,
          { caption: t(file.outcome === 'refused' ? 'imports.refused_because' : 'imports.warnings', { file: file.name }), id: `diagnostics-${file.upload_id}` },
        ),
        file.name,
      ),
    );
  }
  return box;
}

function progressLine(id, labelText) {
  const bar = h('progress', { id, max: '100', value: '0' });
  const text = h('span', { class: 'progress-text', id: `${id}-text` });
  const wrap = h('div', { class: 'progress', hidden: true }, h('label', { for: id }, labelText), bar, text);
  return { wrap, bar, text };
}

function showJobProgress(line, job) {
  const { done, total, message } = job.progress || {};
  show(line.wrap, true);
  if (total) {
    line.bar.max = total;
    line.bar.value = done;
  } else {
    line.bar.removeAttribute('value');
  }
  line.text.textContent = `${t(`job.state.${job.state}`)}${message ? ` — ${message}` : ''}`;
}

function uploadForm(ctx, refreshHistory) {
  let chosen = [];
  // The file input is hidden behind its label, which looks like a button (the native
  // control's text would be in the browser's language, not the page's); it keeps focus.
  const files = h('input', { type: 'file', id: 'files', name: 'file', multiple: true, class: 'file-input visually-hidden' });
  const list = h('ul', { class: 'chosen', id: 'chosen-files', 'aria-live': 'polite' });
  const drop = h(
    'div',
    { class: 'dropzone', id: 'dropzone' },
    h('p', {}, t('imports.drop_here')),
    files,
    h('label', { for: 'files', class: 'button-like' }, t('imports.choose_files')),
    list,
  );
  const drawChosen = () => {
    list.replaceChildren(
      ...chosen.map((file, index) =>
        h(
          'li',
          {},
          `${file.name} (${bytes(file.size)}) `,
          h('button', { type: 'button', class: 'link', 'aria-label': t('imports.remove_file', { file: file.name }), onclick: () => { chosen.splice(index, 1); drawChosen(); } }, '×'),
        ),
      ),
    );
  };
  const add = (fileList) => {
    chosen = chosen.concat([...fileList]);
    drawChosen();
  };
  files.addEventListener('change', () => {
    add(files.files);
    files.value = '';
  });
  for (const name of ['dragenter', 'dragover']) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add('over');
    });
  }
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    if (event.dataTransfer?.files?.length) add(event.dataTransfer.files);
  });

  const store = h('input', { id: 'upload-store', name: 'store', list: 'store-names', value: ctx.params.get('store') || '', autocomplete: 'off' });
  const storeNames = h('datalist', { id: 'store-names' }, ctx.stores.map((name) => h('option', { value: name })));
  const mapping = h('input', { type: 'file', id: 'mapping', name: 'mapping', accept: '.toml' });
  const profileName = select({ id: 'profile-name', name: 'profile' }, [['', t('imports.no_profile')], ...BUILT_IN_PROFILES.map((p) => [p, p])], '');
  const profileFile = h('input', { type: 'file', id: 'profile-file', name: 'profile-file', accept: '.toml' });
  const submit = h('button', { type: 'submit', id: 'upload-submit' }, t('imports.upload'));
  const uploading = progressLine('upload-progress', t('imports.uploading'));
  const importing = progressLine('job-progress', t('imports.importing'));
  const message = h('div', { class: 'message', id: 'upload-message' });
  const result = h('div', { id: 'upload-result' });

  const form = h(
    'form',
    { class: 'card', id: 'upload-form' },
    h('h2', {}, t('imports.upload_title')),
    drop,
    h(
      'div',
      { class: 'row' },
      field(t('imports.store'), store, t('imports.store_hint')),
      storeNames,
      field(t('imports.mapping'), mapping, t('imports.mapping_hint')),
      field(t('imports.profile_name'), profileName),
      field(t('imports.profile_file'), profileFile, t('imports.profile_hint')),
    ),
    h('div', { class: 'actions' }, submit),
    uploading.wrap,
    importing.wrap,
    message,
    result,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    result.replaceChildren();
    if (!chosen.length) {
      message.append(alertBox(t('imports.no_files')));
      files.focus();
      return;
    }
    const body = new FormData();
    if (store.value.trim()) body.append('store', store.value.trim());
    if (mapping.files[0]) body.append('mapping', mapping.files[0], mapping.files[0].name);
    if (profileFile.files[0]) body.append('profile', profileFile.files[0], profileFile.files[0].name);
    else if (profileName.value) body.append('profile', profileName.value);
    for (const file of chosen) body.append('file', file, file.name);
    submit.disabled = true;
    show(importing.wrap, false);
    show(uploading.wrap, true);
    try {
      const queued = await upload('/api/uploads', body, (loaded, total) => {
        uploading.bar.max = total;
        uploading.bar.value = loaded;
        uploading.text.textContent = `${Math.round((loaded / total) * 100)} %`;
      });
      uploading.bar.value = uploading.bar.max;
      uploading.text.textContent = t('imports.uploaded');
      const job = await waitForJob(queued.id, (j) => showJobProgress(importing, j));
      result.append(jobResult(job));
      const refused = job.result?.refused ?? 0;
      ctx.announce(t('imports.done', { files: count(job.result?.files?.length ?? 0), refused: count(refused) }));
      chosen = [];
      drawChosen();
      mapping.value = '';
      profileFile.value = '';
      await refreshHistory();
    } catch (error) {
      message.append(alertBox(error instanceof ApiError ? error.message : String(error)));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function reconcileForm(ctx, refreshHistory) {
  const asOf = h('input', { type: 'date', id: 'as-of', name: 'as_of', value: today(), required: true });
  const submit = h('button', { type: 'submit', id: 'reconcile-submit' }, t('imports.reconcile'));
  const running = progressLine('reconcile-progress', t('imports.reconciling'));
  const message = h('div', { class: 'message' });
  const result = h('div', { id: 'reconcile-result' });
  const form = h(
    'form',
    { class: 'card', id: 'reconcile-form' },
    h('h2', {}, t('imports.reconcile_title')),
    h('p', { class: 'hint' }, t('imports.reconcile_hint')),
    h('div', { class: 'row' }, field(t('imports.as_of'), asOf)),
    h('div', { class: 'actions' }, submit),
    running.wrap,
    message,
    result,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.replaceChildren();
    result.replaceChildren();
    submit.disabled = true;
    try {
      const queued = await post('/api/reconcile', { as_of: asOf.value });
      const job = await waitForJob(queued.id, (j) => showJobProgress(running, j));
      result.append(jobResult(job));
      ctx.announce(t(`job.state.${job.state}`));
      await ctx.reloadStores();
      await refreshHistory();
    } catch (error) {
      message.append(alertBox(error instanceof ApiError ? error.message : String(error)));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function summary(job) {
  if (!job.result) return job.error || '—';
  if (job.kind === 'reconcile') return t('imports.reconciled_short', { orders: count(job.result.orders), differences: count(job.result.differences) });
  return t('imports.files_short', { files: count(job.result.files?.length ?? 0), refused: count(job.result.refused ?? 0) });
}

async function historySection() {
  const [jobs, uploads] = await Promise.all([get('/api/jobs'), get('/api/uploads')]);
  const detail = h('div', { id: 'job-detail', tabindex: '-1' });
  const jobTable = dataTable(
    [
      { key: 'id', label: t('col.job'), count: true },
      { key: 'kind', label: t('col.kind'), cell: (j) => t(`job.kind.${j.kind}`) },
      { key: 'state', label: t('col.state'), cell: (j) => h('span', { class: `badge ${j.state}` }, t(`job.state.${j.state}`)) },
      { key: 'progress', label: t('col.progress'), cell: (j) => (j.progress?.total ? `${count(j.progress.done)} / ${count(j.progress.total)}` : '—'), sortable: false },
      { key: 'created_at', label: t('col.created'), cell: (j) => unixTime(j.created_at) },
      { key: 'finished_at', label: t('col.finished'), cell: (j) => unixTime(j.finished_at) },
      { key: 'summary', label: t('col.summary'), cell: summary, sortable: false },
      {
        key: 'details',
        label: t('col.details'),
        sortable: false,
        cell: (j) =>
          j.result || j.error
            ? h('button', { type: 'button', class: 'secondary small', dataset: { job: j.id }, onclick: () => { detail.replaceChildren(jobResult(j)); detail.focus(); } }, t('imports.show'))
            : '—',
      },
    ],
    jobs.items,
    { caption: t('imports.jobs'), id: 'jobs', rowAttributes: (j) => ({ dataset: { job: j.id, state: j.state } }) },
  );
  const uploadTable = dataTable(
    [
      { key: 'name', label: t('col.file') },
      { key: 'store', label: t('col.store'), cell: (u) => u.store || '—' },
      { key: 'size_bytes', label: t('col.size'), cell: (u) => bytes(u.size_bytes), value: (u) => u.size_bytes },
      { key: 'sha256', label: 'SHA-256', cell: (u) => h('code', { title: u.sha256 }, u.sha256.slice(0, 12)) },
      { key: 'created_at', label: t('col.uploaded'), cell: (u) => unixTime(u.created_at) },
    ],
    uploads.items,
    { caption: t('imports.uploads'), id: 'uploads' },
  );
  return h('section', { id: 'history' }, h('h2', {}, t('imports.history')), scroller(jobTable, t('imports.jobs')), detail, scroller(uploadTable, t('imports.uploads')));
}

export async function render(ctx) {
  const page = h('section', { class: 'imports-page' }, h('h1', { id: 'page-title', tabindex: '-1' }, t('imports.title')));
  let history = await historySection();
  const refreshHistory = async () => {
    const next = await historySection();
    history.replaceWith(next);
    history = next;
  };
  if (ctx.may('import')) {
    page.append(h('div', { class: 'two' }, uploadForm(ctx, refreshHistory), reconcileForm(ctx, refreshHistory)));
  } else {
    page.append(h('p', { class: 'hint' }, t('imports.read_only')));
  }
  page.append(history);
  return page;
}
