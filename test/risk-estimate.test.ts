/**
 * Knowing how much noise there is, and how much of a network's removal to keep: Stein's unbiased
 * risk estimate against the truth it cannot see, σ measured between repeat acquisitions, the
 * series logic that finds a repeat, and the MR default on a real fMRI repeat pair.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src-main/model/backend.js';
import { loadModelFolder } from '../src-main/model/model-io.js';
import { ModelDenoiser } from '../src-main/model/model-denoiser.js';
import { cropWindow, innerPixels, innerPixelsOfCrops, probeWindows, riskMinimisingWeight, riskSigma, unmeasuredForRisk } from '../src-main/model/risk-estimate.js';
import { keepOutside, outsideImage } from '../src-main/dicom/physical.js';
import { parseArchitecture, tilingNeeds } from '../src-main/model/architectures.js';
import { predictTiledMany } from '../src-main/model/tiling.js';
import type { ModelCard } from '../src-main/model/model-card.js';
import { repeatNoiseSigma } from '../src-main/preprocess/repeat-noise.js';
import { backgroundSigma, estimateNoiseSigma, flatTissueSigma, magnitudeNoiseSigma } from '../src-main/preprocess/noise-level.js';
import { addNoise } from '../src-main/noise/models.js';
import { fitNormalisation, valueStats } from '../src-main/preprocess/normalise.js';
import { mrPhantomSlice } from '../src-main/noise/phantom.js';
import { Rng } from '../src-main/noise/rng.js';
import { writeSyntheticSeries } from '../src-main/dicom/synthetic.js';
import { findSeries, readSeriesSlices, seriesLabel, type SeriesSlice } from '../src-main/jobs/series-source.js';
import { runEvaluateJob } from '../src-main/jobs/evaluate-job.js';
import { noiseFromRepeat, repeatStackOf, seriesContext } from '../src-main/jobs/series-context.js';
import { runDenoiseJob } from '../src-main/jobs/denoise-job.js';
import { readFileSync, writeFileSync } from 'node:fs';
import dicomParser from 'dicom-parser';
import { readNifti } from '../bench/lib/nifti.js';
import { RepeatAccumulator, repeatSigmaWithout, tissueMask } from '../bench/lib/real-noise.js';
import { ROOT, tempDir } from './helpers.js';

before(async () => { await initBackend({ force: 'wasm' }); });

const W = 96;
/** Anatomy-like texture at the pixel scale (what a 2 mm EPI brain has) on a smooth background. */
const textured = (amplitude: number, ramp = 2) => Float32Array.from({ length: W * W }, (_, i) => {
  const x = i % W, y = Math.floor(i / W);
  return 400 + ramp * x + amplitude * Math.sin(2.1 * x + 0.3 * y) * Math.cos(1.7 * y);
});
const withNoise = (clean: Float32Array, sigma: number, seed: number) => { const r = new Rng(seed); return clean.map((v) => v + sigma * r.normal()); };
const blur3 = (v: Float32Array) => Float32Array.from(v, (_, i) => {
  const x = i % W, y = Math.floor(i / W);
  let s = 0, n = 0;
  for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
    const xx = x + dx, yy = y + dy;
    if (xx >= 0 && yy >= 0 && xx < W && yy < W) { s += v[yy * W + xx]!; n++; }
  }
  return s / n;
});
const mse = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length;
const inner = (a: Float32Array, b: Float32Array) => {
  let s = 0, n = 0;
  a.forEach((v, i) => { const x = i % W, y = Math.floor(i / W); if (x > 2 && y > 2 && x < W - 3 && y < W - 3) { s += (v - b[i]!) ** 2; n++; } });
  return s / n;
};

