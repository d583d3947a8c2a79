/** Minimal SVG line charts for the evaluation report: no dependency, readable in any viewer. */
export interface SeriesSpec {
  name: string;
  xs: number[];
  ys: number[];
  color: string;
  dashed?: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function lineChart(title: string, series: SeriesSpec[], o: { xLabel: string; yLabel: string; xRange?: [number, number]; yRange?: [number, number]; diagonal?: boolean; xFormat?: (x: number) => string }): string {
  const W = 620;
  const H = 340;
  const m = { l: 60, r: 190, t: 30, b: 45 };
  const allX = series.flatMap((s) => s.xs);
  const allY = series.flatMap((s) => s.ys).filter((y) => Number.isFinite(y));
  const [x0, x1] = o.xRange ?? [Math.min(...allX), Math.max(...allX)];
  const [y0, y1] = o.yRange ?? [Math.min(0, ...allY), Math.max(...allY) || 1];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const fmt = o.xFormat ?? ((x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1)));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2 - m.r / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`);
  parts.push(`<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`);
  for (let i = 0; i <= 4; i++) {
    const xv = x0 + ((x1 - x0) * i) / 4;
    const yv = y0 + ((y1 - y0) * i) / 4;
    parts.push(`<text x="${sx(xv)}" y="${H - m.b + 14}" text-anchor="middle">${esc(fmt(xv))}</text>`);
    parts.push(`<text x="${m.l - 5}" y="${sy(yv) + 4}" text-anchor="end">${yv.toFixed(2)}</text>`);
    parts.push(`<line x1="${m.l}" y1="${sy(yv)}" x2="${W - m.r}" y2="${sy(yv)}" stroke="#eee"/>`);
  }
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text x="14" y="${(m.t + H - m.b) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(m.t + H - m.b) / 2})">${esc(o.yLabel)}</text>`);
  if (o.diagonal) parts.push(`<line x1="${sx(x0)}" y1="${sy(y0)}" x2="${sx(x1)}" y2="${sy(y1)}" stroke="#999" stroke-dasharray="4 3"/>`);
  series.forEach((s, k) => {
    const pts = s.xs.map((x, i) => [x, s.ys[i]]).filter(([, y]) => Number.isFinite(y));
    if (pts.length) parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
    parts.push(`<line x1="${W - m.r + 10}" y1="${m.t + 10 + k * 16}" x2="${W - m.r + 30}" y2="${m.t + 10 + k * 16}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    parts.push(`<text x="${W - m.r + 35}" y="${m.t + 14 + k * 16}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** ROC curve points (false-positive rate, true-positive rate), at most ~200. */
export function rocPoints(scores: number[], labels: number[]): { fpr: number[]; tpr: number[] } {
  const idx = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const pos = labels.reduce((s, l) => s + l, 0);
  const neg = labels.length - pos;
  const fpr = [0];
  const tpr = [0];
  let tp = 0;
  let fp = 0;
  const every = Math.max(1, Math.floor(idx.length / 200));
  idx.forEach((i, k) => {
    if (labels[i]) tp++;
    else fp++;
    if (k % every === 0 || k === idx.length - 1) {
      fpr.push(neg ? fp / neg : 0);
      tpr.push(pos ? tp / pos : 0);
    }
  });
  return { fpr, tpr };
}
