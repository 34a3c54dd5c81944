// Explain views. An order as a timeline: its order-export rows (file, line), the
// settlement lines that carry it, grouped by settlement (each links to the settlement's
// own view: payout, receipt, bank), the result with its reasons, and what people did
// about it. A settlement: its summary and the chain from payout to bank receipt.

import { ApiError, get, post } from '../api.js';
import { alertBox, field, h, select } from '../dom.js';
import { count, day, money, moneyCell, sum, unixTime, utcTime } from '../format.js';
import { categoryName, lang, t } from '../i18n.js';
import { dataTable, scroller } from '../table.js';
import { assignees, reasonName, resolutionText, resolveControls } from './differences.js';
import { reasonTexts } from '../reasons.js';

function source(file, line) {
  return h('code', { class: 'source' }, `${file}:${line}`);
}

function step(kind, heading, ...content) {
  return h('li', { class: `step ${kind}` }, h('h2', {}, heading), ...content);
}

function orderRows(view) {
  if (!view.order_rows.length) return h('p', { class: 'hint' }, t('explain.no_order_rows'));
  return scroller(
    dataTable(
      [
        { key: 'source', label: t('col.source'), cell: (r) => source(r.file_name, r.line), sortable: false },
        { key: 'status', label: t('col.status') },
        { key: 'purchase_date', label: t('col.purchase_date'), cell: (r) => day(r.purchase_date) },
        { key: 'ship_date', label: t('col.ship_date'), cell: (r) => day(r.ship_date) },
        { key: 'sku', label: 'SKU' },
        { key: 'quantity', label: t('col.quantity'), count: true },
        { key: 'amount', label: t('col.amount'), money: (r) => r.currency },
        { key: 'refunded', label: t('col.refunded'), money: (r) => r.currency },
      ],
      view.order_rows,
      { caption: t('explain.order_rows'), id: 'order-rows' },
    ),
    t('explain.order_rows'),
  );
}

function settlementSteps(view) {
  const bySettlement = new Map();
  for (const line of view.lines) {
    if (!bySettlement.has(line.settlement_id)) bySettlement.set(line.settlement_id, []);
    bySettlement.get(line.settlement_id).push(line);
  }
  if (!bySettlement.size) return [step('settlement', t('explain.settlements'), h('p', { class: 'hint' }, t('explain.no_lines')))];
  return [...bySettlement].map(([id, lines]) => {
    const currency = lines[0].currency;
    const subtotal = sum(lines.map((l) => l.amount));
    const link = h('a', { href: `/settlements/${encodeURIComponent(id)}`, class: 'settlement-link' }, id);
    return step(
      'settlement',
      [t('explain.settlement'), ' ', link],
      h('p', { class: 'meta' }, t('explain.settlement_meta', { file: lines[0].file_name, lines: count(lines.length), total: money(subtotal, currency) })),
      scroller(
        dataTable(
          [
            { key: 'source', label: t('col.source'), cell: (l) => source(l.file_name, l.line), value: (l) => l.line },
            { key: 'posted', label: t('col.posted'), cell: (l) => utcTime(l.posted) },
            { key: 'transaction_type', label: t('col.transaction_type') },
            { key: 'amount_type', label: t('col.amount_type') },
            { key: 'description', label: t('col.description'), cell: (l) => [l.description, l.duplicate ? h('span', { class: 'badge duplicate' }, t('explain.duplicate')) : null] },
            { key: 'sku', label: 'SKU' },
            { key: 'amount', label: t('col.amount'), money: (l) => l.currency },
          ],
          lines,
          { caption: t('explain.lines_of', { id }), rowAttributes: (l) => ({ dataset: { line: l.line } }) },
        ),
        t('explain.lines_of', { id }),
      ),
    );
  });
}

