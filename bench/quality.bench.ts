/**
 * `npm run bench:quality`: image quality of the shipped default models on real series they never
 * saw (held out in models/recipes/defaults.ts), against every classical filter of the engine with
 * parameters tuned on *training* images. Noise is added with fixed seeds:
 *   CT: white Gaussian σ 10, 25, 50 HU and correlated Gaussian σ 25 HU;  MR: Rician 2, 5, 10 % of range.
 * Prints PSNR and SSIM (data range = the clean slice's max − min, stated) and the mean shift in a
 * soft-tissue ROI, checks the targets (`npm run bench:quality -- ct` or `mr` for one), and writes PNG grids (noisy | best classical | model |
 * clean | difference) and quality.json to bench/results/.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyClassical, type ClassicalSpec } from '../src-main/model/classical.js';
import { describeBackend, initBackend } from '../src-main/model/backend.js';
import { meanShift, psnr, ssim, type Roi } from '../src-main/model/metrics.js';
import { loadModelDenoiser } from '../src-main/model/model-io.js';
import type { ModelDenoiser } from '../src-main/model/model-denoiser.js';
import { addNoise, type NoiseSpec } from '../src-main/noise/models.js';
import { ctPhantomSlice, mrPhantomSlice } from '../src-main/noise/phantom.js';
import { Rng } from '../src-main/noise/rng.js';
import { findSeries, readSeriesSlices, type SeriesSlice } from '../src-main/jobs/series-source.js';
import { CT_DEFAULT, MR_DEFAULT, type DefaultRecipe } from '../models/recipes/defaults.js';
import { writePanels } from './lib/png-grid.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'dicom');
const RESULTS = path.join(ROOT, 'bench', 'results');

interface Level { label: string; spec: NoiseSpec }
const CT_LEVELS: Level[] = [
  { label: 'white σ10', spec: { kind: 'gaussian', sigma: 10 } },
  { label: 'white σ25', spec: { kind: 'gaussian', sigma: 25 } },
  { label: 'white σ50', spec: { kind: 'gaussian', sigma: 50 } },
  { label: 'corr. σ25', spec: { kind: 'correlated', sigma: 25, correlation: 1 } },
];
const MR_LEVELS: Level[] = [
  { label: 'Rician 2%', spec: { kind: 'rician', sigma: 2, units: 'percent' } },
  { label: 'Rician 5%', spec: { kind: 'rician', sigma: 5, units: 'percent' } },
  { label: 'Rician 10%', spec: { kind: 'rician', sigma: 10, units: 'percent' } },
];

/** Candidate parameters per filter; the best on the training images is used on the test images. */
const GRID: Record<string, ClassicalSpec[]> = {
  gaussian: [0.5, 0.8, 1.2, 1.8].map((sigma) => ({ filter: 'gaussian', sigma })),
  median: [1, 2].map((radius) => ({ filter: 'median', radius })),
  bilateral: [1, 2, 3, 4].map((k) => ({ filter: 'bilateral', sigmaSpatial: 1.5, sigmaRange: { sigmas: k } })),
  nlm: [0.4, 0.6, 0.8, 1.0, 1.3].map((k) => ({ filter: 'nlm', h: { sigmas: k } })),
  diffusion: [[0.7, 10], [1, 20], [1.5, 20], [1, 40]].map(([k, iterations]) => ({ filter: 'diffusion', kappa: { sigmas: k! }, iterations: iterations! })),
};

interface Slice { values: Float32Array; width: number; height: number; padding?: Uint8Array }

function range(values: Float32Array): number {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return hi > lo ? hi - lo : 1;
}

function crop(s: Slice, size: number): Slice {
  const x0 = Math.floor((s.width - size) / 2), y0 = Math.floor((s.height - size) / 2);
  const values = new Float32Array(size * size);
  for (let y = 0; y < size; y++) values.set(s.values.subarray((y0 + y) * s.width + x0, (y0 + y) * s.width + x0 + size), y * size);
  return { values, width: size, height: size };
}

/**
 * The flattest 48×48 window of soft tissue (CT 0–150 HU; MR > 30 % of max) in the clean slice:
 * large enough that the noise's own mean over it (σ/48) stays well below the 2 HU target.
 */
function tissueRoi(s: Slice, modality: 'CT' | 'MR'): Roi {
  const n = 48, step = 8;
  let best: Roi = { x: s.width / 2 - n / 2, y: s.height / 2 - n / 2, width: n, height: n };
  let bestStd = Infinity;
  let max = -Infinity;
  for (const v of s.values) if (v > max) max = v;
  for (let y = 0; y + n <= s.height; y += step) {
    for (let x = 0; x + n <= s.width; x += step) {
      let sum = 0, sq = 0;
      for (let yy = y; yy < y + n; yy++) for (let xx = x; xx < x + n; xx++) { const v = s.values[yy * s.width + xx]!; sum += v; sq += v * v; }
      const mean = sum / (n * n), std = Math.sqrt(Math.max(0, sq / (n * n) - mean * mean));
      const tissue = modality === 'CT' ? mean > 0 && mean < 150 : mean > 0.3 * max;
      if (tissue && std < bestStd) { bestStd = std; best = { x, y, width: n, height: n }; }
    }
  }
  return best;
}