test('the risk estimate keeps the share of a removal the truth would keep: most of it on noise, little of it on anatomy', () => {
  for (const [amplitude, sigma] of [[2, 20], [40, 8]] as const) {
    const clean = textured(amplitude), noisy = withNoise(clean, sigma, 5);
    const output = blur3(noisy);
    const rng = new Rng(9), probe = Float32Array.from(noisy, () => rng.normal()), epsilon = 0.1 * sigma;
    const perturbedOutput = blur3(noisy.map((v, i) => v + epsilon * probe[i]!));
    const { weight } = riskMinimisingWeight({ input: noisy, output, perturbedOutput, probe, epsilon, sigma, mask: new Uint8Array(W * W) });
    // The best share with the truth in hand: ⟨y − x, y − f⟩ / ‖y − f‖².
    let num = 0, den = 0;
    noisy.forEach((y, i) => { num += (y - clean[i]!) * (y - output[i]!); den += (y - output[i]!) ** 2; });
    const oracle = Math.min(1, Math.max(0, num / den));
    assert.ok(Math.abs(weight - oracle) < 0.06, `texture ${amplitude}, σ ${sigma}: weight ${weight.toFixed(3)}, oracle ${oracle.toFixed(3)}`);
    const kept = noisy.map((y, i) => y - weight * (y - output[i]!));
    assert.ok(mse(kept, clean) < mse(noisy, clean), `texture ${amplitude}: kept output is better than the input`);
    if (amplitude === 40) {
      assert.ok(weight < 0.3, `the blur removes anatomy: kept ${weight.toFixed(2)} of it`);
      assert.ok(mse(output, clean) > mse(noisy, clean), 'the raw blur is worse than its input here');
    } else {
      assert.ok(weight > 0.8, `on noise the blur is kept: ${weight.toFixed(2)}`);
    }
  }
});

test('the risk estimate leaves out padding, clipped values and a zeroed background', () => {
  const values = Float32Array.from({ length: 64 }, (_, i) => (i < 24 ? 0 : i === 40 ? 5000 : 100 + (i % 5)));
  const invalid = new Uint8Array(64); invalid[60] = 1;
  const skip = unmeasuredForRisk(values, 8, 8, invalid, { clipLow: -Infinity, clipHigh: 1000 });
  assert.equal(skip[9], 1, 'inside the zeroed background'); // row 1: all zero around it
  assert.equal(skip[40], 1, 'clipped');
  assert.equal(skip[60], 1, 'padding');
  assert.equal(skip[44], 0, 'tissue');
});

test('σ for the risk estimate is read inside the field of view: a lossy CT\'s border outside it does not pull σ down, and the weight on white noise stays near the truth\'s', async () => {
  // The real lossy head CT (J2K, a quarter of it outside the field of view, not flat there).
  const [series] = (await findSeries(path.join(ROOT, 'test', 'fixtures', 'dicom', 'pydicom', '693_J2KI.dcm'))).series;
  let slice: SeriesSlice | undefined;
  for await (const s of readSeriesSlices(series!)) slice = s;
  const { values: x, width, height } = slice!;
  const outside = outsideImage(slice!, 'CT');
  assert.ok(outside && outside.reduce((a, v) => a + v, 0) > 0.2 * x.length, 'a fifth or more of the slice lies outside the field of view');
  const y = keepOutside(addNoise(x, width, height, { kind: 'gaussian', sigma: 25 }, new Rng(7)).noisy, x, outside);
  const invalid = new Uint8Array(y.length);
  const clip = fitNormalisation({ kind: 'window', center: 900, width: 4000, clip: true });
  const whole = estimateNoiseSigma(y, width, height, invalid), inside = riskSigma(y, width, height, invalid, clip, false);
  assert.ok(whole < 0.85 * 25, `read over the whole slice σ ${whole.toFixed(1)}: the failure this guards against`);
  assert.ok(Math.abs(inside - 25) < 0.04 * 25, `inside the field of view σ ${inside.toFixed(1)} for 25`);
  // Through the model: the CT default with risk weighting keeps the share of its removal the truth
  // would keep (the weight minimising the true error inside the field of view). With σ read over
  // the whole slice it kept 0.56 where the truth kept 1.02 (the CT default 1.0.2).
  const loaded = await loadModelFolder(path.join(ROOT, 'models', 'ct-default'));
  loaded.card.inference.riskWeighting = true;
  const model = ModelDenoiser.fromLoaded(loaded);
  const out = await model.denoise({ values: y, width, height });
  const weight = model.lastRisk!.weight;
  model.dispose();
  const best = truthsWeight(x, y, out, weight, outside);
  assert.ok(Math.abs(weight - best) < 0.1, `weight ${weight.toFixed(3)} (truth's best ${best.toFixed(3)})`);
});

