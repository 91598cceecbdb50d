/**
 * The generalisation and bias report: a model (or filter) over many series, broken down by what
 * the series are. Each series is evaluated against a reference — its clean source when it is a
 * noisy copy the catalogue knows (add-noise), else itself with seeded synthetic noise added here —
 * on evenly spaced slices. Series are the unit of the statistics (their slices are correlated):
 * each subset shows n, its mean and a 95 % interval, and is flagged when it lies ≥ 1 dB below
 * the overall mean with an interval that excludes the overall mean.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BiasReport, ReportSeries, ReportSubset, TagEntry } from '../../api/contract.js';
import { keepOutside, outsideImage } from '../../dicom/physical.js';
import { readTags } from '../../dicom/tags.js';
import type { BackendName } from '../../model/backend.js';
import { psnr, ssim } from '../../model/metrics.js';
import { readModelCard } from '../../model/model-io.js';
import { addNoise, NoiseSpec } from '../../noise/models.js';
import { methodForSeries, methodLabel, type MethodSpec } from '../methods.js';
import { readSeriesSlices, seriesOfFiles, seriesLabel, type SeriesSlice } from '../series-source.js';
import type { DatasetSource } from '../training-data.js';
import type { SlicePool } from '../workers/denoise-pool.js';
import { startSlicePool } from '../workers/slice-pools.js';
import { seriesAttributes, STANDARD_ATTRIBUTES } from './attributes.js';
import { reportChartSvg } from './chart.js';
import { meanCi } from './stats.js';

/** One series to evaluate: its own source and, for a noisy copy, the clean series it came from. */
export interface ReportTarget { input: DatasetSource; reference?: DatasetSource }

export interface ReportOptions {
  targets: ReportTarget[];
  method: MethodSpec | 'default';
  by?: string[];
  noise?: unknown;
  seed?: number;
  slicesPerSeries?: number;
  metric?: 'psnr' | 'gain';
  outDir?: string;
  backend?: BackendName;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, message?: string) => void;
}

const FLAG_DB = 1;

/** What a series without a reference gets: noise typical of its modality, seeded. */
function defaultNoise(modality: string): NoiseSpec {
  return modality === 'MR' ? { kind: 'rician', sigma: 5, units: 'percent' } : { kind: 'gaussian', sigma: 20, units: 'absolute' };
}

function evenly(count: number, wanted: number): number[] {
  if (count <= wanted) return Array.from({ length: count }, (_, i) => i);
  return [...new Set(Array.from({ length: wanted }, (_, k) => Math.round(((k + 0.5) * count) / wanted - 0.5)))];
}

