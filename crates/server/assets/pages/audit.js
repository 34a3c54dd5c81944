// The audit log (审计日志), for approvers and admins (the API refuses anyone else): every
// change with who, when, what, and the object before and after, in the order it was
// recorded (the order the hash chain runs in). Pages follow the seq: `after=SEQ` in the
// URL. "Verify chain" walks the whole log on the server and names the head (its last seq
// and hash, worth recording outside tieout) or the first broken link.

import { ApiError, get } from '../api.js';
import { alertBox, field, h, select } from '../dom.js';
import { count, unixTime } from '../format.js';
import { t } from '../i18n.js';
import { dataTable, scroller } from '../table.js';

/** Entries one page shows unless the URL says `limit=`. */
const PAGE_ENTRIES = 100;
const PAGE_ENTRIES_MAX = 1000;

/** The text for `key`, or `fallback` when the dictionaries have none (a newer action). */
function known(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

const actionName = (action) => known(`audit.action.${action}`, action);
const objectKey = (entry) => `${entry.object.kind}:${entry.object.id}`;

/** An object as a link to its page where it has one. */
function objectCell(entry) {
  const { kind, id } = entry.object;
  const label = `${known(`audit.object.${kind}`, kind)} ${id}`;
  if (kind === 'order') return h('a', { href: `/orders/${encodeURIComponent(id)}` }, label);
  if (kind === 'statement') return h('a', { href: `/statements/${encodeURIComponent(id)}` }, label);
  return label;
}

const json = (value) => (value === null || value === undefined ? t('audit.none') : JSON.stringify(value, null, 2));

/** Before and after as text (never markup), and the entry's link in the chain. */
function detailsCell(entry) {
  return h(
    'details',
    { class: 'audit-details', dataset: { seq: String(entry.seq) } },
    h('summary', {}, t('audit.show_details')),
    h(
      'div',
      { class: 'audit-json' },
      h('div', {}, h('h3', {}, t('audit.before')), h('pre', { class: 'json', 'data-side': 'before' }, json(entry.before))),
      h('div', {}, h('h3', {}, t('audit.after')), h('pre', { class: 'json', 'data-side': 'after' }, json(entry.after))),
    ),
    h('p', { class: 'sub' }, `${t('audit.hash')} `, h('code', { class: 'hash' }, entry.hash), h('br'), `${t('audit.prev_hash')} `, h('code', { class: 'hash' }, entry.prev_hash)),
  );
}

function who(entry) {
  if (entry.actor.user_id === null || entry.actor.user_id === undefined) return h('span', { class: 'badge system' }, t('audit.system'));
  return entry.actor.name || `#${entry.actor.user_id}`;
}

/** The verify button and its result: valid with the head, or the first broken link. */
function verifySection(ctx, limit) {
  const result = h('div', { id: 'verify-result', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', id: 'verify-chain' }, t('audit.verify'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    result.replaceChildren(h('p', { class: 'hint' }, t('audit.verifying')));
    try {
      const verification = await get('/api/audit/verify');
      if (!ctx.fresh()) return;
      result.replaceChildren(verificationView(ctx, verification, limit));
      ctx.announce(verification.ok ? t('audit.valid') : t('audit.broken', { seq: verification.first_broken?.seq ?? '?' }));
    } catch (error) {
      result.replaceChildren(alertBox(error instanceof ApiError ? error.message : String(error)));
    } finally {
      button.disabled = false;
    }
  });
  return h(
    'section',
    { class: 'card verify', 'aria-labelledby': 'verify-title' },
    h('h2', { id: 'verify-title' }, t('audit.chain')),
    h('p', { class: 'hint' }, t('audit.chain_hint')),
    h('div', { class: 'actions' }, button),
    result,
  );
}

function verificationView(ctx, verification, limit) {
  const head = verification.head;
  const facts = h(
    'dl',
    { class: 'facts' },
    h('dt', {}, t('audit.entries')),
    h('dd', { 'data-fact': 'entries' }, count(verification.entries)),
    head ? [h('dt', {}, t('audit.head_seq')), h('dd', { 'data-fact': 'head-seq' }, String(head.seq))] : null,
    head ? [h('dt', {}, t('audit.head_hash')), h('dd', {}, h('code', { class: 'hash', 'data-fact': 'head-hash' }, head.hash))] : null,
  );
  const newest = head ? h('a', { id: 'newest-page', href: ctx.withParams({ after: Math.max(0, head.seq - limit) || null }) }, t('audit.newest')) : null;
  if (verification.ok) {
    return h(
      'div',
      { class: 'verification valid', 'data-ok': 'true' },
      h('p', { class: 'ok' }, '✓ ', head ? t('audit.valid') : t('audit.empty_log')),
      facts,
      head ? h('p', { class: 'hint' }, t('audit.record_head')) : null,
      newest,
    );
  }
  const broken = verification.first_broken;
  return h(
    'div',
    { class: 'verification broken', 'data-ok': 'false' },
    h(
      'div',
      { class: 'alert', role: 'alert', 'data-broken-seq': String(broken?.seq ?? '') },
      h('strong', {}, t('audit.broken', { seq: broken?.seq ?? '?' })),
      broken ? [h('br'), `${broken.problem} (${broken.kind})`] : null,
    ),
    facts,
    newest,
  );
}

export async function render(ctx) {
  const after = Math.max(0, Number.parseInt(ctx.params.get('after') || '0', 10) || 0);
  const requested = Number.parseInt(ctx.params.get('limit') || '', 10);
  const limit = requested >= 1 && requested <= PAGE_ENTRIES_MAX ? requested : PAGE_ENTRIES;
  const page = await get(`/api/audit?after=${after}&limit=${limit}`);
  const title = t('audit.title');
  const entries = page.items;

  // Filters within the page: an action, and text in the object (kept in the URL).
  const actions = [...new Set(entries.map((e) => e.action))].sort();
  const chosenAction = ctx.params.get('action') || '';
  const actionPicker = select(
    { id: 'audit-action', name: 'action' },
    [['', t('filter.all')], ...[...new Set([...actions, ...(chosenAction ? [chosenAction] : [])])].map((a) => [a, actionName(a)])],
    chosenAction,
  );
  const objectInput = h('input', { id: 'audit-object', name: 'object', type: 'search', autocomplete: 'off', value: ctx.params.get('object') || '' });
  const columns = [
    { key: 'seq', label: t('audit.col.seq'), count: true },
    { key: 'at', label: t('audit.col.at'), cell: (e) => unixTime(e.at) },
    { key: 'actor', label: t('audit.col.who'), value: (e) => e.actor.name, cell: who },
    { key: 'action', label: t('audit.col.action'), value: (e) => e.action, cell: (e) => (actionName(e.action) === e.action ? h('code', {}, e.action) : [actionName(e.action), ' ', h('code', { class: 'sub' }, e.action)]) },
    { key: 'object', label: t('audit.col.object'), value: objectKey, cell: objectCell },
    { key: 'details', label: t('col.details'), sortable: false, cell: detailsCell },
  ];
  const holder = h('div', {});
  const draw = () => {
    const action = actionPicker.value;
    const needle = objectInput.value.trim().toLowerCase();
    const shown = entries.filter((e) => (!action || e.action === action) && (!needle || `${objectKey(e)} ${known(`audit.object.${e.object.kind}`, '')}`.toLowerCase().includes(needle)));
    holder.replaceChildren(
      scroller(
        dataTable(columns, shown, {
          caption: t('table.caption', { title, count: shown.length }),
          id: 'audit',
          sort: ctx.params.get('sort') || '',
          onSort: (sort) => history.replaceState(null, '', ctx.withParams({ sort })),
          rowAttributes: (e) => ({ dataset: { seq: String(e.seq), action: e.action, object: objectKey(e) } }),
        }),
        title,
      ),
    );
  };
  const refilter = () => {
    history.replaceState(null, '', ctx.withParams({ action: actionPicker.value, object: objectInput.value.trim() }));
    draw();
  };
  actionPicker.addEventListener('change', refilter);
  objectInput.addEventListener('input', refilter);
  draw();

  const first = entries[0]?.seq;
  const last = entries[entries.length - 1]?.seq;
  const pager = h(
    'nav',
    { class: 'pager', 'aria-label': t('table.pages') },
    h('span', { class: 'shown' }, entries.length ? t('audit.range', { first, last }) : t('table.shown', { count: 0 })),
    after > 0 ? h('a', { href: ctx.withParams({ after: null }), id: 'first-page' }, t('table.first_page')) : null,
    after > 0 ? h('a', { href: ctx.withParams({ after: Math.max(0, after - limit) || null }), id: 'previous-page', rel: 'prev' }, t('audit.previous_page')) : null,
    page.next_after ? h('a', { href: ctx.withParams({ after: page.next_after }), id: 'next-page', rel: 'next' }, t('table.next_page')) : null,
  );

  return h(
    'section',
    { class: 'audit-page' },
    h('h1', { id: 'page-title', tabindex: '-1' }, title),
    h('p', { class: 'lead' }, t('audit.lead')),
    verifySection(ctx, limit),
    h('h2', {}, t('audit.entries_title')),
    h('div', { class: 'filters', role: 'search' }, field(t('audit.col.action'), actionPicker), field(t('audit.col.object'), objectInput, t('audit.object_hint'))),
    holder,
    pager,
  );
}
