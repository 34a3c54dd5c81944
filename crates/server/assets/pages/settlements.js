// Settlements (each links to its chain: payout, receipt, bank) and receipts (every
// payout, withdrawal and unexpected credit with its status and, for a difference, its
// resolution; accountants and above resolve or reopen one by its key), page by page.

import { ApiError, get, post, query } from '../api.js';
import { alertBox, field, h, select } from '../dom.js';
import { count, day, decimal, utcTime } from '../format.js';
import { t } from '../i18n.js';
import { dataTable, pager, scroller } from '../table.js';
import { resolutionText, resolveControls } from './differences.js';

export const RECEIPT_STATUSES = ['received', 'received_short', 'received_late', 'received_converted', 'missing', 'pending', 'unexpected_receipt'];
const KINDS = ['payout', 'withdrawal', 'receipt'];

function storeForm(ctx, extra = []) {
  const store = h('input', { id: 'f-store', name: 'store', list: 'f-store-names', value: ctx.params.get('store') || '', autocomplete: 'off' });
  const controls = { store, ...Object.fromEntries(extra.map(([name, , control]) => [name, control])) };
  const form = h(
    'form',
    { class: 'filters card', role: 'search', id: 'filters', 'aria-label': t('filter.title') },
    field(t('col.store'), store),
    h('datalist', { id: 'f-store-names' }, ctx.stores.map((name) => h('option', { value: name }))),
    extra.map(([, label, control, hint]) => field(label, control, hint)),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'apply-filters' }, t('filter.apply')), h('a', { href: location.pathname, class: 'button-like secondary' }, t('filter.clear'))),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const changes = { cursor: null };
    for (const [name, control] of Object.entries(controls)) changes[name] = control.value.trim();
    ctx.go(ctx.withParams(changes));
  });
  return form;
}

const sortInUrl = (ctx) => (sort) => history.replaceState(null, '', ctx.withParams({ sort }));

export async function list(ctx) {
  const p = ctx.params;
  const data = await get(`/api/settlements${query({ store: p.get('store'), cursor: p.get('cursor'), limit: 50 })}`);
  const title = t('settlements.title');
  const columns = [
    { key: 'settlement_id', label: t('col.settlement'), cell: (s) => h('a', { href: `/settlements/${encodeURIComponent(s.settlement_id)}` }, s.settlement_id) },
    { key: 'store', label: t('col.store') },
    { key: 'start', label: t('col.start'), cell: (s) => utcTime(s.start) },
    { key: 'end', label: t('col.end'), cell: (s) => utcTime(s.end) },
    { key: 'deposit', label: t('col.deposit'), cell: (s) => (s.deposit ? utcTime(s.deposit) : '—') },
    { key: 'total', label: t('col.total'), money: (s) => s.currency },
    { key: 'lines_sum', label: t('col.lines_sum'), money: (s) => s.currency },
    { key: 'line_count', label: t('col.line_count'), count: true },
    {
      key: 'status',
      label: t('col.status'),
      value: (s) => `${s.consistent}${s.open}`,
      cell: (s) => [
        s.consistent ? t('settlement.consistent') : h('span', { class: 'badge warn' }, t('settlement.inconsistent')),
        ' · ',
        s.open ? t('settlement.open') : t('settlement.closed'),
      ],
    },
  ];
  return h(
    'section',
    { class: 'list-page' },
    h('h1', { id: 'page-title', tabindex: '-1' }, title),
    storeForm(ctx),
    scroller(dataTable(columns, data.items, { caption: t('table.caption', { title, count: data.items.length }), id: 'settlements', sort: p.get('sort') || '', onSort: sortInUrl(ctx) }), title),
    pager(ctx, data.next_cursor, data.items.length),
  );
}

/** A difference's state: open, or resolved (how, why, the amount); none for a result
 * that is no difference. */
const receiptState = (r) => (r.is_difference ? r.resolution?.state || 'open' : '');

/** The resolve form of the page's differences (each named by its key, as the API takes it). */
function receiptResolveForm(ctx, differences) {
  const seen = new Set();
  const options = [];
  for (const r of differences) {
    if (seen.has(r.key)) continue;
    seen.add(r.key);
    const amount = r.difference || r.expected_amount || r.received_amount || '';
    const currency = r.currency || r.received_currency || '';
    options.push([r.key, `${r.key} · ${t(`receipt.${r.status}`)}${amount ? ` · ${amount} ${currency}` : ''} · ${resolutionText(r.resolution)}`]);
  }
  const key = select({ id: 'receipt-key', name: 'key' }, options, options.find(([k]) => receiptState(differences.find((r) => r.key === k)) === 'open')?.[0]);
  const { kind, reason } = resolveControls('receipt');
  const adjustment = h('input', { id: 'receipt-adjustment', name: 'adjustment', inputmode: 'decimal', pattern: '-?[0-9]+([.][0-9]{1,4})?', placeholder: t('receipts.adjustment_default') });
  const adjustmentField = field(t('col.adjustment'), adjustment, t('receipts.adjustment_hint'));
  const showAdjustment = () => {
    adjustmentField.hidden = kind.value !== 'adjust';
  };
  kind.addEventListener('change', showAdjustment);
  showAdjustment();
  const comment = h('input', { id: 'receipt-comment', name: 'comment', maxlength: '2000', autocomplete: 'off' });
  const message = h('div', { class: 'message', id: 'receipt-message' });
  const run = (action, body) => async (event) => {
    event.preventDefault();
    message.replaceChildren();
    try {
      await post(`/api/receipts/${action}`, { keys: [key.value], ...body() });
      ctx.announce(t(action === 'resolve' ? 'receipts.resolved' : 'receipts.reopened', { key: key.value }));
      ctx.go(location.pathname + location.search, { replace: true });
    } catch (error) {
      message.append(alertBox(error instanceof ApiError ? error.message : String(error)));
    }
  };
  const reopen = h('button', { type: 'button', id: 'receipt-reopen', class: 'secondary' }, t('action.reopen'));
  reopen.addEventListener('click', run('reopen', () => ({ comment: comment.value })));
  const form = h(
    'form',
    { class: 'card', id: 'receipt-resolve', 'aria-label': t('receipts.resolve_title') },
    h('h2', {}, t('receipts.resolve_title')),
    h('p', { class: 'hint' }, t('receipts.resolve_hint')),
    h(
      'div',
      { class: 'row' },
      field(t('receipts.difference'), key),
      field(t('col.resolution'), kind),
      field(t('col.reason'), reason),
      adjustmentField,
      field(t('col.comment'), comment),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'receipt-resolve-submit' }, t('action.resolve')), reopen),
    message,
  );
  form.addEventListener(
    'submit',
    run('resolve', () => {
      const body = { resolution: kind.value, reason: reason.value, comment: comment.value };
      if (kind.value === 'adjust' && adjustment.value.trim()) body.adjustment = adjustment.value.trim();
      return body;
    }),
  );
  return form;
}

