// The differences workbench (and, with kind 'orders', the list of every order): filters
// in the URL, keyset pages, sorting within the page, selection of many, and resolve /
// assign / reopen for accountants and above. Each order links to its explain view.

import { ApiError, get, post, query } from '../api.js';
import { alertBox, field, h, select } from '../dom.js';
import { day, toUnits } from '../format.js';
import { categoryName, lang, t } from '../i18n.js';
import { reasonTexts } from '../reasons.js';
import { dataTable, pager, scroller } from '../table.js';

export const DIFFERENCE_CATEGORIES = [
  'settled_not_in_orders',
  'cancelled_but_settled',
  'duplicate_settlement_line',
  'shipped_not_settled',
  'refunded_not_written_off',
  'amount_mismatch',
  'fee_anomaly',
];
export const CATEGORIES = [...DIFFERENCE_CATEGORIES, 'not_due', 'matched'];
export const REASONS = ['timing', 'fee_dispute', 'written_off', 'duplicate_confirmed', 'data_error', 'other'];
/** How a difference is resolved, and the reason codes each way takes. */
export const KINDS = ['accept', 'adjust', 'write_off'];
const KIND_REASONS = {
  accept: ['timing', 'fee_dispute', 'duplicate_confirmed', 'data_error', 'other'],
  adjust: ['data_error', 'fee_dispute', 'timing', 'duplicate_confirmed', 'other'],
  write_off: ['small_difference', 'rounding', 'bank_charges', 'goodwill', 'other'],
};

/** A reason code's name (write-off codes share the statements' names). */
export function reasonName(code) {
  const own = t(`reason.${code}`);
  return own === `reason.${code}` ? t(`statement.reason.${code}`) : own;
}

/** The kind and reason selects of a resolve form; the reasons follow the kind. */
export function resolveControls(prefix) {
  const kind = select({ id: `${prefix}-kind`, name: 'resolution' }, KINDS.map((k) => [k, t(`resolution.${k}`)]), 'accept');
  const reason = select({ id: `${prefix}-reason`, name: 'reason' }, [], '');
  const fill = () => {
    reason.replaceChildren(...KIND_REASONS[kind.value].map((code) => h('option', { value: code }, reasonName(code))));
  };
  kind.addEventListener('change', fill);
  fill();
  return { kind, reason };
}
const FILTERS = ['category', 'store', 'marketplace', 'from', 'to', 'state', 'min_amount', 'limit'];

/** A resolution as a short text: open, or resolved — how, why and the amount booked. */
export function resolutionText(resolution) {
  if (!resolution || resolution.state !== 'resolved') return t('state.open');
  const parts = [t('state.resolved')];
  if (resolution.kind) parts.push(t(`resolution.${resolution.kind}`));
  if (resolution.reason) parts.push(reasonName(resolution.reason));
  if (resolution.kind && resolution.kind !== 'accept' && resolution.amount != null) parts.push(`${resolution.amount} ${resolution.currency || ''}`.trim());
  return parts.join(' · ');
}

/** The people an order can be assigned to: the caller, and for an admin every user. */
export async function assignees(ctx) {
  const me = { id: ctx.me.user.id, display_name: ctx.me.user.display_name || ctx.me.user.email };
  let users = [];
  if (ctx.may('administer')) {
    users = (await get('/api/users').catch(() => ({ items: [] }))).items.filter((u) => !u.disabled && u.id !== me.id);
  }
  return [
    ['', t('assign.nobody')],
    [String(me.id), t('assign.me', { name: me.display_name })],
    ...users.map((u) => [String(u.id), `${u.display_name || u.email} (${t(`role.${u.role}`)})`]),
  ];
}