function resultStep(view) {
  const r = view.result;
  if (!r) return step('result', t('explain.result'), h('p', { class: 'hint' }, t('explain.no_result')));
  const figures = [
    ['col.order_amount', r.order_amount],
    ['col.settled_amount', r.settled_amount],
    ['col.refunds_settled', r.refunds_settled],
    ['col.fees_charged', r.fees_charged],
    ['col.fees_expected', r.fees_expected],
    ['col.net_settled', r.net_settled],
  ];
  return step(
    'result',
    t('explain.result'),
    h('p', {}, h('span', { class: `badge cat ${r.category}`, id: 'category' }, lang() === 'zh-CN' ? r.category_zh : categoryName(r.category))),
    h(
      'table',
      { class: 'data compact figures' },
      h('caption', {}, t('explain.figures')),
      h('tbody', {}, figures.map(([key, amount]) => h('tr', {}, h('th', { scope: 'row' }, t(key)), moneyCell(amount, r.currency)))),
    ),
    h('h3', {}, t('explain.reasons')),
    h('ul', { class: 'reasons' }, reasonTexts(r).map((reason) => h('li', {}, reason))),
  );
}

/** The current resolution: from the result if the server gives it, else the last
 * resolve or reopen in the history. */
function currentResolution(view) {
  if (view.result && 'resolution' in view.result) return view.result.resolution;
  const last = [...(view.history || [])].reverse().find((e) => e.action === 'resolve' || e.action === 'reopen');
  if (!last) return null;
  return { state: last.action === 'resolve' ? 'resolved' : 'open', kind: last.kind, reason: last.reason, amount: last.amount, currency: last.currency };
}

function historyStep(view) {
  const entries = view.history || [];
  const items = entries.map((entry) =>
    h(
      'li',
      { dataset: { action: entry.action } },
      h('time', {}, unixTime(entry.at)),
      ' — ',
      h('strong', {}, entry.by?.display_name || '?'),
      ': ',
      t(`history.${entry.action}`),
      entry.kind ? ` — ${t(`resolution.${entry.kind}`)}` : '',
      entry.reason ? ` (${reasonName(entry.reason)})` : '',
      entry.kind === 'adjust' ? ` ${t('resolution.adjusted', { ours: entry.ours ?? '—', theirs: entry.theirs ?? '—', amount: entry.amount ?? '—', currency: entry.currency || '' })}` : '',
      entry.kind === 'write_off' && entry.amount != null ? ` ${entry.amount} ${entry.currency || ''}` : '',
      entry.action === 'assign' ? ` → ${entry.assignee?.display_name || t('assign.nobody')}` : '',
      entry.comment ? h('q', {}, entry.comment) : '',
    ),
  );
  return step(
    'history',
    t('explain.resolution'),
    h('p', { id: 'resolution-state' }, t('explain.state_now', { state: resolutionText(currentResolution(view)) })),
    items.length ? h('ol', { class: 'history', id: 'history' }, items) : h('p', { class: 'hint' }, t('explain.no_history')),
  );
}

