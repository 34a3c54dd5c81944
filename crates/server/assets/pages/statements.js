// Statements with counterparties (往来对账单): the list with each statement's state and
// totals, and one statement (its lines with file:line, totals, the differences with the
// counterparty's statement and their resolutions), with the actions the role may take:
// move it through its lifecycle, resolve a difference, export it.

import { ApiError, ROLES, get, post } from '../api.js';
import { alertBox, field, h, select } from '../dom.js';
import { day, money, unixTime } from '../format.js';
import { t } from '../i18n.js';
import { dataTable, scroller } from '../table.js';

/** By hand, from each state: [to, least role] (partially paid and settled come by payments). */
const TRANSITIONS = {
  draft: [['pending_review', 'clerk'], ['void', 'approver']],
  pending_review: [['reviewed', 'accountant'], ['draft', 'accountant'], ['void', 'approver']],
  reviewed: [['void', 'approver']],
  partially_paid: [['void', 'approver']],
  settled: [['closed', 'approver'], ['void', 'approver']],
};
const RESOLUTIONS = ['accept', 'adjust', 'write_off'];
const WRITE_OFF_REASONS = ['small_difference', 'rounding', 'bank_charges', 'goodwill', 'other'];

const atLeast = (ctx, role) => ROLES.indexOf(ctx.me?.role) >= ROLES.indexOf(role);
const badge = (state) => h('span', { class: `badge statement-state ${state}`, 'data-state': state }, t(`statement.state.${state}`));
const period = (s) => `${day(s.period_start)} – ${day(s.period_end)}`;

export async function list(ctx) {
  const data = await get('/api/statements');
  const title = t('statements.title');
  const columns = [
    { key: 'id', label: t('statement.col.statement'), value: (s) => s.id, cell: (s) => h('a', { href: `/statements/${s.id}`, class: 'statement-link' }, `#${s.id}`) },
    { key: 'counterparty', label: t('statement.col.counterparty'), cell: (s) => (s.counterparty_name ? `${s.counterparty_name} (${s.counterparty})` : s.counterparty) },
    { key: 'side', label: t('statement.col.side'), cell: (s) => t(`statement.side.${s.side}`) },
    { key: 'period_start', label: t('statement.col.period'), cell: period },
    { key: 'state', label: t('col.status'), cell: (s) => badge(s.state) },
    { key: 'opening', label: t('statement.col.opening'), money: (s) => s.currency },
    { key: 'due', label: t('statement.col.due'), money: (s) => s.currency },
    { key: 'paid', label: t('statement.col.paid'), money: (s) => s.currency },
    { key: 'balance', label: t('statement.col.balance'), money: (s) => s.currency },
    { key: 'their_total', label: t('statement.col.their_total'), money: (s) => s.currency },
    { key: 'differences', label: t('statement.col.open_differences'), value: (s) => openCount(s), cell: (s) => String(openCount(s)) },
  ];
  return h(
    'section',
    { class: 'list-page' },
    h('h1', { id: 'page-title', tabindex: '-1' }, title),
    scroller(
      dataTable(columns, data.items, {
        caption: t('table.caption', { title, count: data.items.length }),
        id: 'statements',
        sort: ctx.params.get('sort') || '',
        onSort: (sort) => history.replaceState(null, '', ctx.withParams({ sort })),
        rowAttributes: (s) => ({ dataset: { statement: String(s.id), state: s.state } }),
      }),
      title,
    ),
  );
}

const openCount = (s) => (s.differences || []).filter((d) => !d.resolution).length;

