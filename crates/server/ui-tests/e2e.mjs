// End-to-end test of tieout's web UI in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core), run by crates/server/tests/ui.rs against a server on
// loopback:
//
//   node e2e.mjs <base-url> <screenshot-dir> <plan.json>
//
// For each tenant of the plan, in its language (zh-CN, en): sign in as a clerk and upload
// the demo month (one upload by drag and drop) and a file tieout refuses; reconcile; the
// dashboard's figures equal GET /api/dashboard; as an accountant, filter, sort and select
// differences, explain one and resolve it; resolve a payout ↔ receipt difference on the
// receipts page (a write-off over the limit refused, an accept); draw up a statement, submit it, import the
// counterparty's statement and resolve its differences (a write-off within the limit, one
// over it refused, an accept); download the receivables XLSX and check the CSV's
// roll-forward; as an admin, the settings (rules refused with line and column), the audit
// log (the steps above in it, the chain verified with the API's head) and the alerts
// (configuration refused with line and column, then stored with its secret masked; the
// delivery log); as an approver, the delivery log without the configuration; as a viewer,
// no resolve button, no audit log, and the server answers 403 anyway. Every page is
// written as a screenshot. Prints "e2e: all passed" and exits 0, or exits 1.

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

/** Uploads a document CSV (invoices, refunds… of counterparties) through the API, as the
 * upload form would, and waits for its import job. */