/** The share of the unweighted removal (y − out)/weight that minimises the true error outside `skip`. */
function truthsWeight(x: Float32Array, y: Float32Array, out: Float32Array, weight: number, skip: Uint8Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < x.length; i++) if (!skip[i]) { const r = (y[i]! - out[i]!) / weight; num += (y[i]! - x[i]!) * r; den += r * r; }
  return num / den;
}

test('correlated CT noise: weighed as white noise the removal is cut back (its grain reads as anatomy); weighed with the slice\'s own measured spectrum it is kept, as the truth would keep it', async () => {
  const [series] = (await findSeries(path.join(ROOT, 'test', 'fixtures', 'dicom', 'pydicom', '693_J2KI.dcm'))).series;
  let slice: SeriesSlice | undefined;
  for await (const s of readSeriesSlices(series!)) slice = s;
  const { values: x, width, height } = slice!;
  const outside = outsideImage(slice!, 'CT')!;
  const y = keepOutside(addNoise(x, width, height, { kind: 'correlated', sigma: 25, correlation: 1 }, new Rng(7)).noisy, x, outside);
  const weighed = async (riskNoise: 'white' | 'spectrum') => {
    const loaded = await loadModelFolder(path.join(ROOT, 'models', 'ct-default'));
    Object.assign(loaded.card.inference, { riskWeighting: true, riskNoise, noiseGuard: null, noiseGuardLocal: null });
    const model = ModelDenoiser.fromLoaded(loaded);
    const out = await model.denoise({ values: y, width, height });
    const weight = model.lastRisk!.weight;
    model.dispose();
    let err = 0, n = 0;
    for (let i = 0; i < x.length; i++) if (!outside[i]) { err += (out[i]! - x[i]!) ** 2; n++; }
    return { weight, rmse: Math.sqrt(err / n), best: truthsWeight(x, y, out, weight, outside) };
  };
  const [white, spectrum] = [await weighed('white'), await weighed('spectrum')];
  // The truth keeps most of the removal (1.0.2: 1.18 — more than all; 1.1.0: 0.71).
  assert.ok(spectrum.best > 0.6, `truth's best weight ${spectrum.best.toFixed(3)}`);
  assert.ok(white.weight < 0.5 * white.best, `white-noise weight ${white.weight.toFixed(3)} (truth's best ${white.best.toFixed(3)}): the correlated grain read as anatomy`);
  assert.ok(Math.abs(spectrum.weight - Math.min(1, spectrum.best)) < 0.15, `spectrum weight ${spectrum.weight.toFixed(3)} (truth's best ${spectrum.best.toFixed(3)})`);
  assert.ok(spectrum.rmse < 0.95 * white.rmse, `error ${spectrum.rmse.toFixed(2)} HU against ${white.rmse.toFixed(2)} HU weighed as white noise`);
});

