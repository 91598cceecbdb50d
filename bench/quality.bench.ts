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
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount as wasmThreads } from '@tensorflow/tfjs-backend-wasm';
import { fitNormalisation, normalisationScope, valueStats, type NormalisationParams } from '../src-main/preprocess/normalise.js';
import { applyClassical, type ClassicalSpec } from '../src-main/model/classical.js';
import { describeBackend, initBackend } from '../src-main/model/backend.js';
import { meanShift, psnr, ssim, type Roi } from '../src-main/model/metrics.js';
import { loadModelDenoiser } from '../src-main/model/model-io.js';
import type { ModelDenoiser } from '../src-main/model/model-denoiser.js';
import { addNoise, type NoiseSpec } from '../src-main/noise/models.js';
import { keepOutside, outsideImage } from '../src-main/dicom/physical.js';
import { ctPhantomSlice, mrPhantomSlice } from '../src-main/noise/phantom.js';
import { Rng } from '../src-main/noise/rng.js';
import { CT_DEFAULT, MR_DEFAULT, type DefaultRecipe } from '../models/recipes/defaults.js';
import { loadSeries, valueRange } from './lib/fixtures.js';
import { writePanels } from './lib/png-grid.js';
import { readNifti } from './lib/nifti.js';
import { RepeatAccumulator, repeatSigmaWithout, residualScore, tissueMask } from './lib/real-noise.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(ROOT, 'bench', 'results');