async function actions(ctx, view) {
  const id = view.order_id;
  const { kind, reason } = resolveControls('resolve');
  // An adjustment other than settled − order amount (adjust only).
  const adjustment = h('input', { id: 'resolve-adjustment', name: 'adjustment', inputmode: 'decimal', pattern: '-?[0-9]+([.][0-9]{1,4})?', placeholder: t('resolution.adjustment_default') });
  const adjustmentField = field(t('col.adjustment'), adjustment, t('resolution.adjustment_hint'));
  const showAdjustment = () => { adjustmentField.hidden = kind.value !== 'adjust'; };
  kind.addEventListener('change', showAdjustment);
  showAdjustment();
  const comment = h('textarea', { id: 'resolve-comment', name: 'comment', rows: '2', maxlength: '2000' });
  const assignee = select({ id: 'assign-to', name: 'assignee' }, await assignees(ctx), String(ctx.me.user.id));
  const message = h('div', { class: 'message' });
  const resolved = currentResolution(view)?.state === 'resolved';
  const run = (action, body) => async (event) => {
    event.preventDefault();
    message.replaceChildren();
    try {
      await post(`/api/differences/${action}`, { order_ids: [id], ...body() });
      ctx.announce(t(`history.${action}`));
      ctx.go(location.pathname + location.search, { replace: true });
    } catch (error) {
      message.append(alertBox(error instanceof ApiError ? error.message : String(error)));
    }
  };
  const form = h(
    'form',
    { class: 'card', id: 'resolve-form' },
    h('h2', {}, t('explain.act')),
    h('div', { class: 'row' }, field(t('col.resolution'), kind, t('resolution.hint')), field(t('col.reason'), reason), adjustmentField, field(t('col.comment'), comment)),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', id: 'resolve' }, t('action.resolve')),
      resolved ? h('button', { type: 'button', id: 'reopen', class: 'secondary', onclick: run('reopen', () => ({ comment: comment.value })) }, t('action.reopen')) : null,
    ),
    h('div', { class: 'row' }, field(t('col.assignee'), assignee), h('div', { class: 'actions' }, h('button', { type: 'button', id: 'assign', class: 'secondary', onclick: run('assign', () => ({ user_id: assignee.value ? Number(assignee.value) : null })) }, t('action.assign')))),
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

export async function order(ctx) {
  const id = decodeURIComponent(ctx.match[1]);
  const view = await get(`/api/orders/${encodeURIComponent(id)}/explain`);
  const r = view.result;
  const page = h(
    'section',
    { class: 'explain-page', dataset: { order: id } },
    h('p', { class: 'crumbs' }, h('a', { href: `/differences${r ? `?store=${encodeURIComponent(r.store)}` : ''}` }, `← ${t('nav.differences')}`)),
    h('h1', { id: 'page-title', tabindex: '-1' }, t('explain.order_title', { id })),
    r ? h('p', { class: 'lead' }, `${r.store} · ${r.marketplace} · ${r.currency} · ${t('col.period')} ${day(r.period_date)}`) : null,
    h('ol', { class: 'timeline', id: 'timeline' }, step('order-export', t('explain.order_export'), orderRows(view)), settlementSteps(view), resultStep(view), historyStep(view)),
  );
  if (r?.is_difference && ctx.may('resolve')) page.append(await actions(ctx, view));
  else if (r?.is_difference) page.append(h('p', { class: 'hint', id: 'read-only' }, t('explain.read_only')));
  return page;
}

export async function settlement(ctx) {
  const id = decodeURIComponent(ctx.match[1]);
  const { settlement: s, text } = await get(`/api/settlements/${encodeURIComponent(id)}/explain`);
  const facts = [
    ['col.store', s.store],
    ['col.source', source(s.file_name, s.line)],
    ['explain.period', `${utcTime(s.start)} – ${utcTime(s.end)}`],
    ['col.deposit', s.deposit ? utcTime(s.deposit) : t('explain.no_deposit')],
    ['col.total', h('span', { class: s.total.startsWith('-') ? 'neg' : null }, money(s.total, s.currency))],
    ['col.lines_sum', money(s.lines_sum, s.currency)],
    ['col.line_count', count(s.line_count)],
    ['col.status', [s.consistent ? t('settlement.consistent') : h('span', { class: 'badge warn' }, t('settlement.inconsistent')), ' · ', s.open ? t('settlement.open') : t('settlement.closed')]],
  ];
  return h(
    'section',
    { class: 'explain-page', dataset: { settlement: id } },
    h('p', { class: 'crumbs' }, h('a', { href: `/settlements?store=${encodeURIComponent(s.store)}` }, `← ${t('nav.settlements')}`)),
    h('h1', { id: 'page-title', tabindex: '-1' }, t('explain.settlement_title', { id })),
    h('dl', { class: 'facts' }, facts.map(([key, value]) => [h('dt', {}, t(key)), h('dd', {}, value)])),
    h('h2', {}, t('explain.chain')),
    h('p', { class: 'hint' }, t('explain.chain_hint')),
    h('pre', { class: 'chain', id: 'chain' }, text),
    h(
      'p',
      {},
      h('a', { href: `/differences?store=${encodeURIComponent(s.store)}` }, t('explain.store_differences')),
      ' · ',
      h('a', { href: `/receipts?store=${encodeURIComponent(s.store)}` }, t('explain.store_receipts')),
    ),
  );
}