export async function receipts(ctx) {
  const p = ctx.params;
  const status = p.get('status') || '';
  const kind = p.get('kind') || '';
  const state = p.get('state') || '';
  // The API pages by store only; status, kind and state are picked from each page here.
  const data = await get(`/api/receipts${query({ store: p.get('store'), cursor: p.get('cursor'), limit: 100 })}`);
  const rows = data.items.filter((r) => (!status || r.status === status) && (!kind || r.kind === kind) && (!state || receiptState(r) === state));
  const title = t('receipts.title');
  const statusSelect = select({ id: 'f-status', name: 'status' }, [['', t('filter.all')], ...RECEIPT_STATUSES.map((s) => [s, t(`receipt.${s}`)])], status);
  const kindSelect = select({ id: 'f-kind', name: 'kind' }, [['', t('filter.all')], ...KINDS.map((k) => [k, t(`receipt_kind.${k}`)])], kind);
  const stateSelect = select({ id: 'f-state', name: 'state' }, [['', t('filter.all')], ['open', t('state.open')], ['resolved', t('state.resolved')]], state);
  const amountIn = (name) => (r) => r[`${name}_currency`] || r.currency;
  const columns = [
    { key: 'kind', label: t('col.kind'), cell: (r) => t(`receipt_kind.${r.kind}`) },
    { key: 'status', label: t('col.status'), cell: (r) => h('span', { class: `badge ${r.status}` }, t(`receipt.${r.status}`)) },
    { key: 'resolution', label: t('receipts.col.resolution'), cell: (r) => (r.is_difference ? resolutionText(r.resolution) : '—'), value: (r) => (r.is_difference ? resolutionText(r.resolution) : '') },
    { key: 'store', label: t('col.store'), cell: (r) => r.store || '—' },
    { key: 'settlement_id', label: t('col.settlement'), cell: (r) => (r.settlement_id ? h('a', { href: `/settlements/${encodeURIComponent(r.settlement_id)}` }, r.settlement_id) : '—') },
    { key: 'expected_amount', label: t('col.expected'), money: amountIn('expected_amount') },
    { key: 'deposit_date', label: t('col.deposit'), cell: (r) => day(r.deposit_date) },
    { key: 'received_amount', label: t('col.received'), money: amountIn('received_amount') },
    { key: 'received_date', label: t('col.received_date'), cell: (r) => day(r.received_date) },
    { key: 'difference', label: t('col.difference'), money: amountIn('difference') },
    { key: 'implied_rate', label: t('col.implied_rate'), cell: (r) => decimal(r.implied_rate), value: (r) => Number(r.implied_rate ?? 0) },
    { key: 'receipt_source', label: t('col.source'), cell: (r) => (r.receipt_source ? h('code', {}, r.receipt_source) : r.withdrawal_source ? h('code', {}, r.withdrawal_source) : '—') },
    { key: 'receipt_ref', label: t('col.reference'), cell: (r) => r.receipt_ref || r.withdrawal_ref || '—' },
    { key: 'rule_id', label: t('col.rule'), cell: (r) => (r.rule_id ? `${r.rule_id} (${count(r.score)})` : '—') },
    { key: 'key', label: t('col.receipt_key'), cell: (r) => h('code', {}, r.key) },
  ];
  const differences = data.items.filter((r) => r.is_difference);
  return h(
    'section',
    { class: 'list-page' },
    h('h1', { id: 'page-title', tabindex: '-1' }, title),
    storeForm(ctx, [
      ['status', t('col.status'), statusSelect, t('receipts.filter_hint')],
      ['kind', t('col.kind'), kindSelect],
      ['state', t('receipts.col.resolution'), stateSelect, t('receipts.state_hint')],
    ]),
    ctx.may('resolve') && differences.length ? receiptResolveForm(ctx, differences) : null,
    scroller(
      dataTable(columns, rows, {
        caption: t('table.caption', { title, count: rows.length }),
        id: 'receipts',
        sort: p.get('sort') || '',
        onSort: sortInUrl(ctx),
        rowAttributes: (r) => ({ dataset: { status: r.status, key: r.key, state: receiptState(r) } }),
      }),
      title,
    ),
    pager(ctx, data.next_cursor, rows.length),
  );
}