test('the second pass reads four windows with enough context: their inner boxes get exactly the whole slice\'s output', async () => {
  const loaded = await loadModelFolder(path.join(ROOT, 'models', 'mr-default'));
  if (loaded.card.architecture.kind === 'imported') throw new Error('shipped MR model is a DnCNN');
  const tiling = tilingNeeds(parseArchitecture(loaded.card.architecture));
  const size = 256, image = mrPhantomSlice(size, 1, 3, 5).map((v) => v / 1000);
  const windows = probeWindows(size, size, tiling.margin);
  assert.equal(windows.length, 4);
  const innerArea = windows.reduce((a, w) => a + (w.inner.x1 - w.inner.x0) * (w.inner.y1 - w.inner.y0), 0);
  const cropArea = windows.reduce((a, w) => a + w.width * w.height, 0);
  assert.ok(innerArea >= 4 * 43 * 43 && cropArea < 0.3 * size * size, `inner ${innerArea}, crops ${cropArea} of ${size * size}`);
  const [whole] = await predictTiledMany(loaded.model, [image], size, size, { ...tiling, tile: 512 });
  const crops = await predictTiledMany(loaded.model, windows.map((w) => cropWindow(image, size, w)), windows[0]!.width, windows[0]!.height, { ...tiling, tile: 512 });
  const a = innerPixels(whole!, size, windows), b = innerPixelsOfCrops(crops, windows);
  let worst = 0;
  a.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - b[i]!)); });
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
  // A small slice (a 128×96 EPI) is read whole.
  assert.deepEqual(probeWindows(128, 96, 8), [{ x: 0, y: 0, width: 128, height: 96, inner: { x0: 0, y0: 0, x1: 128, y1: 96 } }]);
  loaded.model.dispose();
});

/** A network that blurs 3×3 — removes noise and anatomy alike — behind the denoiser. */
function blurDenoiser(riskWeighting: boolean): ModelDenoiser {
  const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [null, null, 1], filters: 1, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.constant({ value: 1 / 9 }) })] });
  const card = {
    name: 'blur', version: '0.1.0', task: { modality: 'MR' }, architecture: { kind: 'imported' },
    // 400 maps to 0: the convolution's zero padding then matches the flat slice around its border.
    preprocessing: { normalisation: { kind: 'window', center: 800, width: 800, clip: false }, imputation: { method: 'nearest' } },
    inference: { noiseGuard: null, noiseGuardScales: 1, noiseGuardLocal: null, riskWeighting },
  } as unknown as ModelCard;
  return ModelDenoiser.fromLoaded({ model, card, folder: 'blur' });
}

test('a model card with risk weighting, told σ, keeps a blurring network from making a textured low-noise slice worse, and still lets it clean a noisy one', async () => {
  const [plain, weighted] = [blurDenoiser(false), blurDenoiser(true)];
  for (const [amplitude, sigma] of [[40, 6], [2, 25]] as const) {
    const clean = textured(amplitude, 0), noisy = withNoise(clean, sigma, 7);
    const input = { values: noisy, width: W, height: W };
    const [raw, kept] = [await plain.denoise(input), await weighted.denoise(input)];
    const told = await weighted.denoise({ ...input, noiseSigma: sigma });
    const msg = `texture ${amplitude}, σ ${sigma}: input ${mse(noisy, clean).toFixed(1)}, raw ${mse(raw, clean).toFixed(1)}, weighted ${mse(kept, clean).toFixed(1)}, told σ ${mse(told, clean).toFixed(1)}`;
    if (amplitude === 40) {
      assert.ok(mse(raw, clean) > 2 * mse(noisy, clean), msg);
      assert.ok(mse(told, clean) < mse(noisy, clean), msg);
      // Read from the slice alone, texture at the pixel scale passes for noise: no better than the raw blur, never worse.
      assert.ok(mse(kept, clean) <= mse(raw, clean) + 1e-3, msg);
    } else {
      // (The zero-padded blur darkens the slice's border: scored inside it.)
      assert.ok(inner(kept, clean) < 0.5 * inner(noisy, clean) && inner(kept, clean) < 1.2 * inner(raw, clean), `${msg}; inside: input ${inner(noisy, clean).toFixed(1)}, raw ${inner(raw, clean).toFixed(1)}, weighted ${inner(kept, clean).toFixed(1)}`);
    }
    assert.ok(weighted.lastRisk && weighted.lastRisk.weight >= 0 && weighted.lastRisk.weight <= 1);
  }
  plain.dispose();
});

