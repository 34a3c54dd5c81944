// tieout's web UI: a small single-page app over the JSON API (/api/...). Plain ES
// modules, no framework and no build step: the server compiles these files into its
// binary. This module is the shell: the session, the header (navigation, store,
// language, sign-out) and the router; each page is a module under pages/.
//
// URLs are real and bookmarkable (/differences?category=shipped_not_settled&store=acme-us):
// the server answers index.html for every page path and the router draws the page.

import { ApiError, ROLES, get, post, setCsrfToken, whenUnauthorized } from './api.js';
import { alertBox, clear, field, h, select } from './dom.js';
import { LANGUAGES, lang, setLang, t } from './i18n.js';
import * as alerts from './pages/alerts.js';
import * as audit from './pages/audit.js';
import * as dashboard from './pages/dashboard.js';
import * as differences from './pages/differences.js';
import * as explain from './pages/explain.js';
import * as imports from './pages/imports.js';
import * as reports from './pages/reports.js';
import * as settings from './pages/settings.js';
import * as settlements from './pages/settlements.js';
import * as signin from './pages/signin.js';
import * as statements from './pages/statements.js';

const LEAST = { read: 'viewer', import: 'clerk', resolve: 'accountant', sign_off: 'approver', administer: 'admin' };

const PAGES = [
  { path: /^\/$/, page: dashboard.render, nav: 'nav.dashboard' },
  { path: /^\/signin$/, page: signin.render, public: true },
  { path: /^\/imports$/, page: imports.render, nav: 'nav.imports' },
  { path: /^\/differences$/, page: (ctx) => differences.render(ctx, 'differences'), nav: 'nav.differences' },
  { path: /^\/orders$/, page: (ctx) => differences.render(ctx, 'orders') },
  { path: /^\/orders\/([^/]+)$/, page: explain.order },
  { path: /^\/settlements$/, page: settlements.list, nav: 'nav.settlements' },
  { path: /^\/settlements\/([^/]+)$/, page: explain.settlement },
  { path: /^\/receipts$/, page: settlements.receipts, nav: 'nav.receipts' },
  { path: /^\/statements$/, page: statements.list, nav: 'nav.statements' },
  { path: /^\/statements\/([^/]+)$/, page: statements.detail },
  { path: /^\/reports\/receivables$/, page: reports.receivables, nav: 'nav.receivables' },
  { path: /^\/reports\/aging$/, page: reports.aging, nav: 'nav.aging' },
  { path: /^\/audit$/, page: audit.render, nav: 'nav.audit', needs: 'sign_off' },
  { path: /^\/alerts$/, page: alerts.render, nav: 'nav.alerts', needs: 'sign_off' },
  { path: /^\/settings$/, page: settings.render, nav: 'nav.settings', needs: 'administer' },
];
const NAV = [
  ['/', 'nav.dashboard'],
  ['/imports', 'nav.imports'],
  ['/differences', 'nav.differences'],
  ['/settlements', 'nav.settlements'],
  ['/receipts', 'nav.receipts'],
  ['/statements', 'nav.statements'],
  ['/reports/receivables', 'nav.receivables'],
  ['/reports/aging', 'nav.aging'],
  ['/audit', 'nav.audit', 'sign_off'],
  ['/alerts', 'nav.alerts', 'sign_off'],
  ['/settings', 'nav.settings', 'administer'],
];

/** The signed-in user: GET /api/me, and the stores they can pick from. */
let session = null;
let renderTicket = 0;
let lastPath = null;

function may(action) {
  if (!session) return false;
  return ROLES.indexOf(session.me.role) >= ROLES.indexOf(LEAST[action]);
}

