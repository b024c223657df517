// The chart of the report, as hand-written SVG: each variant's throughput as a bar relative to the bare Express route.
import { VARIANTS, type VariantKey } from '../variants';
import type { Results } from './summary';

interface Bar {
  label: string;
  ratio: number;
  ours: boolean;
}

const WIDTH = 760;
const LABEL_WIDTH = 250;
const BAR_HEIGHT = 22;
const GAP = 8;
const TOP = 56;
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - 90;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function bars(results: Results): Bar[] {
  const reference = results.profile.express?.rps;
  if (!reference) return [];
  const list: Bar[] = [];
  for (const variant of VARIANTS) {
    const figure = results.profile[variant.key];
    if (figure) list.push({ label: `GET /profile · ${variant.label}`, ratio: figure.rps / reference, ours: isOurs(variant.key) });
  }
  for (const key of ['memory', 'redis'] as const) {
    const figure = results.refresh[key];
    if (figure) list.push({ label: `POST /refresh · ${key === 'memory' ? 'memory store' : 'Redis store'}`, ratio: figure.rps / reference, ours: true });
  }
  return list;
}

function isOurs(key: VariantKey): boolean {
  return key === 'memory' || key === 'memoryMetrics' || key === 'redis';
}

export function chartSvg(results: Results): string {
  const list = bars(results);
  // The floor (node:http) is several times Express: it gets a broken bar instead of squeezing the others.
  const rest = list.filter((bar) => !bar.label.includes('node:http')).map((bar) => bar.ratio);
  const scaleMax = Math.max(1.25, Math.ceil(Math.max(...rest, 0) * 4) / 4 + 0.25);
  const x = (ratio: number) => LABEL_WIDTH + (Math.min(ratio, scaleMax) / scaleMax) * PLOT_WIDTH;
  const height = TOP + list.length * (BAR_HEIGHT + GAP) + 40;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="22" font-size="15" font-weight="bold">Throughput relative to a bare Express route (1.0 ×)</text>`,
    `<text x="16" y="40" fill="#555">${escape(`${results.machine.cpu}, ${results.machine.cores} cores · Node.js ${results.machine.node} · ${results.machine.date}`)}</text>`,
  );
  for (let tick = 0; tick <= scaleMax + 1e-9; tick += 0.25) {
    const tx = x(tick);
    const bottom = TOP + list.length * (BAR_HEIGHT + GAP);
    parts.push(`<line x1="${tx.toFixed(1)}" y1="${TOP - 6}" x2="${tx.toFixed(1)}" y2="${bottom}" stroke="${tick === 1 ? '#333' : '#e3e3e3'}" stroke-width="1"${tick === 1 ? ' stroke-dasharray="4 3"' : ''}/>`);
    if (Math.abs(tick * 2 - Math.round(tick * 2)) < 1e-9) {
      parts.push(`<text x="${tx.toFixed(1)}" y="${bottom + 16}" text-anchor="middle" fill="#555">${tick.toFixed(1)} ×</text>`);
    }
  }
  list.forEach((bar, i) => {
    const y = TOP + i * (BAR_HEIGHT + GAP);
    const end = x(bar.ratio);
    const colour = bar.ours ? '#2f6fdb' : '#9aa3ad';
    parts.push(`<text x="${LABEL_WIDTH - 8}" y="${y + BAR_HEIGHT / 2 + 4}" text-anchor="end">${escape(bar.label)}</text>`);
    parts.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${(end - LABEL_WIDTH).toFixed(1)}" height="${BAR_HEIGHT}" fill="${colour}"/>`);
    if (bar.ratio > scaleMax) {
      // Two white slashes: the bar goes on beyond the scale.
      const bx = end - 24;
      parts.push(`<path d="M${bx} ${y + BAR_HEIGHT + 2} l6 ${-BAR_HEIGHT - 4} M${bx + 7} ${y + BAR_HEIGHT + 2} l6 ${-BAR_HEIGHT - 4}" stroke="#ffffff" stroke-width="3"/>`);
    }
    parts.push(`<text x="${(end + 6).toFixed(1)}" y="${y + BAR_HEIGHT / 2 + 4}" font-weight="${bar.ours ? 'bold' : 'normal'}">${bar.ratio.toFixed(2)} ×</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
