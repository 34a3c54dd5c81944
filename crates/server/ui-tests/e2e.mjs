// End-to-end test of tieout's web UI in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core), run by crates/server/tests/ui.rs against a server on
// loopback:
//
//   node e2e.mjs <base-url> <screenshot-dir> <plan.json>
//
// For each tenant of the plan, in its language (zh-CN, en): sign in as a clerk and upload
// the demo month (one upload by drag and drop) and a file tieout refuses; reconcile; the
// dashboard's figures equal GET /api/dashboard; as an accountant, filter, sort and select
// differences, explain one and resolve it; download the receivables XLSX and check the
// CSV's roll-forward; as an admin, the settings (rules refused with line and column); as a
// viewer, no resolve button, and the server answers 403 to the action anyway. Every page
// is written as a screenshot. Prints "e2e: all passed" and exits 0, or exits 1.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { chromium } from 'playwright-core';

const [base, shotDir, planFile] = process.argv.slice(2);
if (!base || !shotDir || !planFile) {
  console.error('usage: node e2e.mjs <base-url> <screenshot-dir> <plan.json>');
  process.exit(2);
}
const plan = JSON.parse(readFileSync(planFile, 'utf8'));
mkdirSync(shotDir, { recursive: true });
rmSync(join(shotDir, 'failure.png'), { force: true });

const LIMIT_MS = 10 * 60 * 1000;
setTimeout(() => {
  console.error(`e2e: gave up after ${LIMIT_MS / 60000} minutes`);
  process.exit(1);
}, LIMIT_MS).unref();

const log = (...parts) => console.log('e2e:', ...parts);

/** A page of one browser context, failing the run on any script error or CSP report. */
async function open(browser, lang) {
  const context = await browser.newContext({ locale: lang, acceptDownloads: true, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) page.problems.push(`console: ${message.text()}`);
  });
  return { context, page };
}

async function settle(page) {
  await page.waitForSelector('main[aria-busy="false"] h1');
}

async function goto(page, path) {
  await page.goto(base + path);
  await settle(page);
}

/** Clicks an in-app link and waits for the page it draws. */
async function follow(page, selector) {
  await page.click(selector);
  await settle(page);
}

async function shot(page, lang, name) {
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(shotDir, `${lang}-${name}.png`), fullPage: true });
}

/** Every input has a label, every header cell a scope, and <html lang> is the language. */
async function checkAccessible(page, lang, where) {
  const found = await page.evaluate(() => {
    const unlabelled = [...document.querySelectorAll('input, select, textarea')]
      .filter((e) => e.type !== 'hidden' && !e.labels?.length && !e.getAttribute('aria-label'))
      .map((e) => e.id || e.name || e.outerHTML.slice(0, 60));
    const unscoped = [...document.querySelectorAll('th')].filter((th) => !th.getAttribute('scope')).length;
    const buttonsWithoutText = [...document.querySelectorAll('button')].filter((b) => !b.textContent.trim() && !b.getAttribute('aria-label')).length;
    return { unlabelled, unscoped, buttonsWithoutText, lang: document.documentElement.lang };
  });
  assert.deepEqual(found.unlabelled, [], `${where}: inputs without a label`);
  assert.equal(found.unscoped, 0, `${where}: header cells without scope`);
  assert.equal(found.buttonsWithoutText, 0, `${where}: buttons without a name`);
  assert.equal(found.lang, lang, `${where}: <html lang>`);
}

async function signIn(page, slug, role) {
  await goto(page, '/signin');
  await page.fill('#tenant', slug);
  await page.fill('#email', `${role}@${slug}.test`);
  await page.fill('#password', plan.password);
  await page.press('#password', 'Enter');
  await page.waitForSelector('#who');
  await settle(page);
}

async function signOut(page) {
  await page.click('#signout');
  await page.waitForURL(/\/signin/);
  await settle(page);
}

