// Alerts (提醒): for admins, the tenant's alert configuration — where alerts go (webhooks,
// an e-mail relay) and what raises them (thresholds) — as TOML, checked by the server (an
// error names its line and column and shows under the editor; secrets come back masked
// as "********", and a masked secret sent back keeps the stored one); for approvers and
// admins, the delivery log: each alert to each target, its state and attempts.

import { api, get } from '../api.js';
import { h } from '../dom.js';
import { clearEditorError, showEditorError } from '../editor.js';
import { count, money, unixTime } from '../format.js';
import { lang, t } from '../i18n.js';
import { dataTable, scroller } from '../table.js';

/** The text for `key`, or `fallback` when the dictionaries have none. */
function known(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

/** { USD: "100.00" } → "US$100.00, …" in the language; "—" when empty. */
function amounts(byCurrency) {
  const entries = Object.entries(byCurrency || {});
  return entries.length ? entries.map(([currency, amount]) => money(amount, currency)).join(t('alerts.list_separator')) : '—';
}

/** What the configuration says, as the server read it. */
function summary(config) {
  const thresholds = config.thresholds || {};
  const rows = [
    ['webhooks', config.webhooks.length ? config.webhooks.map((w) => h('div', {}, h('code', {}, w.url))) : t('alerts.none')],
    ['email', config.email ? [h('code', {}, config.email.smtp), ' · ', config.email.from, ' → ', config.email.to.join(', ')] : t('alerts.none')],
    ['difference_above', amounts(thresholds.difference_above)],
    ['aging_days', thresholds.aging_days === null || thresholds.aging_days === undefined ? t('alerts.aging_days_default') : t('alerts.days', { days: count(thresholds.aging_days) })],
    ['aging_orders_max', thresholds.aging_orders_max === null || thresholds.aging_orders_max === undefined ? '—' : count(thresholds.aging_orders_max)],
    ['aging_amount_above', amounts(thresholds.aging_amount_above)],
  ];
  return h(
    'dl',
    { class: 'facts', id: 'alerts-summary' },
    rows.map(([key, value]) => [h('dt', {}, t(`alerts.summary.${key}`)), h('dd', { 'data-fact': key }, value)]),
  );
}

function configSection(ctx, initial) {
  const editor = h('textarea', { id: 'alerts-text', name: 'alerts', rows: '18', spellcheck: 'false', class: 'code', 'aria-describedby': 'alerts-hint alerts-error' }, initial.text);
  const error = h('div', { id: 'alerts-error', class: 'message' });
  const origin = h('p', { class: 'hint', id: 'alerts-hint' });
  const summaryHolder = h('div', { class: 'card summary-card' });
  const show = (config) => {
    origin.textContent = `${config.configured ? t('alerts.configured') : t('alerts.not_configured')} ${t('alerts.secret_hint')}`;
    summaryHolder.replaceChildren(h('h3', {}, t('alerts.in_effect')), summary(config));
  };
  show(initial);
  const form = h(
    'form',
    { class: 'card', id: 'alerts-form' },
    h('label', { for: 'alerts-text' }, t('alerts.config_label')),
    origin,
    editor,
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'save-alerts' }, t('alerts.save'))),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearEditorError(editor, error);
    try {
      const saved = await api('/api/alerts/config', { method: 'PUT', body: { text: editor.value } });
      // The stored text as the server shows it: every secret masked.
      editor.value = saved.text;
      show(saved);
      error.append(h('p', { class: 'ok', role: 'status' }, t('alerts.saved')));
      ctx.announce(t('alerts.saved'));
    } catch (problem) {
      showEditorError(editor, error, problem);
    }
  });
  return h(
    'section',
    { class: 'settings-section', id: 'alerts-config' },
    h('h2', {}, t('alerts.config_title')),
    h('div', { class: 'two' }, form, summaryHolder),
  );
}

function deliveriesSection(deliveries) {
  const title = t('alerts.deliveries_title');
  const titleOf = (d) => (lang() === 'zh-CN' ? d.alert?.title_zh : d.alert?.title) || d.alert?.title || '—';
  const detailOf = (d) => (lang() === 'zh-CN' ? d.alert?.detail_zh : d.alert?.detail) || d.alert?.detail || '';
  const columns = [
    { key: 'created_at', label: t('col.created'), cell: (d) => unixTime(d.created_at) },
    { key: 'kind', label: t('alerts.col.kind'), cell: (d) => h('span', { class: 'kind-text' }, known(`alerts.kind.${d.kind}`, d.kind)) },
    {
      key: 'title',
      label: t('alerts.col.alert'),
      value: titleOf,
      cell: (d) => h('span', { class: 'alert-text' }, h('strong', {}, titleOf(d)), detailOf(d) ? [h('br'), h('span', { class: 'sub' }, detailOf(d))] : null),
    },
    { key: 'channel', label: t('alerts.col.channel'), cell: (d) => known(`alerts.channel.${d.channel}`, d.channel) },
    { key: 'target', label: t('alerts.col.target'), cell: (d) => h('code', { class: 'target' }, d.target) },
    { key: 'state', label: t('col.state'), cell: (d) => h('span', { class: `badge ${d.state}`, 'data-state': d.state }, known(`alerts.state.${d.state}`, d.state)) },
    { key: 'attempts', label: t('alerts.col.attempts'), count: true },
    { key: 'last_error', label: t('alerts.col.last_error'), cell: (d) => (d.last_error ? h('span', { class: 'error-text neg' }, d.last_error) : '—') },
    {
      key: 'when',
      label: t('alerts.col.when'),
      value: (d) => d.delivered_at ?? d.next_attempt_at ?? 0,
      cell: (d) => {
        if (d.delivered_at) return [h('span', { class: 'sub' }, t('alerts.delivered')), h('br'), unixTime(d.delivered_at)];
        if (d.next_attempt_at) return [h('span', { class: 'sub' }, t('alerts.next_attempt')), h('br'), unixTime(d.next_attempt_at)];
        return '—';
      },
    },
  ];
  return h(
    'section',
    { class: 'settings-section', id: 'alerts-deliveries' },
    h('h2', {}, title),
    h('p', { class: 'hint' }, t('alerts.deliveries_hint')),
    scroller(
      dataTable(columns, deliveries.items, {
        caption: t('table.caption', { title, count: deliveries.items.length }),
        id: 'deliveries',
        rowAttributes: (d) => ({ dataset: { delivery: String(d.id), kind: d.kind, channel: d.channel, state: d.state } }),
      }),
      title,
    ),
  );
}

export async function render(ctx) {
  const administer = ctx.may('administer');
  const [config, deliveries] = await Promise.all([administer ? get('/api/alerts/config') : null, get('/api/alerts/deliveries')]);
  return h(
    'section',
    { class: 'alerts-page' },
    h('h1', { id: 'page-title', tabindex: '-1' }, t('alerts.title')),
    h('p', { class: 'lead' }, t('alerts.lead')),
    administer ? configSection(ctx, config) : h('p', { class: 'hint', id: 'alerts-admin-only' }, t('alerts.admin_only')),
    deliveriesSection(deliveries),
  );
}