test('the flattest-tissue reading gives white noise its σ at any slice size; a magnitude image is read over its signal and in its air', () => {
  for (const size of [96, 256, 512]) {
    const r = new Rng(size), noise = Float32Array.from({ length: size * size }, () => 500 + 10 * r.normal());
    const read = flatTissueSigma(noise, size, size);
    assert.ok(Math.abs(read - 10) < 0.5, `${size}²: reads ${read.toFixed(2)}`);
  }
  // An MR phantom with Rician noise: its dark background does not pull the reading down.
  const clean = mrPhantomSlice(256, 1, 3, 9);
  let hi = 0;
  for (const v of clean) hi = Math.max(hi, v);
  const noisy = addNoise(clean, 256, 256, { kind: 'rician', sigma: 4, units: 'percent' }, 3).noisy;
  const sigma = 0.04 * hi, read = magnitudeNoiseSigma(noisy, 256, 256);
  assert.ok(Math.abs(read - sigma) < 0.12 * sigma && estimateNoiseSigma(noisy, 256, 256) < read, `reads ${read.toFixed(2)} for σ ${sigma.toFixed(2)} (whole slice: ${estimateNoiseSigma(noisy, 256, 256).toFixed(2)})`);
  // Its air is Rayleigh noise of the same σ: the background reading finds it; a zeroed background gives none.
  const background = backgroundSigma(noisy, 256, 256);
  assert.ok(Math.abs(background - sigma) < 0.06 * sigma, `background reads ${background.toFixed(2)} for σ ${sigma.toFixed(2)}`);
  assert.equal(backgroundSigma(clean, 256, 256), 0);
  // The real diffusion b=0 volume: its anatomy lifts the signal's readings (17 over its flattest
  // tissue), not its air's — which sets the σ the model is told.
  const dwi = readNifti(path.join(ROOT, 'test', 'fixtures', 'nifti', 'dwi-b0-S0_10slices.nii.gz'));
  const b0 = dwi.slice(5), air = backgroundSigma(b0, dwi.width, dwi.height);
  assert.ok(air > 10 && air < 17, `b=0 background σ ${air.toFixed(2)}`);
  assert.equal(magnitudeNoiseSigma(b0, dwi.width, dwi.height), air);
});

test('σ from a repeat pair: integer data, a little motion and a zeroed background do not bias it', () => {
  const clean = mrPhantomSlice(128, 1, 3, 7);
  let hi = 0;
  for (const v of clean) hi = Math.max(hi, v);
  const sigma = 0.012 * hi;
  const pairs = [0, 1, 2].map((k) => {
    const a = withNoise(clean, sigma, 10 + k).map(Math.round), b = withNoise(clean, sigma, 20 + k).map(Math.round);
    for (let i = 0; i < 200; i++) b[4000 + i] = b[4000 + i]! + 300; // a few pixels that moved
    clean.forEach((v, i) => { if (v < 0.05 * hi) { a[i] = 0; b[i] = 0; } }); // masked background
    return { first: a, second: b };
  });
  const measured = repeatNoiseSigma(pairs, { backgroundFraction: 0.1 })!;
  assert.ok(Math.abs(measured - sigma) < 0.04 * sigma, `measured ${measured.toFixed(3)}, true ${sigma.toFixed(3)}`);
  // The second acquisition a little brighter throughout (drift): the same σ.
  const drifted = repeatNoiseSigma(pairs.map((p) => ({ first: p.first, second: p.second.map((v) => (v > 0 ? v + 0.5 * sigma : v)) })), { backgroundFraction: 0.1 })!;
  assert.ok(Math.abs(drifted - measured) < 0.02 * sigma, `with drift ${drifted.toFixed(3)} vs ${measured.toFixed(3)}`);
  assert.equal(repeatNoiseSigma([{ first: new Float32Array(10), second: new Float32Array(10) }]), undefined, 'too little to compare');
});

