// Tables: header cells with scope, sorting by a column within the page (the order kept
// in the URL's `sort`), amounts right-aligned, and a pager over the API's keyset cursor.

import { h } from './dom.js';
import { countCell, decimal, decimalKey, moneyCell } from './format.js';
import { t } from './i18n.js';

/**
 * columns: [{ key, label, money: row => currency | undefined, count: true, cell: row => Node|string,
 *             value: row => sortable, sortable: true (default) }]
 * rows: objects; options: { caption, sort: 'key' | '-key', onSort(sort), rowAttributes(row),
 *             before: row => <td> (a selection cell, not sortable), beforeHeader: <th> }
 */
export function dataTable(columns, rows, options = {}) {
  let sort = options.sort || '';
  const body = h('tbody');
  const headerRow = h('tr');
  const table = h('table', { class: 'data', id: options.id }, options.caption ? h('caption', {}, options.caption) : null, h('thead', {}, headerRow), body);

  const valueOf = (column, row) => {
    if (column.value) return column.value(row);
    const raw = row[column.key];
    if (column.money || column.decimal) return decimalKey(raw);
    return raw;
  };

  const draw = () => {
    const descending = sort.startsWith('-');
    const key = sort.replace(/^-/, '');
    const column = columns.find((c) => c.key === key);
    const ordered = [...rows];
    if (column) {
      ordered.sort((a, b) => {
        const result = compare(valueOf(column, a), valueOf(column, b));
        return descending ? -result : result;
      });
    }
    const headers = columns.map((c) => headerCell(c, key === c.key ? (descending ? 'descending' : 'ascending') : 'none'));
    headerRow.replaceChildren(...(options.beforeHeader ? [options.beforeHeader, ...headers] : headers));
    body.replaceChildren(
      ...ordered.map((row) =>
        h('tr', options.rowAttributes ? options.rowAttributes(row) : {}, options.before ? options.before(row) : null, columns.map((c) => cell(c, row))),
      ),
    );
    if (!ordered.length) body.append(h('tr', {}, h('td', { colspan: columns.length + (options.before ? 1 : 0), class: 'empty' }, t('table.empty'))));
  };

  const headerCell = (column, state) => {
    const classes = column.money || column.count || column.decimal ? 'num' : null;
    if (column.sortable === false || !options.onSort) return h('th', { scope: 'col', class: classes }, column.label);
    const arrow = state === 'ascending' ? '▲' : state === 'descending' ? '▼' : '';
    const button = h(
      'button',
      { type: 'button', class: 'sort', 'data-sort': column.key, title: t('table.sort_by', { column: column.label }) },
      column.label,
      h('span', { class: 'arrow', 'aria-hidden': 'true' }, arrow),
    );
    button.addEventListener('click', () => {
      sort = state === 'ascending' ? `-${column.key}` : column.key;
      options.onSort(sort);
      draw();
      table.querySelector(`button[data-sort="${column.key}"]`)?.focus();
    });
    return h('th', { scope: 'col', class: classes, 'aria-sort': state }, button);
  };

  draw();
  return table;
}

function cell(column, row) {
  if (column.money && column.cell) return h('td', { class: 'num', 'data-column': column.key }, column.cell(row));
  if (column.money) return moneyCell(row[column.key], column.money(row), { 'data-column': column.key });
  if (column.decimal) return h('td', { class: 'num', 'data-column': column.key }, decimal(row[column.key]));
  if (column.count) return countCell(row[column.key], { 'data-column': column.key });
  const content = column.cell ? column.cell(row) : row[column.key] ?? '—';
  return h('td', { 'data-column': column.key }, content);
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'bigint' || typeof a === 'number') return a < b ? -1 : 1;
  return String(a).localeCompare(String(b));
}

/** "First page" and "Next page" over a keyset cursor kept in the URL. */
export function pager(ctx, nextCursor, shown) {
  const onFirst = !ctx.params.get('cursor');
  return h(
    'nav',
    { class: 'pager', 'aria-label': t('table.pages') },
    h('span', { class: 'shown' }, t('table.shown', { count: shown })),
    onFirst ? null : h('a', { href: ctx.withParams({ cursor: null }), id: 'first-page' }, t('table.first_page')),
    nextCursor ? h('a', { href: ctx.withParams({ cursor: nextCursor }), id: 'next-page', rel: 'next' }, t('table.next_page')) : null,
  );
}

/** Wraps a wide table so it scrolls sideways on its own, not the page. */
export function scroller(table, label) {
  return h('div', { class: 'scroll', role: 'region', 'aria-label': label, tabindex: '0' }, table);
}
