/**
 * `npm run bench:limits`: what holds the shipped defaults back, measured — the diagnostics behind
 * the misses bench:quality prints, for whoever trains the next default.
 * 1. Noise left on flat tissue: a uniform slice (air, lung, soft tissue, bone; MR: tissue) with each
 *    benchmark noise, denoised without the guard. A blind network that cannot tell the noise level
 *    from texture settles on a compromise: it leaves part of the noise where nothing else is.
 * 2. Removal gain: the held-out CT slices' removal (input − output) scaled by s before the guard.
 *    If the compromise could be undone by one number per level, an s ≠ 1 would win by much.
 * 3. Real repeat (fMRI pair): the MR default with σ read from each slice or told the σ measured
 *    between the time points (as the app does for a series with them), with its risk weighting and
 *    with the guard alone — what keeps the output from being worse than its input.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, describeBackend } from '../src-main/model/backend.js';
import { psnr } from '../src-main/model/metrics.js';
import { loadModelDenoiser } from '../src-main/model/model-io.js';
import { ModelDenoiser } from '../src-main/model/model-denoiser.js';
import { guardRemoval } from '../src-main/model/noise-guard.js';
import { addNoise, type NoiseSpec } from '../src-main/noise/models.js';
import { Rng } from '../src-main/noise/rng.js';
import { keepOutside, outsideImage } from '../src-main/dicom/physical.js';
import { fitNormalisation, valueStats } from '../src-main/preprocess/normalise.js';
import { CT_DEFAULT } from '../models/recipes/defaults.js';
import { loadSeries, valueRange } from './lib/fixtures.js';
import { readNifti } from './lib/nifti.js';
import { RepeatAccumulator, repeatSigmaWithout, tissueMask } from './lib/real-noise.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CT_NOISE: [string, NoiseSpec][] = [
  ['white σ10', { kind: 'gaussian', sigma: 10 }], ['white σ25', { kind: 'gaussian', sigma: 25 }],
  ['white σ50', { kind: 'gaussian', sigma: 50 }], ['corr. σ25', { kind: 'correlated', sigma: 25, correlation: 1 }],
];

/** The same network and preprocessing with other inference settings (the guard off, or another bound). */
function withInference(m: ModelDenoiser, inference: Partial<ModelDenoiser['card']['inference']>): ModelDenoiser {
  return ModelDenoiser.fromLoaded({ model: m.model, card: { ...m.card, inference: { ...m.card.inference, ...inference } }, folder: m.name });
}

const rms = (a: Float32Array, b: Float32Array | number, skip = 0, width = 0) => {
  let sum = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    const x = i % width, y = Math.floor(i / width);
    if (x < skip || y < skip || x >= width - skip || y >= width - skip) continue;
    sum += (a[i]! - (typeof b === 'number' ? b : b[i]!)) ** 2; n++;
  }
  return Math.sqrt(sum / n);
};

async function flatTissue(model: ModelDenoiser) {
  console.log('\n1. Noise left on a uniform 256² slice (RMS HU over its inner 216², guard off; input → output)');
  const raw = withInference(model, { noiseGuard: null, noiseGuardLocal: null });
  for (const level of [-1000, -800, 40, 1000]) {
    const cells: string[] = [];
    for (const [label, spec] of CT_NOISE) {
      const noisy = addNoise(new Float32Array(256 * 256).fill(level), 256, 256, spec, new Rng(3)).noisy;
      const out = await raw.denoise({ values: noisy, width: 256, height: 256 });
      cells.push(`${label} ${rms(noisy, level, 20, 256).toFixed(1)} → ${rms(out, level, 20, 256).toFixed(1)}`);
    }
    console.log(`  ${String(level).padStart(5)} HU: ${cells.join(';  ')}`);
  }
}