function uploadDocuments(page, csv, name = 'documents.csv') {
  return page.evaluate(
    async ({ csv, name }) => {
      const me = await (await fetch('/api/me')).json();
      const form = new FormData();
      form.append('file', new File([csv], name, { type: 'text/csv' }));
      const response = await fetch('/api/uploads', { method: 'POST', headers: { Accept: 'application/json', 'X-CSRF-Token': me.csrf_token }, body: form });
      const job = await response.json();
      if (!response.ok) return job;
      for (;;) {
        const now = await (await fetch(`/api/jobs/${job.id}`)).json();
        if (now.state === 'succeeded' || now.state === 'failed') return now;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    { csv, name },
  );
}

/** Imports the counterparty's own statement of statement `id` (a document CSV) through
 * the API: POST /api/statements/{id}/counterparty with the CSV as the body. */
function importTheirStatement(page, id, csv) {
  return page.evaluate(
    async ({ id, csv }) => {
      const me = await (await fetch('/api/me')).json();
      const response = await fetch(`/api/statements/${id}/counterparty`, {
        method: 'POST',
        headers: { Accept: 'application/json', 'Content-Type': 'text/csv', 'X-CSRF-Token': me.csrf_token, 'X-File-Name': 'their-statement.csv' },
        body: csv,
      });
      return { status: response.status, json: await response.json() };
    },
    { id, csv },
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
  // Each row says why in the page's language: in English exactly the API's explanation
  // (the page builds it from the row's figures), in Chinese Chinese text.
  const listed = (await apiFromPage(page, '/api/differences?limit=50')).json.items;
  const why = await page.$$eval('#results tbody tr[data-order]', (rows) =>
    rows.map((row) => [row.dataset.order, row.querySelector('.explanation')?.textContent || '']),
  );
  assert.ok(why.length > 0);
  const categoriesSeen = new Set();
  for (const [id, text] of why) {
    const row = listed.find((d) => d.order_id === id);
    if (!row) continue;
    row.flags.forEach((f) => categoriesSeen.add(f));
    if (lang === 'en') assert.equal(text, row.explanation, `${id}: the page's reasons are the API's`);
    else assert.ok(/[\u4e00-\u9fff]/.test(text) && !/ differ from | exceed | were settled/.test(text), `${id}: ${text}`);
  }
  assert.ok(categoriesSeen.size >= 4, `the first page shows several kinds of difference: ${[...categoriesSeen]}`);
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
  // Resolved as an adjustment of -1.50: the record keeps ours, theirs and the adjustment.
  assert.ok(await page.isHidden('#resolve-adjustment'), 'no adjustment amount for accept');
  await page.selectOption('#resolve-kind', 'adjust');
  assert.ok(await page.isVisible('#resolve-adjustment'), 'adjust asks for an amount');
  await page.selectOption('#resolve-reason', 'fee_dispute');
  await page.fill('#resolve-adjustment', '-1.50');
  await page.fill('#resolve-comment', lang === 'en' ? 'Amazon refunds the commission in November' : '亚马逊 11 月退回佣金');
  await page.click('#resolve');
  await page.waitForSelector('#history li[data-action="resolve"]');
  const orderId = decodeURIComponent(order.split('/').pop());
  const resolved = (await apiFromPage(page, '/api/differences?state=resolved&limit=1000')).json.items;
  const mine = resolved.find((d) => d.order_id === orderId);
  assert.ok(mine, `${orderId} is resolved`);
  assert.equal(mine.resolution.reason, 'fee_dispute');
  assert.equal(mine.resolution.kind, 'adjust');
  assert.equal(mine.resolution.amount, '-1.50');
  assert.equal(mine.resolution.ours, mine.order_amount);
  assert.equal(mine.resolution.theirs, mine.settled_amount);
  const historyText = await page.textContent('#history li[data-action="resolve"]');
  assert.ok(historyText.includes('-1.50') && historyText.includes(mine.resolution.theirs), historyText);
  assert.ok((await page.textContent('#resolution-state')).includes(lang === 'en' ? 'Adjust' : '调整'));
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
  // A payout ↔ receipt difference resolved in the browser, by its key: a write-off of a
  // missing payout is over the accountant's limit (refused, nothing recorded); accepted, it
  // stands, and the API agrees.
  const receiptItems = (await apiFromPage(page, '/api/receipts?limit=1000')).json.items;
  const openReceipt = receiptItems.find((r) => r.is_difference && !r.resolution && r.status === 'missing');
  assert.ok(openReceipt, 'the demo month has a missing payout or withdrawal, open');
  assert.equal(await page.locator(`#receipts tbody tr[data-key="${openReceipt.key}"][data-state="open"]`).count(), 1);
  await page.waitForSelector('#receipt-resolve');
  await page.selectOption('#receipt-key', openReceipt.key);
  await page.selectOption('#receipt-kind', 'adjust');
  assert.ok(await page.isVisible('#receipt-adjustment'), 'adjust asks for an amount');
  await page.selectOption('#receipt-kind', 'write_off');
  assert.ok(await page.isHidden('#receipt-adjustment'), 'no adjustment amount for a write-off');
  await page.selectOption('#receipt-reason', 'bank_charges');
  await page.click('#receipt-resolve-submit');
  await page.waitForSelector('#receipt-message .alert');
  assert.match(await page.textContent('#receipt-message .alert'), /over your limit/);
  const stillOpen = (await apiFromPage(page, '/api/receipts?limit=1000')).json.items.find((r) => r.key === openReceipt.key);
  assert.equal(stillOpen.resolution, null, 'a refused write-off records nothing');
  await page.selectOption('#receipt-kind', 'accept');
  await page.selectOption('#receipt-reason', 'timing');
  await page.fill('#receipt-comment', lang === 'en' ? 'Amazon sends it again next week' : '亚马逊下周重新付款');
  await page.click('#receipt-resolve-submit');
  await page.waitForSelector(`#receipts tbody tr[data-key="${openReceipt.key}"][data-state="resolved"]`);
  await checkAccessible(page, lang, 'receipts resolved');
  const resolvedReceipt = (await apiFromPage(page, '/api/receipts?limit=1000')).json.items.find((r) => r.key === openReceipt.key);
  assert.equal(resolvedReceipt.resolution.state, 'resolved');
  assert.equal(resolvedReceipt.resolution.kind, 'accept');
  assert.equal(resolvedReceipt.resolution.reason, 'timing');
  assert.equal(resolvedReceipt.resolution.by.display_name, 'accountant');
  assert.equal(resolvedReceipt.resolution.ours, openReceipt.expected_amount);
  assert.equal(resolvedReceipt.resolution.comment, lang === 'en' ? 'Amazon sends it again next week' : '亚马逊下周重新付款');
  const stateCell = await page.textContent(`#receipts tbody tr[data-key="${openReceipt.key}"] td[data-column="resolution"]`);
  assert.ok(stateCell.includes(lang === 'en' ? 'Accept' : '接受'), stateCell);
  await shot(page, lang, '09b-receipts-resolved');

  // Statements (往来对账单): upload a counterparty's documents and draw one up through the
  // API, then the page lists it, its detail shows the lines with file:line, and a move works.
  const uploaded = await uploadDocuments(page, 'counterparty,name,type,number,date,amount,currency\nD-001,Distributor One,invoice,INV-1,2026-10-03,1000.00,USD\n');
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
  // The counterparty's own statement (imported through the API once ours is submitted):
  // INV-1 for 5.00 less than ours, and two documents we do not have — 250.00, and 0.30,
  // which the system writes off by itself (within [write_off].auto, USD 0.50).
  const theirs = await importTheirStatement(
    page,
    statementId,
    'counterparty,name,type,number,date,amount,currency\n' +
      'D-001,Distributor One,invoice,INV-1,2026-10-03,995.00,USD\n' +
      'D-001,Distributor One,invoice,INV-7,2026-10-20,250.00,USD\n' +
      'D-001,Distributor One,invoice,INV-8,2026-10-21,0.30,USD\n',
  );
  assert.equal(theirs.status, 200, JSON.stringify(theirs.json));
  assert.equal(theirs.json.written_off_automatically, 1, JSON.stringify(theirs.json));
  await goto(page, `/statements/${statementId}`);
  const differenceRow = (number) => `#statement-differences tbody tr[data-number="${number}"]`;
  await page.waitForSelector(differenceRow('INV-1'));
  assert.equal(await page.locator('#statement-differences tbody tr[data-number]').count(), 3);
  assert.equal(await page.getAttribute(differenceRow('INV-8'), 'data-resolution'), 'write_off', 'written off by the system');
  assert.equal((await page.textContent(`${differenceRow('INV-1')} td[data-column="difference"]`)).trim(), await money(page, lang, '5.00', 'USD'));
  assert.equal((await page.textContent('#statement-totals [data-total="their_total"]')).trim(), await money(page, lang, '1245.30', 'USD'));
  await checkAccessible(page, lang, 'statement with differences');
  // Writing off 250.00 is over the accountant's limit (USD 10.00): refused, the server's
  // reason shown, nothing recorded.
  await page.selectOption('#resolve-number', 'INV-7');
  await page.selectOption('#resolve-kind', 'write_off');
  assert.ok(await page.isVisible('#resolve-reason'), 'a write-off asks for its reason code');
  await page.selectOption('#resolve-reason', 'goodwill');
  await page.click('#resolve-submit');
  await page.waitForSelector('#statement-message .alert');
  const overLimit = await page.textContent('#statement-message .alert');
  assert.match(overLimit, /250\.00/);
  assert.match(overLimit, /10\.00/);
  assert.equal(await page.getAttribute(differenceRow('INV-7'), 'data-resolution'), '');
  await shot(page, lang, '09c-statement-differences');
  // INV-1's 5.00 is within it: written off as bank charges.
  await page.selectOption('#resolve-number', 'INV-1');
  await page.selectOption('#resolve-kind', 'write_off');
  await page.selectOption('#resolve-reason', 'bank_charges');
  await page.fill('#resolve-comment', lang === 'en' ? 'Their bank kept a transfer fee' : '对方银行扣了汇款手续费');
  await page.click('#resolve-submit');
  await page.waitForSelector(`${differenceRow('INV-1')}[data-resolution="write_off"]`);
  await settle(page);
  // INV-7: theirs is right (accept); a reason code is only asked of a write-off.
  await page.selectOption('#resolve-number', 'INV-7');
  await page.selectOption('#resolve-kind', 'accept');
  assert.ok(await page.isHidden('#resolve-reason'), 'no reason code for accept');
  await page.click('#resolve-submit');
  await page.waitForSelector(`${differenceRow('INV-7')}[data-resolution="accept"]`);
  await settle(page);
  assert.equal(await page.locator('#resolve-difference').count(), 0, 'nothing is left to resolve');
  assert.equal(await page.locator('#statement-differences .badge.warn').count(), 0, 'no difference is shown unresolved');
  assert.equal(await page.locator('#statement-resolutions tbody tr').count(), 3);
  const settledUp = (await apiFromPage(page, `/api/statements/${statementId}`)).json;
  assert.deepEqual(
    Object.fromEntries(settledUp.differences.map((d) => [d.number, [d.resolution, d.resolved_by_system]])),
    { 'INV-1': ['write_off', false], 'INV-7': ['accept', false], 'INV-8': ['write_off', true] },
  );
  const byNumber = Object.fromEntries(settledUp.resolutions.map((r) => [r.number, r]));
  assert.equal(byNumber['INV-1'].reason, 'bank_charges');
  assert.equal(byNumber['INV-1'].amount_minor, 500);
  assert.equal(byNumber['INV-7'].reason, null);
  await shot(page, lang, '09d-statement-resolved');

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

  // The audit log: the first page is the API's; the chain verifies, with the API's head;
  // the newest entries hold what the steps above did, each with its before and after.
  await follow(page, 'nav a[href^="/audit"]');
  await page.waitForSelector('#audit tbody tr[data-seq]');
  await checkAccessible(page, lang, 'audit');
  const auditFirst = (await apiFromPage(page, '/api/audit?after=0&limit=100')).json;
  assert.equal(await page.locator('#audit tbody tr[data-seq]').count(), auditFirst.items.length);
  assert.equal(await page.getAttribute('#audit tbody tr[data-seq]', 'data-seq'), String(auditFirst.items[0].seq));
  const verifyChain = async () => {
    await page.click('#verify-chain');
    await page.waitForSelector('#verify-result .verification');
    const verified = (await apiFromPage(page, '/api/audit/verify')).json;
    assert.equal(verified.ok, true, JSON.stringify(verified));
    assert.equal(await page.getAttribute('#verify-result .verification', 'data-ok'), 'true', await page.textContent('#verify-result'));
    assert.match(await page.textContent('#verify-result .ok'), lang === 'en' ? /chain is valid/ : /哈希链完整/);
    assert.equal((await page.textContent('#verify-result [data-fact="head-seq"]')).trim(), String(verified.head.seq));
    assert.equal((await page.textContent('#verify-result [data-fact="head-hash"]')).trim(), verified.head.hash);
    assert.equal(await page.locator('#verify-result .alert').count(), 0);
    return verified;
  };
  const verified = await verifyChain();
  await follow(page, '#newest-page');
  const newest = (await apiFromPage(page, `/api/audit?after=${Math.max(0, verified.head.seq - 100)}&limit=100`)).json.items;
  assert.equal(await page.locator('#audit tbody tr[data-seq]').count(), newest.length);
  assert.equal(await page.locator(`#audit tbody tr[data-seq="${verified.head.seq}"]`).count(), 1, 'the newest page ends at the head');
  const statementObject = `statement:${statementId}`;
  const writtenOff = newest.find((e) => e.action === 'statement.write_off' && e.object.id === String(statementId) && e.actor.user_id !== null);
  assert.ok(writtenOff, 'the write-off done in the browser is in the log');
  assert.equal(await page.locator(`#audit tbody tr[data-action="statement.resolve"][data-object="${statementObject}"]`).count(), 1, 'the accepted difference');
  assert.equal(await page.locator(`#audit tbody tr[data-action="statement.write_off"][data-object="${statementObject}"]`).count(), 2, "the system's write-off and the accountant's");
  const writeOffRow = page.locator(`#audit tbody tr[data-seq="${writtenOff.seq}"]`);
  assert.equal((await writeOffRow.locator('td[data-column="actor"]').textContent()).trim(), 'accountant');
  await writeOffRow.locator('details summary').click();
  const after = await writeOffRow.locator('pre[data-side="after"]').textContent();
  assert.deepEqual(JSON.parse(after), writtenOff.after, 'the details show the entry as recorded');
  assert.equal(after.includes('"reason": "bank_charges"'), true, after);
  assert.equal((await writeOffRow.locator('pre[data-side="before"]').textContent()).trim(), lang === 'en' ? '(none)' : '（无）');
  await verifyChain();
  await shot(page, lang, '14-audit');
  // Filtering within the page by action, and by object.
  await page.selectOption('#audit-action', 'statement.write_off');
  assert.equal(await page.locator('#audit tbody tr[data-seq]').count(), newest.filter((e) => e.action === 'statement.write_off').length);
  assert.match(page.url(), /action=statement\.write_off/);
  await page.selectOption('#audit-action', '');
  await page.fill('#audit-object', statementObject);
  assert.equal(await page.locator('#audit tbody tr[data-seq]').count(), newest.filter((e) => e.object.kind === 'statement' && e.object.id === String(statementId)).length);

  // Alerts: a configuration with a mistake is refused with its line and column and nothing
  // is stored; a right one is stored, its secret shown masked; the delivery log renders.
  await follow(page, 'nav a[href^="/alerts"]');
  await page.waitForSelector('#alerts-text');
  await checkAccessible(page, lang, 'alerts');
  const alertsBefore = (await apiFromPage(page, '/api/alerts/config')).json;
  assert.equal(alertsBefore.configured, false);
  assert.equal(await page.inputValue('#alerts-text'), alertsBefore.text);
  const deliveriesBefore = (await apiFromPage(page, '/api/alerts/deliveries')).json.items;
  assert.equal(await page.locator('#deliveries tbody tr[data-delivery]').count(), deliveriesBefore.length);
  if (!deliveriesBefore.length) {
    assert.equal((await page.textContent('#deliveries tbody td.empty')).trim(), lang === 'en' ? 'Nothing here.' : '没有记录。');
  }
  const hook = 'http://127.0.0.1:9/hooks/tieout';
  const hookSecret = 'the relay shares this secret';
  const goodAlerts = `[[webhook]]\nurl = "${hook}"\nsecret = "${hookSecret}"\n\n[thresholds]\ndifference_above = { USD = "100.00" }\naging_days = 45\n`;
  await page.fill('#alerts-text', goodAlerts.replace('aging_days = 45', 'aging_days = "soon"'));
  await page.click('#save-alerts');
  await page.waitForSelector('#alerts-error .alert');
  const alertsError = await page.textContent('#alerts-error .alert');
  assert.equal(await page.getAttribute('#alerts-error .alert', 'data-line'), '7', alertsError);
  assert.match(alertsError, lang === 'en' ? /^Line 7, column \d+:/ : /^第 7 行第 \d+ 列：/);
  assert.equal(await page.getAttribute('#alerts-text', 'aria-invalid'), 'true');
  assert.deepEqual((await apiFromPage(page, '/api/alerts/config')).json, alertsBefore, 'nothing was stored');
  await shot(page, lang, '15-alerts-refused');
  await page.fill('#alerts-text', goodAlerts);
  await page.click('#save-alerts');
  await page.waitForSelector('#alerts-error .ok');
  const alertsSaved = (await apiFromPage(page, '/api/alerts/config')).json;
  assert.equal(alertsSaved.configured, true);
  assert.deepEqual(alertsSaved.webhooks, [{ url: hook, secret: '********' }]);
  assert.equal(alertsSaved.thresholds.difference_above.USD, '100.00');
  assert.equal(alertsSaved.thresholds.aging_days, 45);
  assert.ok(alertsSaved.text.includes('secret = "********"') && !alertsSaved.text.includes(hookSecret), alertsSaved.text);
  assert.equal(await page.inputValue('#alerts-text'), alertsSaved.text, 'the editor shows the stored text, masked');
  assert.equal(await page.getAttribute('#alerts-text', 'aria-invalid'), null);
  assert.match(await page.textContent('#alerts-summary [data-fact="webhooks"]'), /127\.0\.0\.1:9/);
  // A statement submitted now is an alert for the webhook: a row in the delivery log.
  const second = await uploadDocuments(page, 'counterparty,name,type,number,date,amount,currency\nD-002,Distributor Two,invoice,INV-20,2026-10-05,80.00,USD\n', 'documents-2.csv');
  assert.equal(second.result?.files?.[0]?.outcome, 'imported', JSON.stringify(second));
  const secondStatement = await apiFromPage(page, '/api/statements', 'POST', { counterparty: 'D-002', side: 'receivable', currency: 'USD', from: '2026-10-01', to: '2026-10-31' });
  assert.equal(secondStatement.status, 201, secondStatement.text);
  const submitted = await apiFromPage(page, `/api/statements/${secondStatement.json.id}/transition`, 'POST', { to: 'pending_review' });
  assert.equal(submitted.status, 200, submitted.text);
  // Give the job worker a moment to try it (the port refuses), so the log shows an attempt.
  for (let i = 0; i < 20; i += 1) {
    const items = (await apiFromPage(page, '/api/alerts/deliveries')).json.items;
    if (items.some((d) => d.attempts > 0)) break;
    await page.waitForTimeout(250);
  }
  await goto(page, '/alerts');
  await page.waitForSelector('#deliveries tbody tr[data-delivery]');
  const deliveries = (await apiFromPage(page, '/api/alerts/deliveries')).json.items;
  assert.equal(await page.locator('#deliveries tbody tr[data-delivery]').count(), deliveries.length);
  const queued = deliveries.find((d) => d.kind === 'statement_awaiting_review' && d.target === hook);
  assert.ok(queued, JSON.stringify(deliveries));
  const queuedRow = page.locator(`#deliveries tbody tr[data-delivery="${queued.id}"]`);
  assert.equal((await queuedRow.locator('td[data-column="target"]').textContent()).trim(), hook);
  assert.equal((await queuedRow.locator('td[data-column="kind"]').textContent()).trim(), lang === 'en' ? 'Statement awaiting review' : '对账单待审核');
  assert.match(await queuedRow.locator('td[data-column="title"]').textContent(), /D-002/);
  assert.equal(await queuedRow.getAttribute('data-state'), queued.state);
  await checkAccessible(page, lang, 'alerts with deliveries');
  await shot(page, lang, '16-alerts');
  await signOut(page);

  // An approver sees the audit log and the delivery log, not the alert configuration.
  await signIn(page, slug, 'approver');
  assert.equal(await page.locator('nav a[href^="/audit"]').count(), 1);
  await follow(page, 'nav a[href^="/alerts"]');
  await page.waitForSelector('#deliveries tbody tr[data-delivery]');
  assert.equal(await page.locator('#alerts-text').count(), 0, 'no configuration editor for an approver');
  assert.equal(await page.locator('#alerts-admin-only').count(), 1);
  await signOut(page);

  // A viewer sees no way to act, and the server refuses anyway.
  await signIn(page, slug, 'viewer');
  assert.equal(await page.locator('nav a[href^="/settings"]').count(), 0, 'no settings for a viewer');
  assert.equal(await page.locator('nav a[href^="/audit"], nav a[href^="/alerts"]').count(), 0, 'no audit log or alerts for a viewer');
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
  await goto(page, '/receipts');
  await page.waitForSelector('#receipts tbody tr[data-status]');
  assert.equal(await page.locator('#receipt-resolve').count(), 0, 'no resolve form on the receipts page');
  const openKey = await page.getAttribute('#receipts tbody tr[data-state="open"]', 'data-key');
  const refusedReceipt = await apiFromPage(page, '/api/receipts/resolve', 'POST', { keys: [openKey], reason: 'timing' });
  assert.equal(refusedReceipt.status, 403, refusedReceipt.text);
  await goto(page, '/settings');
  assert.equal(await page.locator('main .alert').count(), 1, 'the settings page refuses a viewer');
  await goto(page, '/audit');
  assert.equal(await page.locator('main .alert').count(), 1, 'the audit page refuses a viewer');
  const auditRefused = await apiFromPage(page, '/api/audit');
  assert.equal(auditRefused.status, 403, auditRefused.text);
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