async function loadSeries(relative: string): Promise<Slice[]> {
  const found = await findSeries(path.join(FIXTURES, relative));
  const out: Slice[] = [];
  for (const series of found.series) for await (const s of readSeriesSlices(series) as AsyncGenerator<SeriesSlice>) out.push(s);
  return out;
}

async function tuneFilters(recipe: DefaultRecipe, levels: Level[]): Promise<Record<string, Record<string, ClassicalSpec>>> {
  // Training images only: two phantoms and the first real training image, centre crops of 192².
  const images: Slice[] = recipe.modality === 'CT'
    ? [ctPhantomSlice(512, 3, 8, 901, 'abdomen'), ctPhantomSlice(512, 4, 8, 902, 'head')].map((v) => crop({ values: v, width: 512, height: 512 }, 192))
    : [mrPhantomSlice(256, 3, 8, 901), mrPhantomSlice(256, 5, 8, 902)].map((v) => crop({ values: v, width: 256, height: 256 }, 192));
  const real = (await loadSeries(recipe.real[0]!.file))[0]!;
  images.push(crop(real, Math.min(192, real.width, real.height)));
  const tuned: Record<string, Record<string, ClassicalSpec>> = {};
  for (const level of levels) {
    tuned[level.label] = {};
    const noisy = images.map((im, k) => addNoise(im.values, im.width, im.height, level.spec, new Rng(500 + k)).noisy);
    for (const [filter, candidates] of Object.entries(GRID)) {
      let best = candidates[0]!, bestScore = -Infinity;
      for (const c of candidates) {
        const score = images.reduce((a, im, k) => a + psnr(im.values, applyClassical(c, noisy[k]!, im.width, im.height), range(im.values)), 0);
        if (score > bestScore) { bestScore = score; best = c; }
      }
      tuned[level.label]![filter] = best;
    }
  }
  return tuned;
}

interface Row { method: string; psnr: number; ssim: number; shift: number }

async function benchSeries(name: string, slices: Slice[], recipe: DefaultRecipe, levels: Level[], tuned: Record<string, Record<string, ClassicalSpec>>, model: ModelDenoiser) {
  const results: { level: string; rows: Row[] }[] = [];
  for (const [li, level] of levels.entries()) {
    const acc = new Map<string, Row>();
    const add = (method: string, r: Omit<Row, 'method'>) => {
      const a = acc.get(method) ?? { method, psnr: 0, ssim: 0, shift: 0 };
      a.psnr += r.psnr / slices.length; a.ssim += r.ssim / slices.length; a.shift += r.shift / slices.length;
      acc.set(method, a);
    };
    for (const [si, s] of slices.entries()) {
      const dr = range(s.values);
      const roi = tissueRoi(s, recipe.modality);
      const noisy = addNoise(s.values, s.width, s.height, level.spec, new Rng(7000 + 100 * li + si)).noisy;
      if (s.padding) for (let i = 0; i < noisy.length; i++) if (s.padding[i]) noisy[i] = s.values[i]!;
      const score = (out: Float32Array) => ({ psnr: psnr(s.values, out, dr), ssim: ssim(s.values, out, s.width, s.height, { dataRange: dr }), shift: meanShift(s.values, out, s.width, s.height, roi) });
      add('noisy input', score(noisy));
      const outputs: Record<string, Float32Array> = {};
      for (const [filter, spec] of Object.entries(tuned[level.label]!)) add(filter, score(outputs[filter] = applyClassical(spec, noisy, s.width, s.height)));
      const denoised = await model.denoise({ values: noisy, width: s.width, height: s.height, mask: s.padding });
      add('model', score(denoised));
      if (si === Math.floor(slices.length / 2) && (li === 1 || li === levels.length - 1)) {
        const bestFilter = Object.keys(outputs).reduce((a, b) => (psnr(s.values, outputs[a]!, dr) >= psnr(s.values, outputs[b]!, dr) ? a : b));
        const diff = denoised.map((v, i) => v - s.values[i]!);
        const window = recipe.modality === 'CT' ? { center: 40, width: 400 } : { center: dr * 0.45, width: dr * 0.9 };
        const file = path.join(RESULTS, `${name.replace(/\W+/g, '_')}_${level.label.replace(/\W+/g, '')}.png`);
        writePanels(file, [noisy, outputs[bestFilter]!, denoised, s.values].map((values) => ({ values, width: s.width, height: s.height, window }))
          .concat([{ values: diff, width: s.width, height: s.height, window: { center: 0, width: recipe.modality === 'CT' ? 200 : dr * 0.2 } }]));
        console.log(`  picture: ${path.relative(ROOT, file)} (noisy | ${bestFilter} | model | clean | model − clean)`);
      }
    }
    results.push({ level: level.label, rows: [...acc.values()] });
  }
  return results;
}

