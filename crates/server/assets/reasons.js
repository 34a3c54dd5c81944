// Why an order has its category, in the page's language, from the result's own figures
// (the API's `explanation` is the same text in English, for CSV and scripts).

import { fromUnits, toUnits } from './format.js';
import { t } from './i18n.js';

/** Decimals of an amount string ("12.50" → 2, "1200" → 0). */
function scaleOf(text) {
  const dot = String(text ?? '').indexOf('.');
  return dot < 0 ? 0 : String(text).length - dot - 1;
}

/** The reasons of a result (an order result view of the API), one text per finding. */
export function reasonTexts(r) {
  const money = (amount) => `${amount ?? fromUnits(0n, scaleOf(r.settled_amount))} ${r.currency}`;
  const reasons = [];
  for (const flag of r.flags || []) {
    switch (flag) {
      case 'settled_not_in_orders':
        reasons.push(t('why.settled_not_in_orders', { lines: r.line_count, net: money(r.net_settled) }));
        break;
      case 'cancelled_but_settled':
        reasons.push(t('why.cancelled_but_settled', { settled: money(r.settled_amount) }));
        break;
      case 'duplicate_settlement_line':
        reasons.push(t('why.duplicate_settlement_line', { count: r.duplicate_line_count }));
        break;
      case 'shipped_not_settled':
        reasons.push(r.days_since_ship == null ? t('why.shipped_not_settled_status') : t('why.shipped_not_settled', { days: r.days_since_ship }));
        break;
      case 'refunded_not_written_off':
        reasons.push(t('why.refunded_not_written_off', { refunds: money(r.refunds_settled), written_off: money(r.written_off) }));
        break;
      case 'amount_mismatch': {
        const scale = scaleOf(r.settled_amount);
        const ordered = r.order_amount ?? fromUnits(0n, scale);
        const difference = fromUnits((toUnits(r.settled_amount, scale) ?? 0n) - (toUnits(ordered, scale) ?? 0n), scale);
        reasons.push(t('why.amount_mismatch', { settled: money(r.settled_amount), ordered: money(ordered), difference: money(difference) }));
        break;
      }
      case 'fee_anomaly':
        reasons.push(t('why.fee_anomaly', { charged: money(r.fees_charged), expected: money(r.fees_expected) }));
        break;
      case 'not_due':
        reasons.push(t('why.not_due'));
        break;
      default:
        break;
    }
  }
  if (!reasons.length) reasons.push(t('why.matched', { settled: money(r.settled_amount) }));
  return reasons;
}