function filterForm(ctx, kind) {
  const p = ctx.params;
  const categories = kind === 'differences' ? DIFFERENCE_CATEGORIES : CATEGORIES;
  const controls = {
    category: select({ id: 'f-category', name: 'category' }, [['', t('filter.all')], ...categories.map((c) => [c, categoryName(c)])], p.get('category')),
    store: h('input', { id: 'f-store', name: 'store', list: 'f-store-names', value: p.get('store') || '', autocomplete: 'off' }),
    marketplace: h('input', { id: 'f-marketplace', name: 'marketplace', value: p.get('marketplace') || '', placeholder: 'amazon.com' }),
    from: h('input', { id: 'f-from', name: 'from', type: 'date', value: p.get('from') || '' }),
    to: h('input', { id: 'f-to', name: 'to', type: 'date', value: p.get('to') || '' }),
    state:
      kind === 'differences'
        ? select({ id: 'f-state', name: 'state' }, [['', t('filter.all')], ['open', t('state.open')], ['resolved', t('state.resolved')]], p.get('state'))
        : null,
    min_amount: h('input', { id: 'f-min-amount', name: 'min_amount', inputmode: 'decimal', value: p.get('min_amount') || '', pattern: '[0-9]+([.][0-9]{1,2})?' }),
    limit: select({ id: 'f-limit', name: 'limit' }, ['25', '50', '100', '250'].map((n) => [n, n]), p.get('limit') || '50'),
  };
  const form = h(
    'form',
    { class: 'filters card', role: 'search', id: 'filters', 'aria-label': t('filter.title') },
    field(t('col.category'), controls.category),
    field(t('col.store'), controls.store),
    h('datalist', { id: 'f-store-names' }, ctx.stores.map((name) => h('option', { value: name }))),
    field(t('col.marketplace'), controls.marketplace),
    field(t('filter.from'), controls.from),
    field(t('filter.to'), controls.to),
    controls.state ? field(t('col.state'), controls.state) : null,
    field(t('filter.min_amount'), controls.min_amount, t('filter.min_amount_hint')),
    field(t('filter.per_page'), controls.limit),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'apply-filters' }, t('filter.apply')), h('a', { href: location.pathname, class: 'button-like secondary' }, t('filter.clear'))),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const changes = { cursor: null };
    for (const [name, control] of Object.entries(controls)) if (control) changes[name] = control.value.trim();
    ctx.go(ctx.withParams(changes));
  });
  return form;
}

function bulkActions(ctx, selected, people, afterChange) {
  const counter = h('span', { id: 'selected-count' });
  const { kind, reason } = resolveControls('bulk');
  const comment = h('input', { id: 'bulk-comment', name: 'comment', maxlength: '2000' });
  const assignee = select({ id: 'bulk-assignee', name: 'assignee' }, people, String(ctx.me.user.id));
  const message = h('div', { class: 'message', id: 'bulk-message' });
  const buttons = {
    resolve: h('button', { type: 'button', id: 'resolve-selected' }, t('action.resolve')),
    assign: h('button', { type: 'button', id: 'assign-selected', class: 'secondary' }, t('action.assign')),
    reopen: h('button', { type: 'button', id: 'reopen-selected', class: 'secondary' }, t('action.reopen')),
  };
  const refresh = () => {
    counter.textContent = t('bulk.selected', { count: selected.size });
    for (const button of Object.values(buttons)) button.disabled = selected.size === 0;
  };
  // Each action answers how many orders it changed: {"resolved": n}, {"reopened": n}, {"assigned": n}.
  const DONE = { resolve: 'resolved', reopen: 'reopened', assign: 'assigned' };
  const act = (action, body) => async () => {
    message.replaceChildren();
    try {
      const answer = await post(`/api/differences/${action}`, { order_ids: [...selected], ...body() });
      const said = t(`bulk.${DONE[action]}`, { count: answer[DONE[action]] ?? 0 });
      selected.clear();
      await afterChange(said);
    } catch (error) {
      message.append(alertBox(error instanceof ApiError ? error.message : String(error)));
    }
  };
  buttons.resolve.addEventListener('click', act('resolve', () => ({ resolution: kind.value, reason: reason.value, comment: comment.value })));
  buttons.reopen.addEventListener('click', act('reopen', () => ({ comment: comment.value })));
  buttons.assign.addEventListener('click', act('assign', () => ({ user_id: assignee.value ? Number(assignee.value) : null })));
  refresh();
  const box = h(
    'fieldset',
    { class: 'bulk card', id: 'bulk' },
    h('legend', {}, t('bulk.title'), ' — ', counter),
    h('div', { class: 'row' }, field(t('col.resolution'), kind, t('resolution.hint')), field(t('col.reason'), reason), field(t('col.comment'), comment), h('div', { class: 'actions' }, buttons.resolve, buttons.reopen)),
    h('div', { class: 'row' }, field(t('col.assignee'), assignee), h('div', { class: 'actions' }, buttons.assign)),
    message,
  );
  return { box, refresh };
}

function atLeast(row, minimum) {
  const bound = toUnits(minimum, 2);
  if (bound === null) return true;
  const size = (text) => {
    const units = toUnits(text, 2);
    return units === null ? -1n : units < 0n ? -units : units;
  };
  return size(row.order_amount) >= bound || size(row.net_settled) >= bound;
}