async function removalGain(model: ModelDenoiser) {
  const gains = [0.8, 1, 1.2, 1.4];
  console.log(`\n2. Held-out CT, PSNR (dB, inside the field of view, 3 draws) with the removal scaled by s = ${gains.join(', ')} and the card's guard after`);
  const raw = withInference(model, { noiseGuard: null, noiseGuardLocal: null });
  const { noiseGuard, noiseGuardScales, noiseGuardLocal } = model.card.inference;
  for (const source of CT_DEFAULT.heldOut) {
    const s = (await loadSeries(source.file))[0]!;
    const outside = outsideImage(s, 'CT') ?? new Uint8Array(s.values.length);
    const dataRange = valueRange(s.values);
    for (const [li, [label, spec]] of CT_NOISE.entries()) {
      const scores = gains.map(() => 0);
      for (let r = 0; r < 3; r++) {
        // bench:quality's draws (same seeds), so s = 1 repeats its model row.
        const noisy = keepOutside(addNoise(s.values, s.width, s.height, spec, new Rng(7000 + 100 * li + 37 * r)).noisy, s.values, outside);
        const removedBy = await raw.denoise({ values: noisy, width: s.width, height: s.height, mask: s.padding });
        gains.forEach((g, k) => {
          const out = noisy.map((v, i) => v - g * (v - removedBy[i]!));
          guardRemoval(noisy, out, s.width, s.height, s.padding ?? new Uint8Array(out.length), { factor: noiseGuard, scales: noiseGuardScales, local: noiseGuardLocal });
          for (let i = 0; i < out.length; i++) if (outside[i]) out[i] = s.values[i]!;
          scores[k]! += psnr(s.values, out, dataRange) / 3;
        });
      }
      console.log(`  ${source.file} ${label}: ${gains.map((g, k) => `s ${g}: ${scores[k]!.toFixed(2)}`).join('  ')}`);
    }
  }
}

async function repeatSigma(model: ModelDenoiser) {
  console.log('\n3. Real fMRI repeat (time point 1 denoised, scored against time point 2 in the head): RMS vs the repeat');
  const fmri = readNifti(path.join(ROOT, 'test', 'fixtures', 'nifti', 'fmri-example4d.nii.gz'));
  const first = Array.from({ length: fmri.slices }, (_, z) => fmri.slice(z, 0)), second = Array.from({ length: fmri.slices }, (_, z) => fmri.slice(z, 1));
  const volumeParams = fitNormalisation(model.card.preprocessing.normalisation, valueStats(first.map((values) => ({ values }))));
  // The shipped card weighs its removal by its risk estimate (SURE); the guard alone is the card before it.
  const guardOnly = withInference(model, { riskWeighting: false });
  const rows = {
    'σ read from each slice': new RepeatAccumulator(), 'told the repeat\'s σ (the app)': new RepeatAccumulator(),
    'guard alone, σ from the slice': new RepeatAccumulator(), 'guard alone, told the σ': new RepeatAccumulator(),
  };
  for (let z = 0; z < fmri.slices; z++) {
    const y1 = first[z]!, y2 = second[z]!;
    const mask = tissueMask(y1);
    if (mask.reduce((a, b) => a + b, 0) < 500) continue;
    const input = { values: y1, width: fmri.width, height: fmri.height, volumeParams };
    const noiseSigma = repeatSigmaWithout(first, second, z);
    rows['σ read from each slice'].add(y1, y2, await model.denoise(input), mask);
    rows['told the repeat\'s σ (the app)'].add(y1, y2, await model.denoise({ ...input, noiseSigma }), mask);
    rows['guard alone, σ from the slice'].add(y1, y2, await guardOnly.denoise(input), mask);
    rows['guard alone, told the σ'].add(y1, y2, await guardOnly.denoise({ ...input, noiseSigma }), mask);
  }
  for (const [key, acc] of Object.entries(rows)) {
    const r = acc.score();
    console.log(`  ${key.padEnd(32)} input ${r.inputRms.toFixed(2)}, output ${r.modelRms.toFixed(2)} (${r.modelRms <= r.inputRms ? 'not worse' : 'worse'} than the input)`);
  }
}

const backend = await initBackend();
console.log(`Limits of the shipped defaults — ${describeBackend(backend)}`);
const ct = await loadModelDenoiser(path.join(ROOT, 'models', 'ct-default'));
await flatTissue(ct);
await removalGain(ct);
const mr = await loadModelDenoiser(path.join(ROOT, 'models', 'mr-default'));
await repeatSigma(mr);
ct.dispose(); mr.dispose();