/** JSON from the API with the page's session (and its CSRF token for changes). */
function apiFromPage(page, path, method = 'GET', body = undefined) {
  return page.evaluate(
    async ({ path, method, body }) => {
      const headers = { Accept: 'application/json' };
      if (method !== 'GET') {
        const me = await (await fetch('/api/me')).json();
        headers['X-CSRF-Token'] = me.csrf_token;
        headers['Content-Type'] = 'application/json';
      }
      const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      return { status: response.status, type: response.headers.get('content-type'), text, json: text && /json/.test(response.headers.get('content-type') || '') ? JSON.parse(text) : null };
    },
    { path, method, body },
  );
}

function money(page, lang, amount, currency) {
  return page.evaluate(({ lang, amount, currency }) => new Intl.NumberFormat(lang, { style: 'currency', currency }).format(amount), { lang, amount, currency });
}

/** "1,234.5" → 123450n: minor units as BigInt, exactly. */
function units(text) {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  assert.ok(match, `not an amount: ${text}`);
  const value = BigInt(match[2] + (match[3] || '').padEnd(2, '0'));
  return match[1] ? -value : value;
}

async function uploadFiles(page, upload, { drop = false } = {}) {
  await page.fill('#upload-store', upload.store || '');
  await page.setInputFiles('#mapping', upload.mapping ? [upload.mapping] : []);
  await page.setInputFiles('#profile-file', upload.profile_file ? [upload.profile_file] : []);
  await page.selectOption('#profile-name', upload.profile || '');
  if (drop) {
    // Drag and drop: the files arrive on the drop zone as a DataTransfer.
    const files = upload.files.map((path) => ({ name: basename(path), data: readFileSync(path).toString('base64') }));
    const transfer = await page.evaluateHandle((files) => {
      const transfer = new DataTransfer();
      for (const file of files) {
        const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], file.name));
      }
      return transfer;
    }, files);
    await page.dispatchEvent('#dropzone', 'dragover', { dataTransfer: transfer });
    await page.dispatchEvent('#dropzone', 'drop', { dataTransfer: transfer });
  } else {
    await page.setInputFiles('#files', upload.files);
  }
  assert.equal(await page.locator('#chosen-files li').count(), upload.files.length, 'every chosen file is listed');
  await page.click('#upload-submit');
  await page.waitForSelector('#upload-result .job-result[data-state="succeeded"], #upload-result .job-result[data-state="failed"], #upload-message .alert');
  const alert = await page.locator('#upload-message .alert').count();
  assert.equal(alert, 0, alert ? await page.textContent('#upload-message') : '');
  const progress = await page.evaluate(() => {
    const bar = document.getElementById('upload-progress');
    return { value: bar.value, max: bar.max };
  });
  assert.equal(progress.value, progress.max, 'the upload progress reached its end');
  return page.locator('#upload-result');
}