export async function render(ctx, kind) {
  const p = ctx.params;
  const title = t(kind === 'differences' ? 'differences.title' : 'orders.title');
  const page = h('section', { class: 'list-page' }, h('h1', { id: 'page-title', tabindex: '-1' }, title));
  page.append(filterForm(ctx, kind));
  const apiFilters = {};
  for (const name of FILTERS.filter((f) => f !== 'min_amount')) apiFilters[name] = p.get(name);
  apiFilters.limit = p.get('limit') || '50';
  if (kind !== 'differences') delete apiFilters.state;
  let data;
  try {
    data = await get(`/api/${kind}${query({ ...apiFilters, cursor: p.get('cursor') })}`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    page.append(alertBox(error.message), h('p', {}, h('a', { href: ctx.withParams({ cursor: null }) }, t('table.first_page'))));
    return page;
  }
  const rows = data.items.filter((row) => !p.get('min_amount') || atLeast(row, p.get('min_amount')));
  const canAct = kind === 'differences' && ctx.may('resolve');
  const selected = new Set();
  let bulk = null;
  if (canAct) {
    bulk = bulkActions(ctx, selected, await assignees(ctx), async (said) => {
      ctx.go(location.pathname + location.search, { replace: true });
      ctx.announce(said);
    });
    page.append(bulk.box);
  }
  const money = (row) => row.currency;
  const columns = [
    { key: 'order_id', label: t('col.order'), cell: (row) => h('a', { href: `/orders/${encodeURIComponent(row.order_id)}`, class: 'order-link' }, row.order_id) },
    { key: 'store', label: t('col.store_marketplace'), value: (row) => `${row.store} ${row.marketplace}`, cell: (row) => [row.store, h('br'), h('span', { class: 'sub' }, row.marketplace)] },
    { key: 'category', label: t('col.category'), cell: (row) => h('span', { class: `badge cat ${row.category}` }, lang() === 'zh-CN' ? row.category_zh : categoryName(row.category)) },
    { key: 'period_date', label: t('col.period'), cell: (row) => day(row.period_date) },
    { key: 'order_amount', label: t('col.order_amount'), money },
    { key: 'net_settled', label: t('col.net_settled'), money },
    { key: 'fees_charged', label: t('col.fees_charged'), money },
    { key: 'days_since_ship', label: t('col.days_since_ship'), count: true },
    { key: 'resolution', label: t('col.state'), cell: (row) => resolutionText(row.resolution), value: (row) => resolutionText(row.resolution) },
    { key: 'assignee', label: t('col.assignee'), cell: (row) => row.resolution?.assignee?.display_name || '—', value: (row) => row.resolution?.assignee?.display_name || '' },
    { key: 'explanation', label: t('col.explanation'), cell: (row) => h('span', { class: 'explanation' }, reasonTexts(row).join('; ')), sortable: false },
  ];
  const options = {
    caption: t('table.caption', { title, count: rows.length }),
    id: 'results',
    sort: p.get('sort') || '',
    onSort: (sort) => history.replaceState(null, '', ctx.withParams({ sort })),
    rowAttributes: (row) => ({ dataset: { order: row.order_id, category: row.category, state: row.resolution?.state || 'open' } }),
  };
  if (canAct) {
    const all = h('input', { type: 'checkbox', id: 'select-all' });
    all.addEventListener('change', () => {
      for (const row of rows) (all.checked ? selected.add(row.order_id) : selected.delete(row.order_id));
      for (const box of page.querySelectorAll('input.select-row')) box.checked = all.checked;
      bulk.refresh();
    });
    options.beforeHeader = h('th', { scope: 'col', class: 'select' }, h('label', { for: 'select-all', class: 'visually-hidden' }, t('bulk.select_all')), all);
    options.before = (row) => {
      const id = `select-${row.order_id}`;
      const box = h('input', { type: 'checkbox', id, class: 'select-row', checked: selected.has(row.order_id), dataset: { order: row.order_id } });
      box.addEventListener('change', () => {
        if (box.checked) selected.add(row.order_id);
        else selected.delete(row.order_id);
        all.checked = selected.size === rows.length;
        bulk.refresh();
      });
      return h('td', { class: 'select' }, h('label', { for: id, class: 'visually-hidden' }, t('bulk.select_one', { order: row.order_id })), box);
    };
  }
  page.append(scroller(dataTable(columns, rows, options), title), pager(ctx, data.next_cursor, rows.length));
  return page;
}
