// The settlement centre at a glance: per store and marketplace, what is settled, pending,
// unsettled (by age) and different; per store, what is not transferred and which
// receipts are missing; and twelve months of sales, fees, refunds and transfers. Every
// figure links to the records behind it.

import { get, query } from '../api.js';
import { barChart } from '../chart.js';
import { h } from '../dom.js';
import { count, day, isNegative, money, month } from '../format.js';
import { t } from '../i18n.js';
import { scroller } from '../table.js';

// The aging buckets as the API names them (core::receivables::AGING_BUCKETS).
const BUCKETS = ['0-14', '15-30', '31-60', '61-90', 'over_90'];
const SERIES = ['sales', 'fees', 'refunds', 'transfers'];

/** A figure cell: the amount (and count) as one link to the list behind it. */
function figure(name, value, currency, href) {
  const amount = h('span', { class: `amount${isNegative(value.amount) ? ' neg' : ''}`, 'data-figure': `${name}.amount` }, money(value.amount, currency));
  const number = h('span', { class: 'count', 'data-figure': `${name}.count` }, t('dashboard.count', { count: count(value.count) }));
  return h('td', { class: 'num' }, h('a', { href }, amount, h('br'), number));
}

function countFigure(name, value, href) {
  return h('td', { class: 'num' }, h('a', { href, 'data-figure': name }, count(value)));
}

function byMarketplace(rows) {
  // Two header rows: the unsettled amount and its aging buckets share a group header.
  const single = (label, numeric) => h('th', { scope: 'col', rowspan: '2', class: numeric ? 'num' : null }, label);
  const head = h(
    'thead',
    {},
    h(
      'tr',
      {},
      single(t('col.store')),
      single(t('col.marketplace')),
      single(t('dashboard.orders'), true),
      single(t('dashboard.settled'), true),
      single(t('dashboard.pending_settlement'), true),
      h('th', { scope: 'colgroup', colspan: String(BUCKETS.length + 1), class: 'group' }, t('dashboard.unsettled')),
      single(t('dashboard.differences'), true),
    ),
    h(
      'tr',
      {},
      h('th', { scope: 'col', class: 'num' }, t('dashboard.total')),
      BUCKETS.map((b) => h('th', { scope: 'col', class: 'num' }, t('dashboard.bucket', { bucket: b === 'over_90' ? t('dashboard.over_90') : b }))),
    ),
  );
  const columnCount = 6 + BUCKETS.length + 1;
  const body = rows.map((row) => {
    const where = { store: row.store, marketplace: row.marketplace };
    const unsettledHref = `/differences${query({ category: 'shipped_not_settled', ...where })}`;
    return h(
      'tr',
      { dataset: { store: row.store, marketplace: row.marketplace } },
      h('th', { scope: 'row' }, row.store),
      h('td', {}, row.marketplace),
      countFigure('orders', row.orders, `/orders${query(where)}`),
      figure('settled', row.settled, row.currency, `/orders${query({ category: 'matched', ...where })}`),
      figure('pending_settlement', row.pending_settlement, row.currency, `/orders${query({ category: 'not_due', ...where })}`),
      figure('unsettled', row.unsettled, row.currency, unsettledHref),
      BUCKETS.map((bucket) => {
        const value = row.unsettled.buckets.find((b) => b.bucket === bucket) || { count: 0, amount: '0' };
        return figure(`unsettled.${bucket}`, value, row.currency, unsettledHref);
      }),
      countFigure('differences.count', row.differences.count, `/differences${query(where)}`),
    );
  });
  const table = h(
    'table',
    { class: 'data dashboard', id: 'by-marketplace' },
    h('caption', {}, t('dashboard.by_marketplace')),
    head,
    h('tbody', {}, body.length ? body : h('tr', {}, h('td', { colspan: columnCount, class: 'empty' }, t('table.empty')))),
  );
  return scroller(table, t('dashboard.by_marketplace'));
}

function byStore(stores) {
  const body = stores.map((row) =>
    h(
      'tr',
      { dataset: { store: row.store, currency: row.currency } },
      h('th', { scope: 'row' }, row.store),
      h('td', {}, row.currency),
      figure('not_transferred', row.not_transferred, row.currency, `/settlements${query({ store: row.store })}`),
      figure('missing_receipts', row.missing_receipts, row.currency, `/receipts${query({ status: 'missing', store: row.store })}`),
    ),
  );
  return h(
    'table',
    { class: 'data dashboard compact', id: 'by-store' },
    h('caption', {}, t('dashboard.by_store')),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, t('col.store')),
        h('th', { scope: 'col' }, t('col.currency')),
        h('th', { scope: 'col', class: 'num' }, t('dashboard.not_transferred')),
        h('th', { scope: 'col', class: 'num' }, t('dashboard.missing_receipts')),
      ),
    ),
    h('tbody', {}, body.length ? body : h('tr', {}, h('td', { colspan: 4, class: 'empty' }, t('table.empty')))),
  );
}

/** The twelve calendar months ending with the as-of day's. */
function lastTwelveMonths(asOf) {
  const [year, monthNumber] = asOf.split('-').map(Number);
  const months = [];
  for (let back = 11; back >= 0; back -= 1) {
    const index = year * 12 + (monthNumber - 1) - back;
    months.push(`${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`);
  }
  return months;
}

function charts(board) {
  const months = lastTwelveMonths(board.as_of);
  const keys = [...new Set(board.months.map((m) => `${m.store}|${m.currency}`))].sort();
  return keys.map((key) => {
    const [store, currency] = key.split('|');
    const rows = board.months.filter((m) => m.store === store && m.currency === currency);
    const series = SERIES.map((name) => ({
      key: name,
      label: t(`dashboard.series.${name}`),
      values: months.map((m) => rows.find((r) => r.month === m)?.[name] ?? '0'),
    }));
    const title = t('dashboard.chart_title', { store, currency });
    const figures = h(
      'table',
      { class: 'data compact' },
      h('caption', {}, title),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('col.month')), series.map((s) => h('th', { scope: 'col', class: 'num' }, s.label)))),
      h(
        'tbody',
        {},
        months.map((m, index) =>
          h('tr', {}, h('th', { scope: 'row' }, month(m)), series.map((s) => h('td', { class: `num${isNegative(s.values[index]) ? ' neg' : ''}` }, money(s.values[index], currency)))),
        ),
      ),
    );
    return h(
      'figure',
      { class: 'store-chart', dataset: { store } },
      h('figcaption', {}, title),
      barChart({ id: `chart-${store}`, title, months, series, currency }),
      h('details', {}, h('summary', {}, t('dashboard.chart_figures')), scroller(figures, title)),
    );
  });
}

export async function render(ctx) {
  const board = await get('/api/dashboard');
  const store = ctx.params.get('store');
  const page = h('section', { class: 'dashboard-page' }, h('h1', { id: 'page-title', tabindex: '-1' }, t('dashboard.title')));
  if (!board.as_of) {
    page.append(h('p', { class: 'lead' }, t('dashboard.no_run'), ' ', h('a', { href: '/imports' }, t('nav.imports'))));
    return page;
  }
  const keep = (row) => !store || row.store === store;
  page.append(
    h('p', { class: 'lead', id: 'as-of' }, t('dashboard.as_of', { day: day(board.as_of) })),
    byMarketplace(board.rows.filter(keep)),
    byStore(board.stores.filter(keep)),
    h('h2', {}, t('dashboard.months')),
    h('div', { class: 'charts' }, charts({ ...board, months: board.months.filter(keep) })),
  );
  return page;
}
