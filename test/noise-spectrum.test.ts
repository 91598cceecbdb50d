/**
 * A series' own noise, measured from the series alone, and Recorrupted-to-Recorrupted training on
 * it: what lets "Adapt to this series" learn noise the default never saw, without clean images.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../src-main/model/backend.js';
import { psnr } from '../src-main/model/metrics.js';
import { ModelDenoiser } from '../src-main/model/model-denoiser.js';
import { trainModel, type TrainingVolume } from '../src-main/model/train.js';
import { loadModelFolder } from '../src-main/model/model-io.js';
import type { LoadedModel } from '../src-main/model/model-artifacts.js';
import path from 'node:path';
import { ROOT } from './helpers.js';
import { addNoise, type NoiseSpec } from '../src-main/noise/models.js';
import { ctPhantomSlice } from '../src-main/noise/phantom.js';
import { Rng } from '../src-main/noise/rng.js';
import { estimateNoiseSpectrum } from '../src-main/preprocess/noise-spectrum.js';
import { filteredNoise } from '../src-main/shared/fft2d.js';

before(async () => { await initBackend({ force: 'wasm' }); });

/** Correlation of horizontally neighbouring values at lag d, normalised by the variance. */
function lagCorrelation(f: Float32Array, w: number, h: number, d: number): number {
  let a = 0, b = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w - d; x++) a += f[y * w + x]! * f[y * w + x + d]!;
  for (const v of f) b += v * v;
  return a / (h * (w - d)) / (b / f.length);
}

test('the noise spectrum of a series is measured from its flattest tissue: level and texture of white, correlated and FBP noise', () => {
  const clean = [0, 1, 2].map((i) => ctPhantomSlice(256, i, 3, 8, 'head', { anatomy: 'detailed' }));
  for (const spec of [{ kind: 'gaussian', sigma: 10 }, { kind: 'correlated', sigma: 25, correlation: 1.5 }, { kind: 'fbp', sigma: 20, kernel: 'smooth' }] as NoiseSpec[]) {
    const slices = clean.map((c, i) => ({ values: addNoise(c, 256, 256, spec, 10 + i).noisy, width: 256, height: 256 }));
    const measured = estimateNoiseSpectrum(slices, 64, -500);
    const sigma = (spec as { sigma: number }).sigma;
    assert.ok(Math.abs(measured.sigma - sigma) / sigma < 0.12, `${spec.kind}: σ ${measured.sigma.toFixed(2)} for ${sigma}`);
    // Noise drawn from the measurement has the series' texture (neighbour correlations).
    const truth = addNoise(new Float32Array(256 * 256), 256, 256, spec, 99).noisy;
    const rng = new Rng(3);
    const drawn = Array.from({ length: 16 }, () => filteredNoise(measured.amplitude, measured.size, 64, 64, () => rng.normal(), false));
    // Lag 1 within 0.08; the longest correlations come out somewhat short (choosing the flattest
    // regions also favours those where the noise's own low frequencies happened to be weak).
    const expected = lagCorrelation(truth, 256, 256, 1);
    const got = drawn.reduce((a, f) => a + lagCorrelation(f, 64, 64, 1), 0) / drawn.length;
    assert.ok(Math.abs(got - expected) < 0.08, `${spec.kind}: lag 1 correlation ${got.toFixed(3)} vs ${expected.toFixed(3)}`);
  }
  const air = [{ values: new Float32Array(128 * 128).fill(-1000), width: 128, height: 128 }];
  assert.throws(() => estimateNoiseSpectrum(air, 64, -500), /no 32×32 region of tissue/);
});

test('recorrupted fine-tuning adapts the CT default to correlated noise it was not trained for, from the noisy series alone', async () => {
  // Correlation length 2.5 px: longer than any in the default's training noise.
  const spec: NoiseSpec = { kind: 'correlated', sigma: 25, correlation: 2.5 };
  const clean = Array.from({ length: 7 }, (_, i) => ctPhantomSlice(256, i, 7, 21, 'head', { anatomy: 'detailed' }));
  const noisy = clean.map((c, i) => addNoise(c, 256, 256, spec, 300 + i).noisy);
  const volume: TrainingVolume = { seriesId: 'noisy', modality: 'CT', slices: noisy.slice(0, 6).map((values) => ({ values, width: 256, height: 256 })), source: 'phantom' };
  const init = await loadModelFolder(path.join(ROOT, 'models', 'ct-default'));
  const unguarded = (loaded: LoadedModel) => ModelDenoiser.fromLoaded({ ...loaded, card: { ...loaded.card, inference: { noiseGuard: null, noiseGuardScales: 2, noiseGuardLocal: null, riskWeighting: false, riskNoise: 'white', keepLowFrequencies: null } } });
  const score = async (loaded: LoadedModel) => psnr(clean[6]!, await unguarded(loaded).denoise({ values: noisy[6]!, width: 256, height: 256 }), 2000);
  const before = await score(init);
  const messages: string[] = [];
  const result = await trainModel({
    modality: 'CT', mode: 'recorrupted', recorrupted: { alpha: 0.5 },
    patchSize: 64, batchSize: 8, epochs: 4, stepsPerEpoch: 10, optimizer: { kind: 'adam', learningRate: 3e-4 },
    fineTune: { freezeLayers: 0, warmupSteps: 5 }, validation: { fraction: 0, patches: 0 }, earlyStopping: null, seed: 5,
  }, [volume], { init, onProgress: (e) => { if (e.type === 'message') messages.push(e.text); } });
  assert.ok(messages.some((m) => /noise measured in 1 series \(σ 2\d\.\d\)/.test(m)), messages.join('\n'));
  assert.equal(result.card.task.mode, 'recorrupted');
  const after = await score({ model: result.model, card: result.card as LoadedModel['card'], folder: 'memory' } as LoadedModel);
  // 40 steps: the CT default 1.0.2 gained more than 0.5 dB here; 1.1.0 (trained 20× longer) already
  // removes more of this noise, and 40 steps of recorrupted pairs gain it 0.44 dB.
  assert.ok(after > before + 0.3, `held-out slice: default ${before.toFixed(2)} dB → adapted ${after.toFixed(2)} dB`);
  if (result.model !== init.model) init.model.dispose();
  result.model.dispose();
});