/** Navigates inside the app (pushState), or replaces the current entry. */
export function go(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

/** The current path with some query parameters changed (null or '' removes one). */
function withParams(changes, path = location.pathname) {
  const search = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === '') search.delete(name);
    else search.set(name, value);
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/** Says something to screen readers (and the e2e tests) without moving focus. */
function announce(text) {
  const status = document.getElementById('status');
  status.textContent = '';
  setTimeout(() => {
    status.textContent = text;
  }, 30);
}

async function loadSession() {
  const me = await get('/api/me');
  setCsrfToken(me.csrf_token);
  session = { me, stores: [] };
  await loadStores();
}

/** Stores the user can pick, grouped by organisation: the tenant's registered stores and
 * the stores the data holds (the dashboard's); a role limited to some stores sees those. */
export async function loadStores() {
  if (!session) return;
  const [registry, organisations, board] = await Promise.all([
    get('/api/stores').catch(() => ({ items: [] })),
    get('/api/organisations').catch(() => ({ items: [] })),
    get('/api/dashboard').catch(() => ({ rows: [], stores: [] })),
  ]);
  const names = new Set([...registry.items.map((s) => s.name), ...board.rows.map((r) => r.store), ...board.stores.map((s) => s.store)]);
  const visible = session.me.stores ? session.me.stores : [...names].sort();
  const groups = [];
  for (const organisation of organisations.items) {
    const stores = registry.items.filter((s) => s.organisation_id === organisation.id && visible.includes(s.name)).map((s) => s.name);
    if (stores.length) groups.push({ organisation: organisation.name, stores });
  }
  const grouped = new Set(groups.flatMap((g) => g.stores));
  const rest = visible.filter((name) => !grouped.has(name));
  if (rest.length) groups.push({ organisation: null, stores: rest });
  session.storeGroups = groups;
  session.stores = visible;
}

async function signOut() {
  try {
    await post('/api/logout');
  } catch {
    // Signed out already: the page goes to sign-in either way.
  }
  session = null;
  setCsrfToken(null);
  go('/signin');
}

function header(path) {
  const top = clear(document.getElementById('top'));
  const store = new URLSearchParams(location.search).get('store') || '';
  const languagePicker = select(
    { id: 'lang', name: 'lang' },
    LANGUAGES.map((l) => [l.code, l.name]),
    lang(),
  );
  languagePicker.addEventListener('change', () => {
    setLang(languagePicker.value);
    render();
  });
  const tools = h('div', { class: 'tools' }, field(t('header.language'), languagePicker));
  const bar = h('div', { class: 'bar' }, h('a', { class: 'brand', href: '/' }, 'tieout', h('span', {}, t('app.tagline'))));
  if (session) {
    const keep = store ? `?store=${encodeURIComponent(store)}` : '';
    const links = NAV.filter(([, , needs]) => !needs || may(needs)).map(([href, key]) => {
      const current = href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
      return h('li', {}, h('a', { href: href + keep, 'aria-current': current ? 'page' : null }, t(key)));
    });
    bar.append(h('nav', { 'aria-label': t('nav.label') }, h('ul', {}, links)));
    const storePicker = h('select', { id: 'scope', name: 'store' }, h('option', { value: '' }, session.me.stores ? t('header.my_stores') : t('header.all_stores')));
    for (const group of session.storeGroups || []) {
      const options = group.stores.map((name) => h('option', { value: name, selected: name === store }, name));
      storePicker.append(group.organisation ? h('optgroup', { label: group.organisation }, options) : options);
    }
    storePicker.addEventListener('change', () => go(withParams({ store: storePicker.value, cursor: null })));
    tools.prepend(field(t('header.store'), storePicker));
    tools.append(
      h(
        'div',
        { class: 'who' },
        h('span', { class: 'user', id: 'who' }, `${session.me.user.display_name || session.me.user.email} · ${t(`role.${session.me.role}`)} · ${session.me.tenant.name}`),
        h('button', { type: 'button', id: 'signout', class: 'secondary', onclick: signOut }, t('header.sign_out')),
      ),
    );
  }
  bar.append(tools);
  top.append(bar);
}

function notFound() {
  return h('section', {}, h('h1', { id: 'page-title', tabindex: '-1' }, t('page.not_found')), h('p', {}, h('a', { href: '/' }, t('nav.dashboard'))));
}

/** A failed page: the problem's detail, or for a 403 what the role may not do. */
function failure(error) {
  const detail = error instanceof ApiError ? error.message : String(error);
  return h('section', {}, h('h1', { id: 'page-title', tabindex: '-1' }, t('page.error')), alertBox(detail));
}

export async function render() {
  const ticket = ++renderTicket;
  const main = document.getElementById('main');
  main.setAttribute('aria-busy', 'true');
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  document.documentElement.lang = lang();
  document.getElementById('skip').textContent = t('app.skip');
  const route = PAGES.find((p) => p.path.test(path));
  if (!session && !route?.public) {
    try {
      await loadSession();
    } catch {
      if (ticket !== renderTicket) return;
      const next = path === '/' && !location.search ? '' : `?next=${encodeURIComponent(path + location.search)}`;
      history.replaceState(null, '', `/signin${next}`);
      return render();
    }
  }
  if (ticket !== renderTicket) return;
  header(path);
  const ctx = {
    params,
    match: route ? path.match(route.path) : null,
    me: session?.me,
    stores: session?.stores || [],
    may,
    go,
    withParams,
    announce,
    fresh: () => ticket === renderTicket,
    signedIn: async (me) => {
      setCsrfToken(me.csrf_token);
      await loadSession();
    },
    reloadStores: async () => {
      await loadStores();
      header(location.pathname);
    },
  };
  let content;
  try {
    if (!route) content = notFound();
    else if (route.needs && !may(route.needs)) content = failure(new ApiError(403, { detail: t('page.forbidden') }));
    else content = await route.page(ctx);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    content = failure(error);
  }
  if (ticket !== renderTicket) return;
  clear(main).append(content);
  const title = main.querySelector('h1');
  document.title = `${title ? title.textContent : ''} · tieout`;
  if (path !== lastPath && lastPath !== null && title) title.focus();
  lastPath = path;
  main.setAttribute('aria-busy', 'false');
}

/** Links inside the app navigate without reloading; API links (downloads) load normally. */
document.addEventListener('click', (event) => {
  const link = event.target.closest('a[href]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const href = link.getAttribute('href');
  if (!href.startsWith('/') || href.startsWith('/api/') || link.hasAttribute('download') || link.target) return;
  event.preventDefault();
  go(href);
});

window.addEventListener('popstate', render);

whenUnauthorized(() => {
  if (location.pathname === '/signin') return;
  session = null;
  const next = encodeURIComponent(location.pathname + location.search);
  go(`/signin?next=${next}`, { replace: true });
});

render();