async function run(browser, tenant) {
  const { slug, lang } = tenant;
  log(`— ${slug} in ${lang}`);
  const { context, page } = await open(browser, lang);

  // Sign in: the page asks for it, the language switch works, Enter submits, keyboard first.
  await page.goto(`${base}/`);
  await page.waitForURL(/\/signin/);
  await settle(page);
  await page.selectOption('#lang', lang === 'en' ? 'zh-CN' : 'en');
  await settle(page);
  await page.selectOption('#lang', lang);
  await settle(page);
  await checkAccessible(page, lang, 'sign-in');
  const missing = await page.evaluate(async () => (await import('/assets/i18n.js')).missingKeys());
  assert.deepEqual(missing, { zh: [], en: [] }, 'both dictionaries have every text');
  await page.fill('#tenant', slug);
  await page.fill('#email', `clerk@${slug}.test`);
  await page.fill('#password', 'wrong password!');
  await page.press('#password', 'Enter');
  await page.waitForSelector('#signin-form .alert');
  await shot(page, lang, '01-sign-in');
  await page.fill('#password', plan.password);
  await page.press('#password', 'Enter');
  await page.waitForSelector('#who');
  await settle(page);
  await page.waitForSelector('main p.lead');
  // Keyboard: the skip link comes first and lands in the content.
  await goto(page, '/');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'skip', 'the skip link comes first');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main', 'the skip link moves focus to the content');

  // Imports: the demo month as a clerk would upload it, the first upload dropped.
  await follow(page, 'nav a[href^="/imports"]');
  await checkAccessible(page, lang, 'imports');
  for (const [index, upload] of plan.uploads.entries()) {
    const result = await uploadFiles(page, upload, { drop: index === 0 });
    assert.equal(await result.locator('tr[data-outcome="refused"]').count(), 0, `upload ${index}: ${await result.textContent()}`);
    assert.equal(await result.locator('tr[data-outcome="imported"]').count(), upload.files.length, `upload ${index}: ${await result.textContent()}`);
  }
  log(`${plan.uploads.length} uploads imported`);
  // A file tieout cannot read: refused, with its errors by file, line and column.
  const refused = await uploadFiles(page, { store: plan.uploads[1].store, files: [plan.refused_file] });
  assert.equal(await refused.locator('tr[data-outcome="refused"]').count(), 1);
  const diagnostic = refused.locator('table[id^="diagnostics-"] tbody tr').first();
  assert.equal(await diagnostic.locator('td[data-column="file"]').textContent(), basename(plan.refused_file));
  assert.match(await diagnostic.locator('td[data-column="line"]').textContent(), /^\d+$/);
  assert.ok((await diagnostic.locator('td[data-column="message"]').textContent()).length > 20);

  // Reconcile, with progress, as of the demo month's day.
  await page.fill('#as-of', plan.as_of);
  await page.click('#reconcile-submit');
  await page.waitForSelector('#reconcile-result .job-result[data-state="succeeded"]');
  await page.waitForSelector(`#jobs tr[data-state="succeeded"]`);
  const jobs = await apiFromPage(page, '/api/jobs');
  assert.equal(await page.locator('#jobs tbody tr').count(), jobs.json.items.length, 'the history lists every job');
  await page.click(`#jobs button[data-job="${jobs.json.items.find((j) => j.result?.refused === 1).id}"]`);
  await page.waitForSelector('#job-detail tr[data-outcome="refused"]');
  await shot(page, lang, '02-imports');

  // The dashboard shows exactly what the API says.
  await follow(page, 'nav a[href="/"]');
  await page.waitForSelector('#by-marketplace');
  await checkAccessible(page, lang, 'dashboard');
  const board = (await apiFromPage(page, '/api/dashboard')).json;
  assert.equal(board.as_of, plan.as_of);
  assert.equal(await page.locator('#by-marketplace tbody tr').count(), board.rows.length);
  for (const row of board.rows) {
    const tr = page.locator(`#by-marketplace tr[data-store="${row.store}"][data-marketplace="${row.marketplace}"]`);
    const text = async (name) => (await tr.locator(`[data-figure="${name}"]`).textContent()).trim();
    const digits = async (name) => Number((await text(name)).replace(/\D/g, ''));
    assert.equal(await digits('orders'), row.orders, `${row.store} orders`);
    const figures = { settled: row.settled, pending_settlement: row.pending_settlement, unsettled: row.unsettled };
    for (const bucket of row.unsettled.buckets) figures[`unsettled.${bucket.bucket}`] = bucket;
    for (const [name, value] of Object.entries(figures)) {
      assert.equal(await text(`${name}.amount`), await money(page, lang, value.amount, row.currency), `${row.store} ${row.marketplace} ${name}`);
      assert.equal(await digits(`${name}.count`), value.count, `${row.store} ${row.marketplace} ${name} count`);
    }
    assert.equal(await digits('differences.count'), row.differences.count, `${row.store} differences`);
  }
  for (const row of board.stores) {
    const tr = page.locator(`#by-store tr[data-store="${row.store}"][data-currency="${row.currency}"]`);
    for (const name of ['not_transferred', 'missing_receipts']) {
      assert.equal((await tr.locator(`[data-figure="${name}.amount"]`).textContent()).trim(), await money(page, lang, row[name].amount, row.currency), `${row.store} ${name}`);
      assert.equal(Number((await tr.locator(`[data-figure="${name}.count"]`).textContent()).replace(/\D/g, '')), row[name].count);
    }
  }
  const stores = [...new Set(board.months.map((m) => m.store))];
  assert.equal(await page.locator('figure.store-chart svg.chart').count(), stores.length, 'one chart per store');
  assert.ok((await page.locator('svg.chart rect.bar').count()) >= stores.length * 12 * 4);
  log(`dashboard: ${board.rows.length} rows and ${board.stores.length} stores equal the API`);
  await shot(page, lang, '03-dashboard');
  // A figure clicks through to its records.
  const first = board.rows.find((r) => r.unsettled.count > 0);
  await follow(page, `#by-marketplace tr[data-store="${first.store}"][data-marketplace="${first.marketplace}"] td:nth-child(6) a`);
  assert.match(page.url(), /\/differences\?category=shipped_not_settled&store=/);
  assert.equal(await page.locator('#results tbody tr[data-category="shipped_not_settled"]').count(), first.unsettled.count);
  await signOut(page);

  // The workbench, as an accountant.
  await signIn(page, slug, 'accountant');
  await follow(page, 'nav a[href^="/differences"]');
  await checkAccessible(page, lang, 'differences');
  await page.waitForSelector('#results tbody tr[data-order]');
  await shot(page, lang, '04-differences');
  // Keyset pages: the next page follows the cursor, the first page drops it.
  await goto(page, '/differences?limit=25');
  assert.equal(await page.locator('#results tbody tr[data-order]').count(), 25);
  const firstOnPageOne = await page.getAttribute('#results tbody tr[data-order]', 'data-order');
  await follow(page, '#next-page');
  assert.match(page.url(), /cursor=/);
  assert.ok((await page.locator('#results tbody tr[data-order]').count()) > 0);
  assert.notEqual(await page.getAttribute('#results tbody tr[data-order]', 'data-order'), firstOnPageOne);
  await follow(page, '#first-page');
  assert.doesNotMatch(page.url(), /cursor=/);
  assert.equal(await page.getAttribute('#results tbody tr[data-order]', 'data-order'), firstOnPageOne);
  // Filters go into the URL; so does the sort, which orders the page.
  await page.selectOption('#f-category', 'fee_anomaly');
  await follow(page, '#apply-filters');
  assert.match(page.url(), /category=fee_anomaly/);
  const feeRows = await page.locator('#results tbody tr[data-order]').count();
  assert.ok(feeRows > 0, 'the demo month has fee anomalies');
  assert.equal(await page.locator('#results tbody tr[data-category="fee_anomaly"]').count(), feeRows);
  await page.click('#results button[data-sort="fees_charged"]');
  await page.click('#results button[data-sort="fees_charged"]');
  assert.match(page.url(), /sort=-fees_charged/);
  const fees = await page.$$eval('#results tbody td[data-column="fees_charged"]', (cells) => cells.map((c) => c.textContent));
  const feeUnits = fees.map((text) => BigInt(text.replace(/[^\d-]/g, '')));
  assert.deepEqual(feeUnits, [...feeUnits].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)), 'sorted by fees, largest first');
  // Select many and assign them to me.
  await page.check('#select-all');
  assert.match(await page.textContent('#selected-count'), new RegExp(String(feeRows)));
  await page.selectOption('#bulk-assignee', { index: 1 });
  await page.click('#assign-selected');
  await page.waitForFunction((n) => document.getElementById('status').textContent.includes(String(n)), feeRows);
  await settle(page);
  const assigned = (await apiFromPage(page, '/api/differences?category=fee_anomaly&limit=1000')).json.items;
  assert.ok(assigned.every((d) => d.resolution?.assignee?.display_name === 'accountant'), JSON.stringify(assigned.map((d) => d.resolution)));
  // Explain one, then resolve it with a reason.
  const order = await page.getAttribute('#results tbody tr[data-order] a.order-link', 'href');
  await follow(page, '#results tbody tr[data-order] a.order-link');
  assert.equal(new URL(page.url()).pathname, order);
  await checkAccessible(page, lang, 'explain');
  await page.waitForSelector('#timeline li.step.settlement a.settlement-link');
  assert.match(await page.textContent('#timeline li.step.settlement code.source'), /\.txt:\d+$/);
  assert.ok((await page.locator('#history li[data-action="assign"]').count()) > 0, 'the assignment is in the history');
  await shot(page, lang, '05-explain');
  await page.selectOption('#resolve-reason', 'fee_dispute');
  await page.fill('#resolve-comment', lang === 'en' ? 'Amazon refunds the commission in November' : '亚马逊 11 月退回佣金');
  await page.click('#resolve');
  await page.waitForSelector('#history li[data-action="resolve"]');
  const orderId = decodeURIComponent(order.split('/').pop());
  const resolved = (await apiFromPage(page, '/api/differences?state=resolved&limit=1000')).json.items;
  const mine = resolved.find((d) => d.order_id === orderId);
  assert.ok(mine, `${orderId} is resolved`);
  assert.equal(mine.resolution.reason, 'fee_dispute');
  await shot(page, lang, '06-explain-resolved');
  // Its settlement: payout → receipt → bank.
  await follow(page, '#timeline a.settlement-link');
  await page.waitForSelector('#chain');
  assert.match(await page.textContent('#chain'), /^Settlement \d+/);
  await checkAccessible(page, lang, 'settlement');
  await shot(page, lang, '07-settlement');

  // Settlements and receipts.
  await follow(page, 'nav a[href^="/settlements"]');
  await page.waitForSelector('#settlements tbody tr');
  const settlementCount = (await apiFromPage(page, '/api/settlements?limit=50')).json.items.length;
  assert.equal(await page.locator('#settlements tbody tr').count(), settlementCount);
  await checkAccessible(page, lang, 'settlements');
  await shot(page, lang, '08-settlements');
  await goto(page, `/receipts?status=missing&store=${encodeURIComponent(board.stores.find((s) => s.missing_receipts.count > 0)?.store || '')}`);
  await page.waitForSelector('#receipts tbody tr');
  assert.equal(await page.locator('#receipts tbody tr[data-status]').count(), await page.locator('#receipts tbody tr[data-status="missing"]').count());
  await goto(page, '/receipts');
  await page.waitForSelector('#receipts tbody tr[data-status]');
  await checkAccessible(page, lang, 'receipts');
  await shot(page, lang, '09-receipts');

  // Statements (往来对账单): upload a counterparty's documents and draw one up through the
  // API, then the page lists it, its detail shows the lines with file:line, and a move works.
  const uploaded = await page.evaluate(async (csv) => {
    const me = await (await fetch('/api/me')).json();
    const form = new FormData();
    form.append('file', new File([csv], 'documents.csv', { type: 'text/csv' }));
    const response = await fetch('/api/uploads', { method: 'POST', headers: { Accept: 'application/json', 'X-CSRF-Token': me.csrf_token }, body: form });
    const job = await response.json();
    if (!response.ok) return job;
    for (;;) {
      const now = await (await fetch(`/api/jobs/${job.id}`)).json();
      if (now.state === 'succeeded' || now.state === 'failed') return now;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 'counterparty,name,type,number,date,amount,currency\nD-001,Distributor One,invoice,INV-1,2026-10-03,1000.00,USD\n');
  assert.equal(uploaded.result?.files?.[0]?.outcome, 'imported', JSON.stringify(uploaded));
  const drawn = await apiFromPage(page, '/api/statements', 'POST', { counterparty: 'D-001', side: 'receivable', currency: 'USD', from: '2026-10-01', to: '2026-10-31' });
  assert.equal(drawn.status, 201, drawn.text);
  const statementId = drawn.json.id;
  await follow(page, 'nav a[href^="/statements"]');
  await page.waitForSelector(`#statements tbody tr[data-statement="${statementId}"]`);
  assert.equal(await page.locator('#statements tbody tr[data-statement]').count(), (await apiFromPage(page, '/api/statements')).json.items.length);
  assert.equal(
    (await page.textContent(`#statements tbody tr[data-statement="${statementId}"] td[data-column="due"]`)).trim(),
    await money(page, lang, '1000.00', 'USD'),
  );
  await checkAccessible(page, lang, 'statements');
  await shot(page, lang, '09a-statements');
  await follow(page, `#statements tbody tr[data-statement="${statementId}"] a.statement-link`);
  assert.equal(new URL(page.url()).pathname, `/statements/${statementId}`);
  await page.waitForSelector('#statement-lines tbody tr[data-number="INV-1"]');
  assert.match(await page.textContent('#statement-lines tbody tr[data-number="INV-1"] code.source'), /documents\.csv:2$/);
  assert.equal((await page.textContent('#statement-totals [data-total="balance"]')).trim(), await money(page, lang, '1000.00', 'USD'));
  await checkAccessible(page, lang, 'statement');
  // An accountant may submit it and then review it, but not close or void it.
  assert.equal(await page.locator('#statement-actions button[data-to="void"]').count(), 0, 'voiding needs an approver');
  await page.click('#statement-actions button[data-to="pending_review"]');
  await page.waitForSelector('section.statement[data-state="pending_review"]');
  assert.equal(await page.locator('#statement-actions button[data-to="reviewed"]').count(), 1);
  assert.match(await page.getAttribute('#export-xlsx', 'href'), new RegExp(`/api/statements/${statementId}/export\\?format=xlsx`));
  await shot(page, lang, '09b-statement');

  // Reports: the receivables XLSX downloads; the CSV's roll-forward ties out.
  await follow(page, 'nav a[href^="/reports/receivables"]');
  await page.fill('#r-month', plan.report_month);
  await follow(page, '#show-report');
  await page.waitForSelector('#receivables-0 tbody tr');
  await checkAccessible(page, lang, 'receivables');
  assert.equal(await page.locator('#receivables-0 .badge.warn').count(), 0, 'every row ties out on the page');
  await shot(page, lang, '10-receivables');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-xlsx')]);
  const xlsx = readFileSync(await download.path());
  assert.equal(xlsx.subarray(0, 2).toString(), 'PK', 'an XLSX is a zip');
  assert.match(download.suggestedFilename(), /receivables\.xlsx$/);
  const csvLink = await page.getAttribute('#download-csv', 'href');
  const csv = await apiFromPage(page, csvLink);
  assert.equal(csv.status, 200);
  const [head, ...lines] = csv.text.trim().split(/\r?\n/);
  const columns = head.split(',');
  const at = (name) => columns.indexOf(name);
  assert.ok(lines.length > 0, 'the month has rows');
  for (const line of lines) {
    const cells = line.split(',');
    const value = (name) => units(cells[at(name)]);
    const closing = value('opening') + value('sales') + value('refunds') + value('fees') + value('other') - value('transfers');
    assert.equal(value('closing'), closing, `closing = opening + sales + refunds + fees + other − transfers: ${line}`);
    const shown = page.locator(`#receivables-0 tbody tr:has(td[data-column="store"]:text-is("${cells[at('store')]}")) td[data-column="closing"]`);
    assert.equal((await shown.textContent()).trim(), await money(page, lang, cells[at('closing')], cells[at('currency')]));
  }
  log(`receivables: ${lines.length} rows tie out`);
  await follow(page, 'nav a[href^="/reports/aging"]');
  await page.waitForSelector('#aging-0 tbody tr');
  await checkAccessible(page, lang, 'aging');
  await shot(page, lang, '11-aging');
  await signOut(page);

  // Settings, as an admin: organisations, stores, users; rules refused with line and column.
  await signIn(page, slug, 'admin');
  await follow(page, 'nav a[href^="/settings"]');
  await page.fill('#org-name', lang === 'en' ? 'Head office' : '深圳总部');
  await page.click('#add-organisation button[type="submit"]');
  await page.waitForSelector('#organisations tbody tr td[data-column="name"]');
  await page.fill('#store-name', plan.uploads[0].store);
  await page.click('#add-store button[type="submit"]');
  await page.waitForSelector(`#organisations td[data-column="stores"]:text-is("${plan.uploads[0].store}")`);
  assert.equal(await page.locator(`#scope optgroup option[value="${plan.uploads[0].store}"]`).count(), 1, 'the store picker groups by organisation');
  await checkAccessible(page, lang, 'settings');
  const rules = await page.inputValue('#rules-text');
  await page.fill('#rules-text', `${rules}\n[[rule]]\nid = \n`);
  await page.click('#save-rules');
  await page.waitForSelector('#rules-error .alert');
  const badLine = rules.split('\n').length + 2;
  assert.equal(await page.getAttribute('#rules-error .alert', 'data-line'), String(badLine), await page.textContent('#rules-error'));
  assert.match(await page.textContent('#rules-error .alert'), new RegExp(String(badLine)));
  await shot(page, lang, '12-settings');
  await page.fill('#rules-text', rules);
  await page.click('#save-rules');
  await page.waitForSelector('#rules-error .ok');
  await signOut(page);

  // A viewer sees no way to act, and the server refuses anyway.
  await signIn(page, slug, 'viewer');
  assert.equal(await page.locator('nav a[href^="/settings"]').count(), 0, 'no settings for a viewer');
  await goto(page, '/differences?state=open');
  await page.waitForSelector('#results tbody tr[data-order]');
  assert.equal(await page.locator('#resolve-selected').count(), 0, 'no resolve button');
  assert.equal(await page.locator('input.select-row').count(), 0, 'nothing to select');
  const openOrder = await page.getAttribute('#results tbody tr[data-order]', 'data-order');
  await follow(page, '#results tbody tr[data-order] a.order-link');
  await page.waitForSelector('#timeline');
  assert.equal(await page.locator('#resolve').count(), 0, 'no resolve button on the explain view');
  const refusedAction = await apiFromPage(page, '/api/differences/resolve', 'POST', { order_ids: [openOrder], reason: 'timing', comment: '' });
  assert.equal(refusedAction.status, 403, refusedAction.text);
  assert.equal(refusedAction.type, 'application/problem+json');
  assert.match(refusedAction.json.detail, /viewer/);
  const still = (await apiFromPage(page, '/api/differences?state=open&limit=1000')).json.items;
  assert.ok(still.some((d) => d.order_id === openOrder), 'the order is still open');
  await shot(page, lang, '13-viewer-explain');
  await goto(page, '/settings');
  assert.equal(await page.locator('main .alert').count(), 1, 'the settings page refuses a viewer');
  await signOut(page);
  // A session that ends (here: its cookie is gone) sends the user to sign in, and back.
  await signIn(page, slug, 'viewer');
  await context.clearCookies();
  await page.click('nav a[href^="/settlements"]');
  await page.waitForURL(/\/signin\?next=%2Fsettlements/);
  await settle(page);
  await page.fill('#tenant', slug);
  await page.fill('#email', `viewer@${slug}.test`);
  await page.fill('#password', plan.password);
  await page.press('#password', 'Enter');
  await page.waitForURL(/\/settlements$/);
  await page.waitForSelector('#settlements tbody tr');
  await signOut(page);

  assert.deepEqual(page.problems, [], 'no script errors or policy violations');
  await context.close();
  log(`${slug} (${lang}) passed`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  for (const tenant of plan.tenants) await run(browser, tenant);
} catch (error) {
  failed = true;
  console.error('e2e: FAILED:', error.stack || error);
  for (const context of browser.contexts()) {
    for (const page of context.pages()) {
      console.error('e2e: at', page.url(), page.problems || []);
      await page.screenshot({ path: join(shotDir, 'failure.png'), fullPage: true }).catch(() => {});
    }
  }
} finally {
  await browser.close();
}
if (failed) process.exit(1);
log('all passed');