function printTable(name: string, dataRange: string, results: { level: string; rows: Row[] }[]) {
  console.log(`\n${name} — PSNR dB / SSIM (data range: ${dataRange}) / mean shift in tissue ROI`);
  const methods = results[0]!.rows.map((r) => r.method);
  console.log(`${'method'.padEnd(12)} ${results.map((r) => r.level.padStart(24)).join('')}`);
  for (const m of methods) {
    console.log(`${m.padEnd(12)} ${results.map((r) => { const x = r.rows.find((y) => y.method === m)!; return `${x.psnr.toFixed(2)} ${x.ssim.toFixed(3)} ${(x.shift >= 0 ? '+' : '') + x.shift.toFixed(1)}`.padStart(24); }).join('')}`);
  }
}

function checkTargets(name: string, modality: 'CT' | 'MR', results: { level: string; rows: Row[] }[]): string[] {
  const lines: string[] = [];
  const get = (level: string, method: string) => results.find((r) => r.level === level)!.rows.find((r) => r.method === method)!;
  const classicalBest = (level: string) => results.find((r) => r.level === level)!.rows.filter((r) => r.method !== 'model' && r.method !== 'noisy input').reduce((a, b) => (a.psnr >= b.psnr ? a : b));
  const verdict = (ok: boolean, text: string) => lines.push(`${ok ? 'PASS' : 'MISS'} ${name}: ${text}`);
  if (modality === 'CT') {
    const m = get('white σ25', 'model'), c = classicalBest('white σ25'), cs = Math.max(...results.find((r) => r.level === 'white σ25')!.rows.filter((r) => r.method !== 'model' && r.method !== 'noisy input').map((r) => r.ssim));
    verdict(m.psnr - c.psnr >= 1.5, `σ25: model ${m.psnr.toFixed(2)} dB vs best classical (${c.method}) ${c.psnr.toFixed(2)} dB: ${(m.psnr - c.psnr >= 0 ? '+' : '')}${(m.psnr - c.psnr).toFixed(2)} dB (target ≥ +1.5)`);
    verdict(m.ssim > cs, `σ25: model SSIM ${m.ssim.toFixed(4)} vs best classical SSIM ${cs.toFixed(4)}`);
    verdict(Math.abs(m.shift) < 2, `σ25: mean shift ${m.shift.toFixed(2)} HU (target |shift| < 2)`);
    const mc = get('corr. σ25', 'model'), nc = get('corr. σ25', 'noisy input');
    verdict(mc.psnr - nc.psnr >= 3, `correlated σ25: model +${(mc.psnr - nc.psnr).toFixed(2)} dB over the noisy input (target ≥ +3)`);
  }
  const lowest = results[0]!;
  const m = lowest.rows.find((r) => r.method === 'model')!, n = lowest.rows.find((r) => r.method === 'noisy input')!;
  verdict(m.psnr >= n.psnr && m.ssim >= n.ssim, `${lowest.level}: model ${m.psnr.toFixed(2)} dB / ${m.ssim.toFixed(4)} vs input ${n.psnr.toFixed(2)} dB / ${n.ssim.toFixed(4)} (never worse than the input)`);
  return lines;
}

async function main() {
  const backend = await initBackend();
  console.log(`Denoise Studio quality benchmark — ${describeBackend(backend)}`);
  mkdirSync(RESULTS, { recursive: true });
  const verdicts: string[] = [];
  const json: Record<string, unknown> = {};
  const only = process.argv[2]?.toUpperCase();
  for (const [recipe, levels] of [[CT_DEFAULT, CT_LEVELS], [MR_DEFAULT, MR_LEVELS]] as const) {
    if (only && only !== recipe.modality) continue;
    const model = await loadModelDenoiser(path.join(ROOT, 'models', recipe.folder));
    console.log(`\n${recipe.folder}: tuning classical filters on training images…`);
    const tuned = await tuneFilters(recipe, levels);
    for (const [level, specs] of Object.entries(tuned)) console.log(`  ${level}: ${Object.values(specs).map((s) => JSON.stringify(s)).join(' ')}`);
    for (const held of recipe.heldOut) {
      const slices = await loadSeries(held.file);
      console.log(`${held.file}: ${slices.length} slice(s), ${held.what}`);
      const results = await benchSeries(held.file, slices, recipe, levels, tuned, model);
      printTable(`${held.file} (${recipe.modality}, model ${recipe.folder})`, 'clean slice max − min', results);
      verdicts.push(...checkTargets(held.file, recipe.modality, results));
      json[held.file] = { levels: results, tuned };
    }
    model.dispose();
  }
  console.log('\nTargets:');
  for (const v of verdicts) console.log(`  ${v}`);
  // A run of one modality keeps the other's last results.
  const file = path.join(RESULTS, 'quality.json');
  const previous = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> : {};
  writeFileSync(file, JSON.stringify({ ...previous, ...json }, null, 1) + '\n');
}

await main();
