// Numbers, money and dates for the chosen language.
//
// Amounts arrive as decimal strings ("-12.50") beside a currency. They are formatted from
// the string itself (Intl.NumberFormat reads a decimal string exactly), and when the page
// must add amounts it adds whole minor units as BigInt — never floats, which would round.

import { h } from './dom.js';
import { lang } from './i18n.js';

const DECIMAL = /^\s*([+-]?)(\d+)(?:\.(\d+))?\s*$/;

/** "−12.5" → value × 10^scale as a BigInt, exactly; null for text that is not a decimal
 * or has more decimals than `scale`. */
export function toUnits(text, scale = 2) {
  const match = DECIMAL.exec(String(text ?? ''));
  if (!match) return null;
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > scale) return null;
  const units = BigInt(whole + fraction.padEnd(scale, '0'));
  return sign === '-' ? -units : units;
}

/** BigInt units → the decimal string with `scale` decimals. */
export function fromUnits(units, scale = 2) {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale ? `.${digits.slice(digits.length - scale)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** The exact sum of decimal strings (null entries count as zero). */
export function sum(amounts, scale = 2) {
  let total = 0n;
  for (const amount of amounts) total += amount == null ? 0n : toUnits(amount, scale) ?? 0n;
  return fromUnits(total, scale);
}

/** A sort key for decimal strings of up to 6 decimals (amounts, rates). */
export function decimalKey(text) {
  return toUnits(text, 6);
}

export function isNegative(text) {
  const units = toUnits(text, 6);
  return units !== null && units < 0n;
}

const formatters = new Map();
function cached(key, make) {
  if (!formatters.has(key)) formatters.set(key, make());
  return formatters.get(key);
}

/** "-12.50" USD → "-US$12.50" (zh-CN) / "-$12.50" (en). */
export function money(amount, currency) {
  if (amount === null || amount === undefined || amount === '') return '—';
  try {
    const format = cached(`money|${lang()}|${currency}`, () =>
      new Intl.NumberFormat(lang(), { style: 'currency', currency }),
    );
    return format.format(String(amount));
  } catch {
    return `${amount} ${currency ?? ''}`.trim();
  }
}

/** A whole number with the language's grouping. */
export function count(n) {
  if (n === null || n === undefined) return '—';
  return cached(`count|${lang()}`, () => new Intl.NumberFormat(lang())).format(n);
}

/** A plain decimal (a rate, a ratio) from its string. */
export function decimal(text) {
  if (text === null || text === undefined || text === '') return '—';
  return cached(`decimal|${lang()}`, () => new Intl.NumberFormat(lang(), { maximumFractionDigits: 6 })).format(String(text));
}

/** A money amount as a table cell: right-aligned, negative ones marked. */
export function moneyCell(amount, currency, attributes = {}) {
  const negative = isNegative(amount);
  return h('td', { ...attributes, class: `num${negative ? ' neg' : ''}` }, money(amount, currency));
}

export function countCell(n, attributes = {}) {
  return h('td', { ...attributes, class: 'num' }, count(n));
}

/** "2026-10-30" → a date in the language (the day as written, no time zone shift). */
export function day(iso) {
  if (!iso) return '—';
  const [year, month, date] = String(iso).slice(0, 10).split('-').map(Number);
  if (!year || !month || !date) return String(iso);
  return cached(`day|${lang()}`, () => new Intl.DateTimeFormat(lang(), { dateStyle: 'medium', timeZone: 'UTC' })).format(
    new Date(Date.UTC(year, month - 1, date)),
  );
}

/** "2026-10-03T06:16:51Z" → date and time in UTC (settlement times are UTC). */
export function utcTime(iso) {
  if (!iso) return '—';
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return String(iso);
  return cached(`utc|${lang()}`, () =>
    new Intl.DateTimeFormat(lang(), { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC', hour12: false }),
  ).format(time) + ' UTC';
}

/** Unix seconds → local date and time. */
export function unixTime(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  return cached(`unix|${lang()}`, () => new Intl.DateTimeFormat(lang(), { dateStyle: 'medium', timeStyle: 'short', hour12: false })).format(
    new Date(seconds * 1000),
  );
}

/** "2026-10" → "Oct 2026" / "2026年10月". */
export function month(text) {
  const [year, monthNumber] = String(text).split('-').map(Number);
  if (!year || !monthNumber) return String(text);
  return cached(`month|${lang()}`, () => new Intl.DateTimeFormat(lang(), { year: 'numeric', month: 'short', timeZone: 'UTC' })).format(
    new Date(Date.UTC(year, monthNumber - 1, 1)),
  );
}

/** Bytes → "12.3 KB". */
export function bytes(n) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${cached(`bytes|${lang()}`, () => new Intl.NumberFormat(lang(), { maximumFractionDigits: 1 })).format(value)} ${units[unit]}`;
}