test('a series with time points is measured against its neighbour in time; the denoise job gives the model that σ and says so', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const size = 96, sigma = 9, slices = 4;
    // Lifted off zero: no value is clipped when stored, so an evaluation and a written series compare.
    const clean = Array.from({ length: slices }, (_, i) => mrPhantomSlice(size, i, slices, 31).map((v) => v + 200));
    const noisy = Array.from({ length: 3 }, (_, t) => clean.map((c, i) => withNoise(c, sigma, 100 * t + i)));
    await writeSyntheticSeries(slices, (i, t) => noisy[t]![i]!, { outDir: path.join(dir, 'fmri'), modality: 'MR', rows: size, columns: size, pixelSpacing: 2, sliceSpacing: 2.2, seriesDescription: 'phantom run', timePoints: 3 });
    const found = await findSeries(path.join(dir, 'fmri'));
    assert.equal(found.series.length, 3, 'one stack per time point');
    const [t1, t2, t3] = ['time 1', 'time 2', 'time 3'].map((label) => found.series.find((s) => s.acquisition === label)!);
    assert.equal(repeatStackOf(t1!, found.series), t2, 'time 1 pairs with time 2');
    assert.equal(repeatStackOf(t3!, found.series), t2, 'time 3 pairs with time 2, not 1');
    const repeat = await noiseFromRepeat(t1!, found.series);
    assert.ok(repeat && Math.abs(repeat.sigma - sigma) < 0.06 * sigma, `σ ${repeat?.sigma} against ${repeat?.against}`);
    assert.equal(repeat.against, 'time 2');
    // A single stack (or one of another geometry) has no repeat.
    assert.equal(repeatStackOf({ ...t1!, acquisition: undefined }, found.series), undefined);
    assert.equal(repeatStackOf(t1!, [t1!, { ...t2!, rows: 64 }]), undefined);

    const result = await runDenoiseJob({ input: path.join(dir, 'fmri'), outDir: path.join(dir, 'out'), seriesUids: [t1!.seriesInstanceUid], workers: 1 });
    assert.equal(result.failed.length, 0, JSON.stringify(result.failed));
    assert.equal(result.series.length, 1, 'the three time points are one derived series, as they were one series');
    const written = result.series[0]!;
    assert.equal(written.slices, 3 * slices);
    const outStacks = (await findSeries(written.output)).series;
    assert.deepEqual(outStacks.map((s) => s.acquisition), ['time 1', 'time 2', 'time 3'], 'the result keeps its source\'s stacks');
    const out = outStacks[0]!;
    // Each time point's images say what was done to them: time 1 measured against time 2.
    const ds = dicomParser.parseDicom(new Uint8Array(readFileSync(out.slices[0]!.file)));
    const derivation = ds.string('x00082111') ?? '';
    assert.match(derivation, /noise sigma (8\.[5-9]\d*|9\.[0-4]\d*) measured against time 2/);
    assert.ok(written.derivation.includes(`time 1: ${derivation}`), `the result says what each stack says: ${written.derivation}`);
    // It also says how much of its removal the model kept: the mean of what the model, run
    // directly on the same slices with the same context, reports per slice.
    const keptPct = Number(/, (\d+) % of its removal kept by its risk estimate/.exec(derivation)?.[1]);
    const mr = ModelDenoiser.fromLoaded(await loadModelFolder(path.join(ROOT, 'models', 'mr-default')));
    const context = await seriesContext({ kind: 'model', folder: path.join(ROOT, 'models', 'mr-default') }, t1!, found.series);
    const shares: number[] = [];
    for await (const s of readSeriesSlices(t1!)) {
      const out = await mr.denoise({ values: s.values, width: s.width, height: s.height, mask: s.padding, volumeParams: context.volumeParams, noiseSigma: context.repeatNoise?.sigma });
      shares.push(mr.keptShare(out)!);
    }
    mr.dispose();
    assert.ok(shares.every((v) => v > 0 && v <= 1), `shares ${shares}`);
    assert.equal(keptPct, Math.round((100 * shares.reduce((a, v) => a + v, 0)) / shares.length), derivation);
    let inErr = 0, outErr = 0, n = 0;
    for await (const s of readSeriesSlices(out)) {
      const c = clean[s.index]!, y = noisy[0]![s.index]!;
      for (let i = 0; i < c.length; i++) { if (c[i]! < 300) continue; inErr += (y[i]! - c[i]!) ** 2; outErr += (s.values[i]! - c[i]!) ** 2; n++; }
    }
    assert.ok(outErr < inErr, `denoised error ${Math.sqrt(outErr / n).toFixed(2)} vs input ${Math.sqrt(inErr / n).toFixed(2)}`);

    // Evaluating the same series against its clean slices scores what the denoise run wrote (the
    // same volume statistics and repeat σ), up to the rounding to stored integers.
    await writeSyntheticSeries(slices, (i) => clean[i]!, { outDir: path.join(dir, 'clean'), modality: 'MR', rows: size, columns: size, pixelSpacing: 2, sliceSpacing: 2.2, seriesDescription: 'phantom clean' });
    const evaluated = await runEvaluateJob({ reference: path.join(dir, 'clean'), input: path.join(dir, 'fmri'), seriesUids: [t1!.seriesInstanceUid], method: { kind: 'model', folder: path.join(ROOT, 'models', 'mr-default') }, dataRange: 1000, workers: 1 });
    assert.equal(evaluated.pairs[0]!.input, seriesLabel(found.series[0]!));
    let sq = 0, count = 0;
    for await (const s of readSeriesSlices(out)) for (let i = 0; i < s.values.length; i++) { sq += (s.values[i]! - clean[s.index]![i]!) ** 2; count++; }
    const writtenPsnr = 10 * Math.log10(1000 ** 2 / (sq / count));
    assert.ok(Math.abs(evaluated.pairs[0]!.denoisedQuality!.psnr - writtenPsnr) < 0.03, `evaluated ${evaluated.pairs[0]!.denoisedQuality!.psnr.toFixed(3)} dB, written ${writtenPsnr.toFixed(3)} dB`);

    // A repeat whose pixels cannot be decoded: its own run fails and says why; the series it
    // would have measured is still denoised, σ read from its own slices.
    const broken = t2!.slices[1]!.file, bytes = readFileSync(broken);
    writeFileSync(broken, bytes.subarray(0, bytes.length - 4000));
    const again = await runDenoiseJob({ input: path.join(dir, 'fmri'), outDir: path.join(dir, 'out2'), seriesUids: [t1!.seriesInstanceUid], workers: 1 });
    assert.equal(again.failed.length, 1, JSON.stringify(again.failed));
    assert.match(again.failed[0]!.error, new RegExp(`^time 2: .*${path.basename(broken)}`), 'the failure names the stack and the file');
    assert.equal(again.series.length, 1);
    assert.equal(again.series[0]!.slices, 2 * slices, 'the two other time points are written');
    assert.deepEqual((await findSeries(again.series[0]!.output)).series.map((s) => s.acquisition), ['time 1', 'time 3']);
    assert.doesNotMatch(again.series[0]!.derivation, /measured against time 2/);
  } finally { cleanup(); }
});