export async function detail(ctx) {
  const id = decodeURIComponent(ctx.match[1]);
  const s = await get(`/api/statements/${encodeURIComponent(id)}`);
  const message = h('div', { id: 'statement-message', 'aria-live': 'polite' });
  const refused = (error) => message.replaceChildren(alertBox(error instanceof ApiError ? error.message : String(error)));
  const reload = () => ctx.go(location.pathname + location.search, { replace: true });

  const totals = [
    ['opening', s.opening],
    ['due', s.due],
    ['paid', s.paid],
    ['balance', s.balance],
    ['their_total', s.their_total],
  ];
  const totalsList = h(
    'dl',
    { class: 'facts totals card', id: 'statement-totals' },
    totals.map(([key, amount]) => [h('dt', {}, t(`statement.col.${key}`)), h('dd', { class: 'num', 'data-total': key }, money(amount, s.currency))]),
  );

  const moves = (TRANSITIONS[s.state] || []).filter(([, role]) => atLeast(ctx, role));
  const actions = h(
    'div',
    { class: 'actions', id: 'statement-actions' },
    moves.map(([to]) =>
      h(
        'button',
        {
          type: 'button',
          class: to === 'void' || to === 'draft' ? 'secondary' : null,
          'data-to': to,
          onclick: async () => {
            try {
              await post(`/api/statements/${s.id}/transition`, { to });
              ctx.announce(t('statement.moved', { state: t(`statement.state.${to}`) }));
              reload();
            } catch (error) {
              refused(error);
            }
          },
        },
        t(`statement.to.${to}`),
      ),
    ),
    ['xlsx', 'csv', 'html'].map((format) =>
      h(
        'a',
        { class: 'button-like secondary', id: `export-${format}`, href: `/api/statements/${s.id}/export?format=${format}`, target: format === 'html' ? '_blank' : null, rel: format === 'html' ? 'noopener' : null, download: format === 'html' ? null : `statement-${s.id}.${format}` },
        t(`statement.export.${format}`),
      ),
    ),
  );

  const lineColumns = [
    { key: 'number', label: t('statement.col.number') },
    { key: 'date', label: t('statement.col.date'), cell: (l) => day(l.date) },
    { key: 'doc_type', label: t('statement.col.doc_type'), cell: (l) => t(`statement.doc.${l.doc_type}`) },
    { key: 'description', label: t('col.description'), cell: (l) => l.description || '—' },
    { key: 'amount', label: t('col.amount'), money: () => s.currency },
    { key: 'source', label: t('col.source'), value: (l) => `${l.file_name}:${String(l.line).padStart(8, '0')}`, cell: (l) => h('code', { class: 'source' }, `${l.file_name}:${l.line}`) },
  ];

  const mayResolve = atLeast(ctx, 'accountant');
  const differenceColumns = [
    { key: 'number', label: t('statement.col.number') },
    { key: 'kind', label: t('col.kind'), cell: (d) => t(`statement.difference.${d.kind}`) },
    { key: 'ours', label: t('statement.col.ours'), money: () => s.currency },
    { key: 'theirs', label: t('statement.col.theirs'), money: () => s.currency },
    { key: 'difference', label: t('col.difference'), money: () => s.currency },
    { key: 'their_line', label: t('statement.col.their_line'), cell: (d) => (d.their_line ? String(d.their_line) : '—') },
    {
      key: 'resolution',
      label: t('statement.col.resolution'),
      cell: (d) =>
        d.resolution
          ? h('span', { class: 'badge matched' }, t(`statement.resolution.${d.resolution}`), d.resolved_by_system ? ` · ${t('statement.by_system')}` : '')
          : h('span', { class: 'badge warn' }, t('statement.unresolved')),
    },
  ];
  const resolutionColumns = [
    { key: 'number', label: t('statement.col.number') },
    { key: 'kind', label: t('statement.resolution'), cell: (r) => t(`statement.resolution.${r.kind}`) },
    { key: 'reason', label: t('statement.reason'), cell: (r) => (r.reason ? t(`statement.reason.${r.reason}`) : '—') },
    { key: 'comment', label: t('statement.comment'), cell: (r) => r.comment || '—' },
    { key: 'by_system', label: t('statement.col.by'), cell: (r) => (r.by_system ? t('statement.by_system') : t('statement.by_person')) },
    { key: 'at', label: t('statement.col.when'), cell: (r) => unixTime(r.at) },
  ];
  const open = s.differences.filter((d) => !d.resolution);

  let resolveForm = null;
  if (mayResolve && open.length) {
    const number = select({ id: 'resolve-number', name: 'number' }, open.map((d) => [d.number, `${d.number} (${money(d.difference, s.currency)})`]));
    const kind = select({ id: 'resolve-kind', name: 'kind' }, RESOLUTIONS.map((k) => [k, t(`statement.resolution.${k}`)]), 'accept');
    const reason = select({ id: 'resolve-reason', name: 'reason' }, WRITE_OFF_REASONS.map((r) => [r, t(`statement.reason.${r}`)]), 'small_difference');
    const comment = h('input', { id: 'resolve-comment', name: 'comment', autocomplete: 'off' });
    const reasonField = field(t('statement.reason'), reason, t('statement.reason_hint'));
    const syncReason = () => {
      reasonField.hidden = kind.value !== 'write_off';
    };
    kind.addEventListener('change', syncReason);
    syncReason();
    resolveForm = h(
      'form',
      { class: 'card', id: 'resolve-difference', 'aria-label': t('statement.resolve') },
      h('h3', {}, t('statement.resolve')),
      field(t('statement.col.number'), number),
      field(t('statement.resolution'), kind),
      reasonField,
      field(t('statement.comment'), comment),
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'resolve-submit' }, t('statement.resolve'))),
    );
    resolveForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { number: number.value, kind: kind.value, reason: kind.value === 'write_off' ? reason.value : null, comment: comment.value.trim() || null };
      try {
        await post(`/api/statements/${s.id}/resolve`, body);
        ctx.announce(t('statement.resolved', { number: body.number }));
        reload();
      } catch (error) {
        refused(error);
      }
    });
  }

  const counterparty = s.counterparty_name ? `${s.counterparty_name} (${s.counterparty})` : s.counterparty;
  return h(
    'section',
    { class: 'statement', 'data-statement': String(s.id), 'data-state': s.state },
    h('p', {}, h('a', { href: '/statements' }, `← ${t('statements.title')}`)),
    h('h1', { id: 'page-title', tabindex: '-1' }, t('statement.title', { id: s.id, counterparty })),
    h('p', { class: 'lead' }, badge(s.state), ' · ', t(`statement.side.${s.side}`), ' · ', s.currency, ' · ', period(s)),
    message,
    actions,
    h('h2', {}, t('statement.totals')),
    totalsList,
    h('h2', {}, t('statement.lines')),
    scroller(dataTable(lineColumns, s.lines, { caption: t('table.caption', { title: t('statement.lines'), count: s.lines.length }), id: 'statement-lines', rowAttributes: (l) => ({ dataset: { number: l.number } }) }), t('statement.lines')),
    h('h2', {}, t('statement.differences')),
    s.their_total === null || s.their_total === undefined
      ? h('p', { id: 'no-theirs' }, t('statement.no_theirs'))
      : scroller(
          dataTable(differenceColumns, s.differences, {
            caption: t('table.caption', { title: t('statement.differences'), count: s.differences.length }),
            id: 'statement-differences',
            rowAttributes: (d) => ({ dataset: { number: d.number, resolution: d.resolution || '' } }),
          }),
          t('statement.differences'),
        ),
    resolveForm,
    s.resolutions?.length
      ? [
          h('h2', {}, t('statement.resolutions')),
          scroller(dataTable(resolutionColumns, s.resolutions, { caption: t('table.caption', { title: t('statement.resolutions'), count: s.resolutions.length }), id: 'statement-resolutions' }), t('statement.resolutions')),
        ]
      : null,
  );
}
