// A grouped bar chart as inline SVG (no chart library): months along the bottom, one bar
// per series in each month, negative values below the zero line. Heights are drawn from
// Number(amount) — geometry only; every figure shown as text is the exact decimal string.

import { h, svg } from './dom.js';
import { money, month } from './format.js';
import { lang } from './i18n.js';

const WIDTH = 760;
const HEIGHT = 280;
const LEFT = 78;
const RIGHT = 12;
const TOP = 14;
const BOTTOM = 40;

/** months: ['2026-01', …]; series: [{ key, label, values: [decimal strings] }]. */
export function barChart({ id, title, months, series, currency }) {
  const numbers = series.flatMap((s) => s.values.map(Number));
  const high = Math.max(0, ...numbers);
  const low = Math.min(0, ...numbers);
  const step = niceStep((high - low) / 4 || 1);
  const top = Math.ceil(high / step) * step || step;
  const bottom = Math.floor(low / step) * step;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const y = (value) => TOP + ((top - value) / (top - bottom)) * plotHeight;
  const slot = (WIDTH - LEFT - RIGHT) / months.length;
  const barWidth = Math.max(2, (slot * 0.8) / series.length);
  const compact = new Intl.NumberFormat(lang(), { notation: 'compact', maximumFractionDigits: 1 });

  const grid = [];
  const lines = Math.round((top - bottom) / step);
  for (let index = 0; index <= lines; index += 1) {
    const value = bottom + index * step;
    const zero = Math.abs(value) < step / 1e6;
    grid.push(
      svg('line', { x1: LEFT, x2: WIDTH - RIGHT, y1: y(value), y2: y(value), class: zero ? 'axis' : 'grid' }),
      svg('text', { x: LEFT - 6, y: y(value) + 4, class: 'tick', 'text-anchor': 'end' }, compact.format(value)),
    );
  }
  const bars = [];
  months.forEach((m, index) => {
    const x0 = LEFT + index * slot + slot * 0.1;
    series.forEach((s, seriesIndex) => {
      const value = Number(s.values[index]);
      const y1 = y(Math.max(0, value));
      const height = Math.max(value === 0 ? 0 : 1, Math.abs(y(value) - y(0)));
      bars.push(
        svg(
          'rect',
          { x: x0 + seriesIndex * barWidth, y: y1, width: barWidth - 1, height, class: `bar ${s.key}` },
          svg('title', {}, `${month(m)} · ${s.label}: ${money(s.values[index], currency)}`),
        ),
      );
    });
    // The month under its bars; the year under January and under the first month.
    const middle = x0 + (slot * 0.8) / 2;
    bars.push(svg('text', { x: middle, y: HEIGHT - BOTTOM + 16, class: 'tick', 'text-anchor': 'middle' }, monthName(m)));
    if (index === 0 || m.endsWith('-01')) {
      bars.push(svg('text', { x: middle, y: HEIGHT - BOTTOM + 30, class: 'tick year', 'text-anchor': 'middle' }, m.slice(0, 4)));
    }
  });
  const titleId = `${id}-title`;
  const picture = svg(
    'svg',
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', role: 'img', 'aria-labelledby': titleId, id },
    svg('title', { id: titleId }, title),
    grid,
    bars,
  );
  const legend = h(
    'ul',
    { class: 'legend' },
    series.map((s) => h('li', {}, h('span', { class: `swatch ${s.key}`, 'aria-hidden': 'true' }), s.label)),
  );
  return h('div', { class: 'chart-box' }, picture, legend);
}

/** "2026-10" → "Oct" / "10月". */
function monthName(text) {
  const [year, number] = text.split('-').map(Number);
  return new Intl.DateTimeFormat(lang(), { month: 'short', timeZone: 'UTC' }).format(new Date(Date.UTC(year, number - 1, 1)));
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) {
    if (factor * power >= raw) return factor * power;
  }
  return 10 * power;
}
