// Month-end reports from the JSON the API renders ({"tables": [{title, notes, rows}]}; a
// money column `x` comes with `x_currency`): the receivables roll-forward of a month and
// the aging, each with its CSV and XLSX download.

import { ApiError, get, query } from '../api.js';
import { alertBox, field, h, select } from '../dom.js';
import { count, day, isNegative, money, toUnits } from '../format.js';
import { t } from '../i18n.js';
import { dataTable, scroller } from '../table.js';

const RECEIVABLES_MAIN = ['store', 'currency', 'month', 'opening', 'sales', 'refunds', 'fees', 'other', 'transfers', 'closing', 'net_sales', 'turnover', 'days_outstanding'];

function columnLabel(key) {
  const label = t(`col.${key}`);
  return label === `col.${key}` ? key.replaceAll('_', ' ') : label;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DECIMAL = /^-?\d+(\.\d+)?$/;

/** The columns of a report table. A money column `x` has `x_currency`; an amount and its
 * count (`amount_0-14` and `count_0-14`, `amount` and `count`) share one cell. */
function reportColumns(rows, only) {
  const keys = Object.keys(rows[0]).filter((k) => !k.endsWith('_currency') && (!only || only.includes(k)));
  const pairedCount = (key) => key.replace(/^(alert_)?amount/, '$1count');
  const paired = new Set(keys.filter((k) => /^(alert_)?amount/.test(k) && keys.includes(pairedCount(k))).map(pairedCount));
  const every = (key, test) => rows.every((r) => r[key] === null || test(r[key]));
  return keys
    .filter((key) => !paired.has(key))
    .map((key) => {
      const currency = (r) => r[`${key}_currency`] || r.currency;
      const bucket = /^amount_(.+)$/.exec(key);
      if (keys.includes(pairedCount(key)) && /^(alert_)?amount/.test(key)) {
        const label = bucket ? t('aging.bucket', { bucket: bucket[1] === 'over_90' ? t('dashboard.over_90') : bucket[1] }) : t(key === 'amount' ? 'aging.total' : 'aging.alerts');
        const countKey = pairedCount(key);
        return {
          key,
          label,
          money: currency,
          cell: (r) => [h('span', { class: isNegative(r[key]) ? 'neg' : null }, money(r[key], currency(r))), h('br'), h('span', { class: 'count', 'data-count': countKey }, t('dashboard.count', { count: count(r[countKey]) }))],
        };
      }
      const column = { key, label: columnLabel(key) };
      if (rows.some((r) => `${key}_currency` in r)) column.money = currency;
      else if (every(key, (v) => typeof v === 'number')) column.count = true;
      else if (key === 'what') column.cell = (r) => t(`aging.what.${r.what}`);
      else if (key === 'settlement_id') column.cell = (r) => (r.settlement_id ? h('a', { href: `/settlements/${encodeURIComponent(r.settlement_id)}` }, r.settlement_id) : '—');
      else if (every(key, (v) => DAY.test(v))) column.cell = (r) => day(r[key]);
      else if (every(key, (v) => DECIMAL.test(v))) column.decimal = true;
      return column;
    });
}

/** A report table and its notes. */
function reportTable(table, { id, only, extra = [], sort, onSort }) {
  const rows = table.rows;
  const columns = rows.length ? reportColumns(rows, only) : [];
  const title = t(`report.${table.title}`) === `report.${table.title}` ? table.title : t(`report.${table.title}`);
  return h(
    'div',
    { class: 'report' },
    scroller(dataTable([...columns, ...extra], rows, { caption: title, id, sort, onSort }), title),
    h('div', { class: 'notes' }, (table.notes || []).map((note) => h('p', { class: 'hint' }, note))),
  );
}

/** closing = opening + sales + refunds + fees + other − transfers, in whole minor units. */
function tiesOut(row) {
  const units = (key) => toUnits(row[key], 6) ?? 0n;
  return units('closing') === units('opening') + units('sales') + units('refunds') + units('fees') + units('other') - units('transfers');
}

function downloads(path, parameters) {
  return h(
    'p',
    { class: 'downloads' },
    t('report.download'),
    ' ',
    h('a', { href: `${path}${query({ ...parameters, format: 'xlsx' })}`, download: '', id: 'download-xlsx', class: 'button-like secondary' }, 'XLSX'),
    ' ',
    h('a', { href: `${path}${query({ ...parameters, format: 'csv' })}`, download: '', id: 'download-csv', class: 'button-like secondary' }, 'CSV'),
  );
}

function previousMonth() {
  const now = new Date();
  const index = now.getFullYear() * 12 + now.getMonth() - 1;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

/** The store a report is for: the URL's, or for a role limited to some stores its first. */
function reportStore(ctx) {
  return ctx.params.get('store') || (ctx.me.stores ? ctx.me.stores[0] : '') || '';
}

function storeSelect(ctx, chosen) {
  const options = ctx.me.stores ? [] : [['', t('header.all_stores')]];
  return select({ id: 'r-store', name: 'store' }, [...options, ...ctx.stores.map((s) => [s, s])], chosen);
}

function reportForm(ctx, controls) {
  const form = h(
    'form',
    { class: 'filters card', id: 'report-form' },
    controls.map(([label, control, hint]) => field(label, control, hint)),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'show-report' }, t('report.show'))),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const changes = {};
    for (const [, control] of controls) changes[control.name] = control.value;
    ctx.go(ctx.withParams(changes));
  });
  return form;
}