async function slicesOf(source: DatasetSource, indices?: number[]): Promise<{ slices: SeriesSlice[]; label: string; count: number }> {
  const found = await seriesOfFiles(source.files);
  const series = found.series.find((s) => s.seriesInstanceUid === source.seriesInstanceUid);
  if (!series) throw new Error(`series …${source.seriesInstanceUid.slice(-8)}: no readable slices`);
  const keep = new Set(indices ?? evenly(series.slices.length, Infinity));
  const slices: SeriesSlice[] = [];
  for await (const s of readSeriesSlices(series)) if (keep.has(s.index)) slices.push(s);
  return { slices, label: seriesLabel(series), count: series.slices.length };
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

/** The overfitting signal a model card carries: its last epoch's validation loss over its training loss. */
async function overfittingOf(method: MethodSpec | 'default'): Promise<BiasReport['overfitting']> {
  if (method === 'default' || method.kind !== 'model') return undefined;
  const history = (await readModelCard(method.folder)).training?.history ?? [];
  const last = [...history].reverse().find((h) => h.valLoss !== null);
  return last && last.trainLoss > 0 ? { trainLoss: last.trainLoss, valLoss: last.valLoss!, ratio: last.valLoss! / last.trainLoss, epoch: last.epoch } : undefined;
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function subsetsOf(series: ReportSeries[], by: string[], metric: 'psnr' | 'gain'): { overall: BiasReport['overall']; subsets: ReportSubset[] } {
  const value = (s: ReportSeries) => (metric === 'gain' ? s.gain : s.psnr);
  const all = meanCi(series.map(value));
  const overall = { n: all.n, mean: all.mean, ci: all.ci, meanGain: mean(series.map((s) => s.gain)), meanSsimGain: mean(series.map((s) => s.ssimGain)) };
  const subsets: ReportSubset[] = [];
  for (const attribute of by) {
    const groups = new Map<string, ReportSeries[]>();
    for (const s of series) groups.set(s.attributes[attribute] ?? '(none)', [...(groups.get(s.attributes[attribute] ?? '(none)') ?? []), s]);
    for (const [v, members] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const m = meanCi(members.map(value));
      subsets.push({
        attribute, value: v, n: m.n, mean: m.mean, ci: m.ci,
        meanGain: mean(members.map((s) => s.gain)), meanSsimGain: mean(members.map((s) => s.ssimGain)), meanShift: mean(members.map((s) => s.meanShift)),
        // Only a subset that is smaller than the whole can be "below" it, and only with an interval.
        flagged: members.length < series.length && m.ci !== null && m.mean <= overall.mean - FLAG_DB && m.ci[1] < overall.mean,
      });
    }
  }
  return { overall, subsets };
}

export async function runReportJob(options: ReportOptions): Promise<BiasReport> {
  const by = options.by?.length ? options.by : [...STANDARD_ATTRIBUTES];
  const metric = options.metric ?? 'psnr';
  const perSeries = options.slicesPerSeries ?? 8;
  const noise = options.noise === undefined ? undefined : NoiseSpec.parse(options.noise);
  const pools = new Map<string, SlicePool>();
  const series: ReportSeries[] = [];
  const skipped: string[] = [];
  let done = 0;
  const total = options.targets.length;
  try {
    for (const [k, target] of options.targets.entries()) {
      if (options.signal?.aborted) throw new Error('cancelled');
      try {
        const method = methodForSeries(options.method, target.input.modality);
        const key = JSON.stringify(method);
        let pool = pools.get(key);
        if (!pool) { pool = await startSlicePool(method, { backend: options.backend }); pools.set(key, pool); }
        const input = await slicesOf(target.input);
        const indices = evenly(input.count, perSeries);
        const chosen = input.slices.filter((s) => indices.includes(s.index));
        let references: SeriesSlice[];
        let inputs: Float32Array[];
        if (target.reference) {
          const ref = await slicesOf(target.reference, indices);
          if (ref.count !== input.count) throw new Error(`${input.label}: ${input.count} slices, but its source has ${ref.count}`);
          references = ref.slices;
          inputs = chosen.map((s) => s.values);
        } else {
          references = chosen;
          const spec = noise ?? defaultNoise(target.input.modality);
          // Inside the image only (padding, CT's outside circle): what a denoiser does there is not scored.
          inputs = chosen.map((s, i) => keepOutside(addNoise(s.values, s.width, s.height, spec, (options.seed ?? 1) * 7919 + k * 131 + i).noisy, s.values, outsideImage(s, target.input.modality)));
        }
        let lo = Infinity, hi = -Infinity;
        for (const r of references) for (const v of r.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
        const range = hi > lo ? hi - lo : 1;
        const q = { inP: [] as number[], outP: [] as number[], inS: [] as number[], outS: [] as number[], shift: [] as number[], noise: [] as number[] };
        const outputs = await Promise.all(references.map(async (r, i) => (await pool!.denoise({ values: inputs[i]!, width: r.width, height: r.height, mask: r.padding })).values));
        references.forEach((r, i) => {
          const x = inputs[i]!, y = outputs[i]!;
          if (x.length !== r.values.length) throw new Error(`${input.label}: slice ${r.index + 1} differs in size from its reference`);
          q.inP.push(psnr(r.values, x, range));
          q.outP.push(psnr(r.values, y, range));
          q.inS.push(ssim(r.values, x, r.width, r.height, { dataRange: range }));
          q.outS.push(ssim(r.values, y, r.width, r.height, { dataRange: range }));
          let shift = 0, err = 0;
          for (let j = 0; j < y.length; j++) { shift += y[j]! - r.values[j]!; err += (x[j]! - r.values[j]!) ** 2; }
          q.shift.push(shift / y.length);
          q.noise.push((100 * Math.sqrt(err / y.length)) / range);
        });
        const tags: TagEntry[] = await readTags(chosen[0]!.ref.file).catch(() => []);
        const inputPsnr = mean(q.inP), outPsnr = mean(q.outP), inputSsim = mean(q.inS), outSsim = mean(q.outS);
        series.push({
          seriesInstanceUid: target.input.seriesInstanceUid, description: input.label, mode: target.reference ? 'reference' : 'synthetic',
          slices: references.length, dataRange: range, inputPsnr, psnr: outPsnr, gain: outPsnr - inputPsnr, inputSsim, ssim: outSsim,
          ssimGain: outSsim - inputSsim, meanShift: mean(q.shift), attributes: seriesAttributes(tags, by, mean(q.noise)),
        });
      } catch (error) {
        skipped.push(`series …${target.input.seriesInstanceUid.slice(-8)}: ${(error as Error).message}`);
      }
      options.onProgress?.(++done, total);
    }
  } finally {
    await Promise.all([...pools.values()].map((p) => p.close()));
  }
  if (!series.length) throw new Error(`report: no series could be evaluated (${skipped.join('; ') || 'none given'})`);
  const { overall, subsets } = subsetsOf(series, by, metric);
  const firstPool = pools.values().next().value;
  const report: BiasReport = {
    method: options.method === 'default' ? `shipped defaults (${[...pools.values()].map((p) => p.name).join(', ')})` : methodLabel(options.method),
    backend: firstPool?.backend, metric, overall, subsets, series, skipped, overfitting: await overfittingOf(options.method),
  };
  if (options.outDir) report.files = await writeReportFiles(report, options.outDir);
  report.chartSvg = reportChartSvg(report);
  return report;
}

/** report.csv (one row per subset), report.json, report.svg and report.png (when resvg loads). */
async function writeReportFiles(report: BiasReport, outDir: string): Promise<NonNullable<BiasReport['files']>> {
  const dir = path.resolve(outDir);
  await mkdir(dir, { recursive: true });
  const header = ['attribute', 'value', 'n', `mean_${report.metric}_db`, 'ci_low', 'ci_high', 'mean_gain_db', 'mean_ssim_gain', 'mean_shift', 'flagged'];
  const rows = [['(all)', '', report.overall.n, report.overall.mean, report.overall.ci?.[0], report.overall.ci?.[1], report.overall.meanGain, report.overall.meanSsimGain, '', ''],
    ...report.subsets.map((s) => [s.attribute, s.value, s.n, s.mean, s.ci?.[0], s.ci?.[1], s.meanGain, s.meanSsimGain, s.meanShift, s.flagged])];
  const files: NonNullable<BiasReport['files']> = { csv: path.join(dir, 'report.csv'), json: path.join(dir, 'report.json'), svg: path.join(dir, 'report.svg') };
  await writeFile(files.csv, [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
  const svg = reportChartSvg(report);
  await writeFile(files.svg, svg);
  try {
    const { Resvg } = await import('@resvg/resvg-js');
    files.png = path.join(dir, 'report.png');
    await writeFile(files.png, new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng());
  } catch (error) {
    delete files.png;
    files.pngError = `PNG not written (${(error as Error).message.split('\n')[0]}); report.svg holds the same chart`;
  }
  await writeFile(files.json, JSON.stringify({ ...report, files }, null, 2) + '\n');
  return files;
}