interface Level { label: string; spec: NoiseSpec }
const CT_LEVELS: Level[] = [
  { label: 'white σ10', spec: { kind: 'gaussian', sigma: 10 } },
  { label: 'white σ25', spec: { kind: 'gaussian', sigma: 25 } },
  { label: 'white σ50', spec: { kind: 'gaussian', sigma: 50 } },
  { label: 'corr. σ25', spec: { kind: 'correlated', sigma: 25, correlation: 1 } },
];
const MR_LEVELS: Level[] = [
  { label: 'Rician 1%', spec: { kind: 'rician', sigma: 1, units: 'percent' } },
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
        const score = images.reduce((a, im, k) => a + psnr(im.values, applyClassical(c, noisy[k]!, im.width, im.height), valueRange(im.values)), 0);
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
    // A series of one or two slices gets three noise realisations per slice, so that neither the
    // PSNR nor the ROI's mean shift hangs on one draw of the noise (its own mean over a 48² ROI
    // has σ/48 spread).
    const realisations = slices.length < 3 ? 3 : 1;
    const draws = slices.flatMap((s, si) => Array.from({ length: realisations }, (_, r) => ({ s, si, r })));
    const acc = new Map<string, Row>();
    const add = (method: string, score: Omit<Row, 'method'>) => {
      const a = acc.get(method) ?? { method, psnr: 0, ssim: 0, shift: 0 };
      a.psnr += score.psnr / draws.length; a.ssim += score.ssim / draws.length; a.shift += score.shift / draws.length;
      acc.set(method, a);
    };
    for (const { s, si, r } of draws) {
      const dr = valueRange(s.values);
      const roi = tissueRoi(s, recipe.modality);
      // Noise inside the image only: CT's outside circle is not scored (see outsideImage).
      const noisy = keepOutside(addNoise(s.values, s.width, s.height, level.spec, new Rng(7000 + 100 * li + si + 37 * r)).noisy, s.values, outsideImage(s, recipe.modality));
      const score = (out: Float32Array) => ({ psnr: psnr(s.values, out, dr), ssim: ssim(s.values, out, s.width, s.height, { dataRange: dr }), shift: meanShift(s.values, out, s.width, s.height, roi) });
      add('noisy input', score(noisy));
      const outputs: Record<string, Float32Array> = {};
      for (const [filter, spec] of Object.entries(tuned[level.label]!)) add(filter, score(outputs[filter] = applyClassical(spec, noisy, s.width, s.height)));
      const denoised = await model.denoise({ values: noisy, width: s.width, height: s.height, mask: s.padding });
      add('model', score(denoised));
      if (si === Math.floor(slices.length / 2) && r === 0 && (level.label.includes('25') || level.label.includes('5%') || li === levels.length - 1)) {
        const bestFilter = Object.keys(outputs).reduce((a, b) => (psnr(s.values, outputs[a]!, dr) >= psnr(s.values, outputs[b]!, dr) ? a : b));
        const diff = denoised.map((v, i) => v - s.values[i]!);
        const window = recipe.modality === 'CT' ? { center: 40, width: 400 } : { center: dr * 0.45, width: dr * 0.9 };
        const file = path.join(RESULTS, `${picturePrefix}${name.replace(/\W+/g, '_')}_${level.label.replace(/\W+/g, '')}.png`);
        writePanels(file, [noisy, outputs[bestFilter]!, denoised, s.values].map((values) => ({ values, width: s.width, height: s.height, window }))
          .concat([{ values: diff, width: s.width, height: s.height, window: { center: 0, width: recipe.modality === 'CT' ? 200 : dr * 0.2 } }]));
        console.log(`  picture: ${path.relative(ROOT, file)} (noisy | ${bestFilter} | model | clean | model − clean)`);
        if (recipe.modality === 'CT') {
          // The lung window: where smoothing shows first, as fading peripheral vessels.
          const lung = { center: -600, width: 1500 };
          writePanels(file.replace(/\.png$/, '_lung.png'), [noisy, outputs[bestFilter]!, denoised, s.values].map((values) => ({ values, width: s.width, height: s.height, window: lung })));
          console.log(`  picture: ${path.relative(ROOT, file.replace(/\.png$/, '_lung.png'))} (the first four in the lung window, −600/1500 HU)`);
        }
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

/** The issue's targets, each printed PASS or MISS with its margin. */
function checkTargets(name: string, modality: 'CT' | 'MR', results: { level: string; rows: Row[] }[]): string[] {
  const lines: string[] = [];
  const rows = (level: string) => results.find((r) => r.level === level)!.rows;
  const get = (level: string, method: string) => rows(level).find((r) => r.method === method)!;
  const classical = (level: string) => rows(level).filter((r) => r.method !== 'model' && r.method !== 'noisy input');
  const bestClassical = (level: string) => classical(level).reduce((a, b) => (a.psnr >= b.psnr ? a : b));
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
  const verdict = (ok: boolean, text: string) => lines.push(`${ok ? 'PASS' : 'MISS'} ${name}: ${text}`);
  const overClassical = (level: string, margin: number) => {
    const m = get(level, 'model'), c = bestClassical(level);
    verdict(m.psnr - c.psnr >= margin, `${level}: model ${m.psnr.toFixed(2)} dB vs best classical (${c.method}) ${c.psnr.toFixed(2)} dB: ${signed(m.psnr - c.psnr)} dB (target ≥ +${margin})`);
  };
  const neverBelowInput = (level: string, withSsim: boolean) => {
    const m = get(level, 'model'), n = get(level, 'noisy input');
    const ok = m.psnr >= n.psnr && (!withSsim || m.ssim >= n.ssim);
    verdict(ok, `${level}: model ${m.psnr.toFixed(2)} dB${withSsim ? ` / ${m.ssim.toFixed(4)}` : ''} vs input ${n.psnr.toFixed(2)} dB${withSsim ? ` / ${n.ssim.toFixed(4)}` : ''} (never below the input)`);
  };
  if (modality === 'CT') {
    overClassical('white σ25', 1.5);
    const m = get('white σ25', 'model'), cs = Math.max(...classical('white σ25').map((r) => r.ssim));
    verdict(m.ssim > cs, `white σ25: model SSIM ${m.ssim.toFixed(4)} vs best classical SSIM ${cs.toFixed(4)}`);
    verdict(Math.abs(m.shift) < 2, `white σ25: mean shift ${m.shift.toFixed(2)} HU in the tissue ROI (target |shift| < 2)`);
    const mc = get('corr. σ25', 'model'), nc = get('corr. σ25', 'noisy input');
    verdict(mc.psnr - nc.psnr >= 3, `corr. σ25: model ${signed(mc.psnr - nc.psnr)} dB over the noisy input (target ≥ +3)`);
    overClassical('corr. σ25', 1);
    neverBelowInput('white σ10', true);
  } else {
    overClassical('Rician 5%', 1.5);
    neverBelowInput('Rician 1%', false);
    neverBelowInput('Rician 2%', false);
  }
  return lines;
}

const NIFTI = path.join(ROOT, 'test', 'fixtures', 'nifti');
/** A candidate's pictures (`--model`) do not replace the shipped models' ones. */
let picturePrefix = '';

/** The model's preprocessing fitted on a whole volume (what the app does for volume-scope cards). */
function volumeParamsFor(model: ModelDenoiser, slices: Float32Array[]): NormalisationParams | undefined {
  const spec = model.card.preprocessing.normalisation;
  return normalisationScope(spec) === 'volume' ? fitNormalisation(spec, valueStats(slices.map((values) => ({ values })))) : undefined;
}

/**
 * Real noise, none added (see lib/real-noise.ts): the fMRI pair's first time point against its
 * second, and what the model removes from a real low-noise diffusion b=0 volume and the held-out
 * MR series, with pictures of the difference.
 */
async function realNoiseChecks(model: ModelDenoiser, classical: Record<string, ClassicalSpec>): Promise<{ verdicts: string[]; json: Record<string, unknown> }> {
  const verdicts: string[] = [];
  const json: Record<string, unknown> = {};
  const fmri = readNifti(path.join(NIFTI, 'fmri-example4d.nii.gz'));
  const first = Array.from({ length: fmri.slices }, (_, z) => fmri.slice(z, 0)), second = Array.from({ length: fmri.slices }, (_, z) => fmri.slice(z, 1));
  const volumeParams = volumeParamsFor(model, first);
  // 'model': as the app runs it on a series with time points — told the σ measured between them
  // (jobs/series-context.ts; here from the other slices' pairs). 'model alone': σ read from each slice.
  const methods = ['model', 'model alone', 'bilateral', 'nlm'] as const;
  const acc = Object.fromEntries(methods.map((m) => [m, new RepeatAccumulator()])) as Record<typeof methods[number], RepeatAccumulator>;
  for (let z = 0; z < fmri.slices; z++) {
    const y1 = first[z]!, y2 = second[z]!;
    const mask = tissueMask(y1);
    if (mask.reduce((a, b) => a + b, 0) < 500) continue; // slices above the head: background only
    const input = { values: y1, width: fmri.width, height: fmri.height, volumeParams };
    const told = await model.denoise({ ...input, noiseSigma: repeatSigmaWithout(first, second, z) }), alone = await model.denoise(input);
    acc.model.add(y1, y2, told, mask);
    acc['model alone'].add(y1, y2, alone, mask);
    if (z === Math.floor(fmri.slices / 2)) {
      const file = path.join(RESULTS, `${picturePrefix}real_fmri_repeat.png`);
      const panel = (values: Float32Array, difference = false) => ({ values, width: fmri.width, height: fmri.height, window: difference ? { center: 0, width: 80 } : { center: 450, width: 900 } });
      const minus = (a: Float32Array, b: Float32Array) => a.map((v, i) => v - b[i]!);
      writePanels(file, [panel(y1), panel(told), panel(minus(y1, told), true), panel(alone), panel(minus(y1, alone), true), panel(minus(y1, y2), true)]);
      console.log(`  picture: ${path.relative(ROOT, file)} (time 1 | model told σ | removed | model alone | removed | time 1 − time 2: the noise ×√2)`);
    }
    acc.bilateral.add(y1, y2, applyClassical(classical.bilateral!, y1, fmri.width, fmri.height), mask);
    acc.nlm.add(y1, y2, applyClassical(classical.nlm!, y1, fmri.width, fmri.height), mask);
  }
  console.log('\nReal noise, repeat scan (fmri-example4d: time point 1 denoised, scored against time point 2 inside the head)');
  for (const m of methods) {
    const r = acc[m].score();
    console.log(`  ${m.padEnd(11)} RMS vs repeat: input ${r.inputRms.toFixed(2)}, output ${r.modelRms.toFixed(2)}; estimated gain over the input ${Number.isFinite(r.gainDb) ? r.gainDb.toFixed(2) : '∞'} dB`);
    json[`repeat ${m}`] = r;
  }
  const r = acc.model.score();
  const alone = acc['model alone'].score();
  verdicts.push(`${r.modelRms <= r.inputRms ? 'PASS' : 'MISS'} real fMRI repeat: model RMS vs the repeat ${r.modelRms.toFixed(2)} vs the input's ${r.inputRms.toFixed(2)} (never worse than the input on real noise; told the σ between time points, as the app measures it; from each slice alone ${alone.modelRms.toFixed(2)})`);

  console.log('Real noise, one acquisition: spread of what the model removed / the image\'s own noise σ, and |removed| vs edge strength (correlation)');
  const singles: [string, Slice[]][] = [
    ['dwi-b0-S0_10slices (real b=0, low noise)', (() => { const v = readNifti(path.join(NIFTI, 'dwi-b0-S0_10slices.nii.gz')); return Array.from({ length: v.slices }, (_, z) => ({ values: v.slice(z), width: v.width, height: v.height })); })()],
    [`${MR_DEFAULT.heldOut[0]!.file} (as stored)`, await loadSeries(MR_DEFAULT.heldOut[0]!.file)],
  ];
  for (const [label, slices] of singles) {
    const params = volumeParamsFor(model, slices.map((s) => s.values));
    let removed = 0, edges = 0;
    const mid = Math.floor(slices.length / 2);
    for (const [z, s] of slices.entries()) {
      const out = await model.denoise({ values: s.values, width: s.width, height: s.height, volumeParams: params });
      const score = residualScore(s.values, out, s.width, s.height, tissueMask(s.values));
      removed += score.removedOverNoise / slices.length; edges += score.edgeCorrelation / slices.length;
      if (z === mid) {
        const dr = valueRange(s.values);
        const file = path.join(RESULTS, `${picturePrefix}real_${label.split(' ')[0]!.replace(/\W+/g, '_')}.png`);
        const window = { center: dr * 0.4, width: dr * 0.8 };
        writePanels(file, [
          { values: s.values, width: s.width, height: s.height, window }, { values: out, width: s.width, height: s.height, window },
          { values: s.values.map((v, i) => v - out[i]!), width: s.width, height: s.height, window: { center: 0, width: dr * 0.1 } },
        ]);
        console.log(`  picture: ${path.relative(ROOT, file)} (input | model | input − model, ×10)`);
      }
    }
    console.log(`  ${label}: removed/noise σ ${removed.toFixed(2)}, |removed|–edge correlation ${edges.toFixed(3)}`);
    json[label] = { removedOverNoise: removed, edgeCorrelation: edges };
    verdicts.push(`${removed <= 1.25 ? 'PASS' : 'MISS'} ${label}: the model removes ${removed.toFixed(2)}× the image's own noise σ (target ≤ 1.25: noise, not anatomy)`);
  }
  return { verdicts, json };
}

/** Seconds per 512² slice through the whole model pipeline on this backend (one WASM thread in Node). */
async function cpuTiming(model: ModelDenoiser, recipe: DefaultRecipe): Promise<string> {
  const size = 512;
  const values = recipe.modality === 'CT' ? ctPhantomSlice(size, 3, 8, 77, 'abdomen') : mrPhantomSlice(size, 3, 8, 77);
  const noisy = addNoise(values, size, size, recipe.modality === 'CT' ? { kind: 'gaussian', sigma: 25 } : { kind: 'rician', sigma: 3, units: 'percent' }, 5).noisy;
  await model.denoise({ values: noisy, width: size, height: size }); // warm-up: kernels compiled
  const times: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    await model.denoise({ values: noisy, width: size, height: size });
    times.push((performance.now() - t) / 1000);
  }
  const median = times.sort((a, b) => a - b)[1]!;
  const threads = tf.getBackend() === 'wasm' ? `${wasmThreads()} WASM thread(s)` : tf.getBackend();
  return `${median <= 1.5 ? 'PASS' : 'MISS'} ${recipe.folder}: ${median.toFixed(2)} s per 512² slice, whole pipeline, ${threads} (target ≤ 1.5 s on one WASM thread)`;
}

async function main() {
  const backend = await initBackend();
  console.log(`Denoise Studio quality benchmark — ${describeBackend(backend)}`);
  mkdirSync(RESULTS, { recursive: true });
  const verdicts: string[] = [];
  const json: Record<string, unknown> = {};
  // `npm run bench:quality -- [ct|mr] [--model <dir>]`: one modality, or a candidate model folder
  // (an experiment of `train:defaults --out`) instead of the shipped one; its results are not saved.
  const { values: flags, positionals } = parseArgs({ allowPositionals: true, options: { model: { type: 'string' } } });
  const only = positionals[0]?.toUpperCase();
  if (flags.model && !only) throw new Error('--model needs one modality: ct or mr');
  if (flags.model) picturePrefix = 'candidate_';
  for (const [recipe, levels] of [[CT_DEFAULT, CT_LEVELS], [MR_DEFAULT, MR_LEVELS]] as const) {
    if (only && only !== recipe.modality) continue;
    const model = await loadModelDenoiser(flags.model ? path.resolve(flags.model) : path.join(ROOT, 'models', recipe.folder));
    console.log(`\n${recipe.folder}: tuning classical filters on training images…`);
    const tuned = await tuneFilters(recipe, levels);
    for (const [level, specs] of Object.entries(tuned)) console.log(`  ${level}: ${Object.values(specs).map((s) => JSON.stringify(s)).join(' ')}`);
    for (const held of recipe.heldOut) {
      const slices = await loadSeries(held.file);
      console.log(`${held.file}: ${slices.length} slice(s), ${held.what}`);
      const results = await benchSeries(held.file, slices, recipe, levels, tuned, model);
      printTable(`${held.file} (${recipe.modality}, model ${recipe.folder})`, 'clean slice max − min', results);
      const targets = checkTargets(held.file, recipe.modality, results);
      verdicts.push(...targets);
      json[held.file] = { levels: results, tuned, targets };
    }
    if (recipe.modality === 'MR') {
      const real = await realNoiseChecks(model, tuned['Rician 2%']!);
      verdicts.push(...real.verdicts);
      json['real noise (MR)'] = { ...real.json, targets: real.verdicts };
    }
    verdicts.push(await cpuTiming(model, recipe));
    model.dispose();
  }
  console.log('\nTargets:');
  for (const v of verdicts) console.log(`  ${v}`);
  if (flags.model) return;
  // A run of one modality keeps the other's last results.
  json[`backend (${only ?? 'all'})`] = describeBackend(backend);
  const file = path.join(RESULTS, 'quality.json');
  const previous = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> : {};
  writeFileSync(file, JSON.stringify({ ...previous, ...json }, null, 1) + '\n');
}

await main();