test('real fMRI repeat: the MR default, told the σ measured from the other slices\' repeat, is not worse than its input', async () => {
  const mr = ModelDenoiser.fromLoaded(await loadModelFolder(path.join(ROOT, 'models', 'mr-default')));
  assert.ok(mr.card.inference.riskWeighting, 'the shipped MR card weighs its removal by the risk estimate');
  const fmri = readNifti(path.join(ROOT, 'test', 'fixtures', 'nifti', 'fmri-example4d.nii.gz'));
  const first = Array.from({ length: fmri.slices }, (_, z) => fmri.slice(z, 0)), second = Array.from({ length: fmri.slices }, (_, z) => fmri.slice(z, 1));
  const volumeParams = fitNormalisation(mr.card.preprocessing.normalisation, valueStats(first.map((values) => ({ values }))));
  const told = new RepeatAccumulator(), alone = new RepeatAccumulator();
  for (let z = 0; z < fmri.slices; z++) {
    const mask = tissueMask(first[z]!);
    if (mask.reduce((a, b) => a + b, 0) < 500) continue;
    const noiseSigma = repeatSigmaWithout(first, second, z);
    const input = { values: first[z]!, width: fmri.width, height: fmri.height, volumeParams };
    told.add(first[z]!, second[z]!, await mr.denoise({ ...input, noiseSigma }), mask);
    alone.add(first[z]!, second[z]!, await mr.denoise(input), mask);
  }
  const [a, b] = [told.score(), alone.score()];
  assert.ok(a.modelRms <= a.inputRms, `told the repeat's σ: RMS vs the repeat ${a.modelRms.toFixed(2)}, input ${a.inputRms.toFixed(2)}`);
  // From one image alone its fine anatomy still passes for some noise: a little worse, far from the 22.7 of the guard alone.
  assert.ok(b.modelRms < 1.1 * b.inputRms, `alone: ${b.modelRms.toFixed(2)} vs input ${b.inputRms.toFixed(2)}`);
  // The Laplacian's median reads the EPI's anatomy as noise (> 1.5× the repeat's σ); the flattest tissue much less so.
  const repeat = repeatNoiseSigma([{ first: first[12]!, second: second[12]! }], { backgroundFraction: 0.1 })!;
  assert.ok(estimateNoiseSigma(first[12]!, fmri.width, fmri.height) > 1.5 * repeat);
  assert.ok(magnitudeNoiseSigma(first[12]!, fmri.width, fmri.height) < 1.7 * repeat, `${magnitudeNoiseSigma(first[12]!, fmri.width, fmri.height)} vs ${repeat}`);
  mr.dispose();
});

