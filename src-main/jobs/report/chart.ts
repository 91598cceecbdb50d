/**
 * The report's picture: one panel per attribute, a bar per subset (mean with its 95 % interval),
 * the overall mean as a line, flagged subsets in red. Plain SVG (text and all), so the CLI can
 * write it and render it to PNG without a browser.
 */
import type { BiasReport } from '../../api/contract.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function reportChartSvg(report: BiasReport): string {
  const attributes = [...new Set(report.subsets.map((s) => s.attribute))];
  const rowH = 22, panelGap = 34, left = 230, plotW = 520, width = left + plotW + 90;
  const metricLabel = report.metric === 'gain' ? 'PSNR gain (dB)' : 'PSNR of the result (dB)';
  const values = report.subsets.flatMap((s) => [s.mean, ...(s.ci ?? [])]).concat(report.overall.mean).filter(Number.isFinite);
  const lo = Math.min(0, ...values), hi = Math.max(...values, 1);
  const x = (v: number) => left + ((v - lo) / (hi - lo)) * plotW;
  const parts: string[] = [];
  let y = 56;
  parts.push(`<text x="16" y="24" font-size="16" font-weight="bold">${esc(`${report.method}: ${metricLabel} by subset`)}</text>`);
  parts.push(`<text x="16" y="42" font-size="12" fill="#555">${esc(`${report.overall.n} series; overall ${report.overall.mean.toFixed(2)} dB; bars: mean with 95 % CI; red: ≥ 1 dB below overall with the CI excluding it`)}</text>`);
  for (const attribute of attributes) {
    const rows = report.subsets.filter((s) => s.attribute === attribute);
    parts.push(`<text x="16" y="${y + 14}" font-size="13" font-weight="bold">${esc(attribute)}</text>`);
    y += 20;
    const top = y;
    for (const s of rows) {
      const colour = s.flagged ? '#c62828' : '#1565c0';
      parts.push(`<text x="${left - 8}" y="${y + 15}" font-size="12" text-anchor="end">${esc(`${s.value} (n=${s.n})`)}</text>`);
      parts.push(`<rect x="${x(Math.min(0, s.mean))}" y="${y + 4}" width="${Math.abs(x(s.mean) - x(0))}" height="${rowH - 8}" fill="${colour}" opacity="0.8"/>`);
      if (s.ci) parts.push(`<line x1="${x(s.ci[0])}" x2="${x(s.ci[1])}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" stroke="#222" stroke-width="1.5"/>`);
      parts.push(`<text x="${left + plotW + 8}" y="${y + 15}" font-size="12">${s.mean.toFixed(2)}</text>`);
      y += rowH;
    }
    parts.push(`<line x1="${x(report.overall.mean)}" x2="${x(report.overall.mean)}" y1="${top}" y2="${y}" stroke="#2e7d32" stroke-dasharray="4 3" stroke-width="1.5"/>`);
    y += panelGap;
  }
  const height = y;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`
    + `<rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}
