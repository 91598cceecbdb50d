/**
 * The renderer's training form: every preset becomes a config the engine's schema accepts, with
 * the values the form shows; a bad field comes back named, through the same check the UI calls.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DenoiseStudioService } from '../src-main/api/service.js';
import { parseTrainConfig } from '../src-main/model/train-config.js';
import { applyPreset, buildTrainConfig, DEFAULT_FORM, FORM_PRESETS, noiseDefaults, parseList } from '../src-renderer/src/lib/train-form.js';
import { tempDir } from './helpers.js';
import path from 'node:path';

const CT_PRE = { normalisation: { kind: 'window', center: 40, width: 500, clip: false }, imputation: { method: 'nearest' } };

test('every preset builds a valid training config that keeps the form values', () => {
  for (const key of Object.keys(FORM_PRESETS)) {
    const form = applyPreset(DEFAULT_FORM, key);
    const config = parseTrainConfig(buildTrainConfig(form, 'CT', CT_PRE), key);
    assert.equal(config.architecture.kind, form.arch, key);
    assert.equal(config.epochs, form.epochs);
    assert.equal(config.batchSize, form.batchSize);
    assert.equal(config.optimizer.learningRate, form.learningRate);
    assert.equal(config.schedule.kind, form.schedule);
    assert.deepEqual(config.preprocessing.normalisation, CT_PRE.normalisation);
  }
  const dncnn = parseTrainConfig(buildTrainConfig(applyPreset(DEFAULT_FORM, 'dncnn-17x64'), 'CT', CT_PRE));
  assert.deepEqual([dncnn.architecture.kind, (dncnn.architecture as { depth: number }).depth, dncnn.architecture.batchNorm], ['dncnn', 17, true]);
  assert.deepEqual(dncnn.schedule, { kind: 'step', every: 30, factor: 0.1 });
  const smooth = parseTrainConfig(buildTrainConfig(applyPreset(DEFAULT_FORM, 'unet-3-smooth'), 'CT', CT_PRE)).architecture as { pooling: string; upsampling: string };
  assert.deepEqual([smooth.pooling, smooth.upsampling], ['average', 'bilinear']);
  // Back to the plain U-Net preset: the scaling fields follow it (no smooth settings left over).
  const plain = parseTrainConfig(buildTrainConfig(applyPreset(applyPreset(DEFAULT_FORM, 'unet-3-smooth'), 'unet-3'), 'CT', CT_PRE)).architecture as { pooling: string; upsampling: string };
  assert.deepEqual([plain.pooling, plain.upsampling], ['max', 'nearest']);
});

test('form fields map onto the engine config: schedules, noise kinds, early stopping, MR noise', () => {
  const exp = parseTrainConfig(buildTrainConfig({ ...DEFAULT_FORM, schedule: 'exponential', scheduleEpochs: 50, scheduleValue: 0.01, patience: 0 }, 'CT', CT_PRE));
  assert.deepEqual(exp.schedule, { kind: 'exponential', startEpoch: 50, rate: 0.01 });
  assert.equal(exp.earlyStopping, null);
  const mr = parseTrainConfig(buildTrainConfig({ ...DEFAULT_FORM, ...noiseDefaults('MR') }, 'MR', CT_PRE));
  assert.deepEqual(mr.noise[0], { kind: 'rician', sigma: { min: 1, max: 10, distribution: 'log-uniform' }, units: 'percent' });
  const linear = parseTrainConfig(buildTrainConfig({ ...DEFAULT_FORM, noiseLog: false }, 'CT', CT_PRE));
  assert.deepEqual(linear.noise[0], { kind: 'gaussian', sigma: { min: 5, max: 50 }, units: 'absolute' });
  assert.equal(mr.modality, 'MR');
  const poisson = parseTrainConfig(buildTrainConfig({ ...DEFAULT_FORM, noiseKind: 'poisson', noiseMin: 1e4, noiseMax: 1e5 }, 'CT', CT_PRE));
  assert.deepEqual(poisson.noise[0], { kind: 'poisson', photons: { min: 1e4, max: 1e5, distribution: 'log-uniform' }, waterPathAttenuation: 3.8 });
  const ae = parseTrainConfig(buildTrainConfig({ ...DEFAULT_FORM, arch: 'conv-ae', filters: '16, 32,64', bottleneck: 8 }, 'CT', CT_PRE));
  assert.deepEqual((ae.architecture as { filters: number[] }).filters, [16, 32, 64]);
  assert.deepEqual(parseList('8, x'), [8, NaN]);
  assert.equal(parseTrainConfig(buildTrainConfig(DEFAULT_FORM, 'CT', CT_PRE)).lossWeighting, 'uniform');
  assert.equal(parseTrainConfig(buildTrainConfig({ ...DEFAULT_FORM, lossWeighting: 'noise-level' }, 'CT', CT_PRE)).lossWeighting, 'noise-level');
  assert.equal(parseTrainConfig(buildTrainConfig({ ...DEFAULT_FORM, lossWeighting: 'noise-sd' }, 'CT', CT_PRE)).lossWeighting, 'noise-sd');
});

test('the live check names the bad field, and summarises a valid run', async () => {
  const work = tempDir();
  const service = new DenoiseStudioService({ database: path.join(work.dir, 'catalog.sqlite') });
  try {
    const bad = await service.checkTrainConfig({ config: buildTrainConfig({ ...DEFAULT_FORM, depth: 99 }, 'CT', CT_PRE) });
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.error : '', /architecture\.depth/);
    const badList = await service.checkTrainConfig({ config: buildTrainConfig({ ...DEFAULT_FORM, arch: 'conv-ae', filters: '16, x' }, 'CT', CT_PRE) });
    assert.match(!badList.ok ? badList.error : '', /architecture\.filters\.1/);
    const good = await service.checkTrainConfig({ config: buildTrainConfig({ ...DEFAULT_FORM, epochs: 3, stepsPerEpoch: 5, batchSize: 4 }, 'CT', CT_PRE) });
    assert.ok(good.ok);
    assert.equal(good.patches, 60);
    assert.equal(good.receptiveField, 17); // DnCNN depth 8, 3×3 kernels
    assert.match(good.summary, /DnCNN 8×32, supervised; 3 epochs × 5 steps × 4 patches = 60 patches; receptive field 17 px/);
    const dilated = await service.checkTrainConfig({ config: buildTrainConfig({ ...applyPreset(DEFAULT_FORM, 'dncnn-8x32-dilated'), epochs: 3, stepsPerEpoch: 5, batchSize: 4 }, 'CT', CT_PRE) });
    assert.ok(dilated.ok);
    assert.equal(dilated.receptiveField, 35); // 1 + 2·(1 + 2 + 3 + 4 + 3 + 2 + 1 + 1)
    assert.match(dilated.summary, /DnCNN 8×32, dilations 2,3,4,3,2,1, supervised/);
    const sub = await service.checkTrainConfig({ config: buildTrainConfig({ ...applyPreset(DEFAULT_FORM, 'dncnn-10x48-s2'), epochs: 3, stepsPerEpoch: 5, batchSize: 4 }, 'CT', CT_PRE) });
    assert.ok(sub.ok);
    assert.match(sub.summary, /DnCNN 10×48, on 2×2 sub-images, supervised/);
    assert.equal(sub.receptiveField, 45); // 2 · 2 · (10 + 1) + 1: each sub-image pixel stands for a 2×2 block
    const subTold = await service.checkTrainConfig({ config: buildTrainConfig({ ...applyPreset(DEFAULT_FORM, 'dncnn-10x48-s2'), noiseLevelInput: true }, 'CT', CT_PRE) });
    assert.match(!subTold.ok ? subTold.error : '', /field 'architecture\.downscale': a downscaled DnCNN takes no noise map/);
    const subOdd = await service.checkTrainConfig({ config: buildTrainConfig({ ...applyPreset(DEFAULT_FORM, 'dncnn-10x48-s2'), patchSize: 63 }, 'CT', CT_PRE) });
    assert.match(!subOdd.ok ? subOdd.error : '', /field 'patchSize': 63 is not a multiple of architecture\.downscale 2/);
    const told = await service.checkTrainConfig({ config: buildTrainConfig({ ...DEFAULT_FORM, noiseLevelInput: true, epochs: 3, stepsPerEpoch: 5, batchSize: 4 }, 'CT', CT_PRE) });
    assert.ok(told.ok);
    assert.match(told.summary, /DnCNN 8×32, told the noise level \(2 scales\), supervised/);
    const denseTold = buildTrainConfig({ ...DEFAULT_FORM, arch: 'dense', noiseLevelInput: true }, 'CT', CT_PRE) as { architecture: Record<string, unknown> };
    assert.equal(denseTold.architecture.noiseMap, undefined, 'a dense model takes no noise level');
    const unet = await service.checkTrainConfig({ config: buildTrainConfig(applyPreset(DEFAULT_FORM, 'unet-3-smooth'), 'CT', CT_PRE) });
    assert.match(unet.ok ? unet.summary : '', /U-Net 3 levels × 16, average pooling, bilinear upsampling, supervised/);
    assert.equal(unet.ok && unet.receptiveField, 2 * 72 + 1); // encoder, decoder and bilinear footprints, rounded up to the 8-pixel grid
    const weighted = await service.checkTrainConfig({ config: buildTrainConfig({ ...DEFAULT_FORM, lossWeighting: 'noise-sd' }, 'CT', CT_PRE) });
    assert.match(weighted.ok ? weighted.summary : '', /DnCNN 8×32, supervised, loss ÷ noise σ; /);
    const wrongCount = await service.checkTrainConfig({ config: buildTrainConfig({ ...DEFAULT_FORM, dilations: '2, 3' }, 'CT', CT_PRE) });
    assert.match(!wrongCount.ok ? wrongCount.error : '', /field 'architecture\.dilations': needs one dilation per hidden layer: 6 for depth 8, got 2/);
  } finally {
    service.close();
    work.cleanup();
  }
});