test('real fMRI volumes told apart only by Acquisition Number (as Siemens writes them) are found as repeats and measured as with time points; CT acquisitions are split but not paired', async () => {
  const fmri = readNifti(path.join(ROOT, 'test', 'fixtures', 'nifti', 'fmri-example4d.nii.gz'));
  const { dir, cleanup } = tempDir();
  try {
    const write = (name: string, repeatTag: 'temporal-position' | 'acquisition-number', modality: 'MR' | 'CT' = 'MR') => writeSyntheticSeries(fmri.slices, (z, t) => fmri.slice(z, t),
      { outDir: path.join(dir, name), modality, rows: fmri.height, columns: fmri.width, pixelSpacing: 2, sliceSpacing: 2.5, seriesDescription: 'fMRI run', timePoints: 2, repeatTag });
    await write('siemens', 'acquisition-number');
    await write('philips', 'temporal-position');
    const siemens = (await findSeries(path.join(dir, 'siemens'))).series, philips = (await findSeries(path.join(dir, 'philips'))).series;
    assert.deepEqual(siemens.map((s) => [s.acquisition, s.slices.length]), [['acquisition 1', fmri.slices], ['acquisition 2', fmri.slices]]);
    assert.ok(siemens.every((s) => !s.problems.some((p) => p.kind === 'duplicate')));
    assert.equal(repeatStackOf(siemens[0]!, siemens), siemens[1]);
    const [bySiemens, byPhilips] = [await noiseFromRepeat(siemens[0]!, siemens), await noiseFromRepeat(philips[0]!, philips)];
    assert.equal(bySiemens?.against, 'acquisition 2');
    assert.equal(bySiemens?.sigma, byPhilips?.sigma, 'the same pixels give the same σ whichever tag tells the volumes apart');
    // The pair's difference says ≈ 8.4 (bench:limits); one image's reading says 12–25.
    assert.ok(bySiemens!.sigma > 7.5 && bySiemens!.sigma < 9.5, `σ ${bySiemens!.sigma}`);
    // Two CT acquisitions at one position are contrast phases, not repeats: never interleaved, never paired.
    await write('ct', 'acquisition-number', 'CT');
    const ct = (await findSeries(path.join(dir, 'ct'))).series;
    assert.deepEqual(ct.map((s) => s.acquisition), ['acquisition 1', 'acquisition 2']);
    assert.equal(repeatStackOf(ct[0]!, ct), undefined);
  } finally { cleanup(); }
});