async function tables(path, parameters) {
  try {
    return (await get(`${path}${query(parameters)}`)).tables;
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) return error;
    throw error;
  }
}

export async function receivables(ctx) {
  const month = ctx.params.get('month') || previousMonth();
  const store = reportStore(ctx);
  const detail = ctx.params.get('detail') === '1';
  const parameters = { month, store };
  const monthInput = h('input', { type: 'month', id: 'r-month', name: 'month', value: month, required: true });
  const detailBox = select({ id: 'r-detail', name: 'detail' }, [['', t('report.main_columns')], ['1', t('report.all_columns')]], detail ? '1' : '');
  const page = h(
    'section',
    { class: 'report-page' },
    h('h1', { id: 'page-title', tabindex: '-1' }, t('report.receivables_title')),
    reportForm(ctx, [
      [t('col.month'), monthInput, t('report.month_hint')],
      [t('col.store'), storeSelect(ctx, store)],
      [t('report.columns'), detailBox],
    ]),
    downloads('/api/reports/receivables', parameters),
  );
  const result = await tables('/api/reports/receivables', parameters);
  if (result instanceof Error) {
    page.append(alertBox(result.message));
    return page;
  }
  const check = { key: 'ties_out', label: t('report.ties_out'), sortable: false, cell: (r) => (tiesOut(r) ? h('span', { class: 'ok' }, '✓') : h('span', { class: 'badge warn' }, '✗')) };
  for (const [index, table] of result.entries()) {
    page.append(
      reportTable(table, {
        id: `receivables-${index}`,
        only: detail ? null : RECEIVABLES_MAIN,
        extra: table.rows.length && 'closing' in table.rows[0] ? [check] : [],
        sort: ctx.params.get('sort') || '',
        onSort: (sort) => history.replaceState(null, '', ctx.withParams({ sort })),
      }),
    );
  }
  return page;
}

export async function aging(ctx) {
  const asOf = ctx.params.get('as_of') || '';
  const store = reportStore(ctx);
  const parameters = { as_of: asOf, store };
  const asOfInput = h('input', { type: 'date', id: 'r-as-of', name: 'as_of', value: asOf });
  const page = h(
    'section',
    { class: 'report-page' },
    h('h1', { id: 'page-title', tabindex: '-1' }, t('report.aging_title')),
    reportForm(ctx, [
      [t('imports.as_of'), asOfInput, t('report.as_of_hint')],
      [t('col.store'), storeSelect(ctx, store)],
    ]),
    downloads('/api/reports/aging', parameters),
  );
  const result = await tables('/api/reports/aging', parameters);
  if (result instanceof Error) {
    page.append(alertBox(result.message));
    return page;
  }
  for (const [index, table] of result.entries()) {
    page.append(reportTable(table, { id: `aging-${index}`, sort: ctx.params.get('sort') || '', onSort: (sort) => history.replaceState(null, '', ctx.withParams({ sort })) }));
  }
  return page;
}
