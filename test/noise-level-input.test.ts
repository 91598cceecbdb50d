/**
 * Noise-level models (architecture.noiseMap, FFDNet-style): the readings they are given, a blind
 * model widened to take them, training with them (one thread and data-parallel), and the denoiser
 * passing each slice's own readings to the network.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src-main/model/backend.js';
import { buildModel, parseArchitecture, withNoiseLevelInput, type ArchitectureSpec } from '../src-main/model/architectures.js';
import { loadModelFolder, saveModelFolder } from '../src-main/model/model-io.js';
import { ModelDenoiser } from '../src-main/model/model-denoiser.js';
import { noiseLevelsOf } from '../src-main/model/noise-level-input.js';
import { fitNormalisation } from '../src-main/preprocess/normalise.js';
import { trainModel, type TrainingVolume } from '../src-main/model/train.js';
import type { ModelCardInput } from '../src-main/model/model-card.js';
import type { TrainConfigInput } from '../src-main/model/train-config.js';
import { noiseSigmaByScale } from '../src-main/preprocess/noise-level.js';
import { addNoise } from '../src-main/noise/models.js';
import { ctPhantomSlice, mrPhantomSlice } from '../src-main/noise/phantom.js';
import { Rng } from '../src-main/noise/rng.js';
import { defaultModelFor } from '../src-main/jobs/models/shipped-models.js';
import { fixture, tempDir } from './helpers.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import { keepOutside, outsideImage, physicalFrame } from '../src-main/dicom/physical.js';
import { inThreadHelper, maxWeightDifference } from './learns.js';

before(async () => { await initBackend({ force: 'wasm' }); });

const SIZE = 128;
const phantom = ctPhantomSlice(SIZE, 3, 8, 11, 'abdomen');

test('the readings tell white from correlated noise and measure its level', () => {
  const white = addNoise(phantom, SIZE, SIZE, { kind: 'gaussian', sigma: 20 }, new Rng(1)).noisy;
  const [fine, coarse] = noiseSigmaByScale(white, SIZE, SIZE, undefined, 2);
  // The coarse scale also sees some of the phantom's structure (a 64² binned image), never much.
  assert.ok(Math.abs(fine! - 20) < 2.5 && coarse! / fine! < 1.4, `white σ20 read ${fine}, ${coarse}`);
  const correlated = addNoise(phantom, SIZE, SIZE, { kind: 'correlated', sigma: 20, correlation: 1 }, new Rng(1)).noisy;
  const [cf, cc] = noiseSigmaByScale(correlated, SIZE, SIZE, undefined, 2);
  assert.ok(cc! > 3 * cf!, `correlated σ20: fine ${cf}, coarse ${cc}: the coarse scale sees the grain`);
  // A 4×4 binning needs a 32-pixel image: smaller ones repeat the last reading.
  const tiny = white.subarray(0, 20 * 20);
  const readings = noiseSigmaByScale(tiny, 20, 20, undefined, 3);
  assert.equal(readings.length, 3);
  assert.equal(readings[2], readings[1]);
});

test('the level is read inside the image: on a real lossy head CT, the outside of its reconstruction circle does not dilute it', async () => {
  // pydicom's 693_J2KI: 23 % of the slice lies outside the circle, left varying by the lossy codec.
  const s = physicalFrame(await readDicomImage(fixture('pydicom/693_J2KI.dcm')));
  const outside = outsideImage(s, 'CT');
  assert.ok(outside, 'the slice has an outside');
  const noisy = keepOutside(addNoise(s.values, s.width, s.height, { kind: 'gaussian', sigma: 25 }, new Rng(4)).noisy, s.values, outside);
  const params = { offset: -1100, scale: 4000, clipLow: -1100, clipHigh: 2900 };
  const [level] = noiseLevelsOf(noisy, s.width, s.height, s.padding, params, { scales: 1, gain: 50 });
  const sigma = (level! / 50) * 4000;
  assert.ok(Math.abs(sigma - 25) < 2, `read ${sigma} HU inside the image`);
  const diluted = noiseSigmaByScale(noisy, s.width, s.height, s.padding, 1)[0]!;
  assert.ok(diluted < 21, `over the whole slice it would read ${diluted}`);
});

test('a blind model given a noise-level input denoises exactly as before, whatever the level; a card that disagrees with the network is refused', async () => {
  // The MR default is blind (the CT default already takes the level).
  const blind = await loadModelFolder(defaultModelFor('MR'));
  const spec = { ...(blind.card.architecture as ArchitectureSpec), noiseMap: { scales: 2, gain: 10 } } as ArchitectureSpec;
  const wide = withNoiseLevelInput(blind.model, spec);
  assert.deepEqual(wide.inputs.map((i) => i.name.replace(/_\d+$/, '')), ['image', 'noise_level']);
  const noisy = addNoise(mrPhantomSlice(SIZE, 3, 8, 11), SIZE, SIZE, { kind: 'rician', sigma: 4, units: 'percent' }, new Rng(2)).noisy;
  const before = await ModelDenoiser.fromLoaded(blind).denoise({ values: noisy, width: SIZE, height: SIZE });
  const after = await ModelDenoiser.fromLoaded({ ...blind, model: wide, card: { ...blind.card, architecture: parseArchitecture(spec) } })
    .denoise({ values: noisy, width: SIZE, height: SIZE });
  let worst = 0;
  for (let i = 0; i < before.length; i++) worst = Math.max(worst, Math.abs(before[i]! - after[i]!));
  assert.ok(worst < 1e-4 * Math.max(...noisy), `the widened model differs by ${worst}`);
  assert.throws(() => withNoiseLevelInput(wide, spec), /already takes more than the image/);
  const { dir, cleanup } = tempDir();
  try {
    // The widened network saved under a card that calls it blind: refused by name when loaded.
    await saveModelFolder(wide, { ...blind.card, architecture: blind.card.architecture } as ModelCardInput, path.join(dir, 'mismatch'));
    await assert.rejects(loadModelFolder(path.join(dir, 'mismatch')), /mismatch.*exactly one input/s);
  } finally { cleanup(); blind.model.dispose(); wide.dispose(); }
  assert.throws(() => withNoiseLevelInput(buildModel({ kind: 'dncnn', depth: 4, width: 8 }), { kind: 'dncnn', depth: 5, width: 8, noiseMap: { scales: 2 } }), /not the same network/);
});

test('the denoiser gives the network each slice\'s own readings: a network that adds its level input shows it', async () => {
  // depth 3, width 1: relu(level) → identity → identity, added to the image: out = image + gain·σ/scale.
  const spec: ArchitectureSpec = { kind: 'dncnn', depth: 3, width: 1, noiseMap: { scales: 2, gain: 50 } };
  const model = buildModel(spec);
  const centre = (inChannels: number, pick: number) => { const k = new Float32Array(9 * inChannels); k[4 * inChannels + pick] = 1; return tf.tensor4d(k, [3, 3, inChannels, 1]); };
  const convs = model.layers.filter((l) => l.getClassName() === 'Conv2D');
  convs[0]!.setWeights([centre(3, 1), tf.zeros([1])]); // channel 1: the fine-scale level
  convs[1]!.setWeights([centre(1, 0), tf.zeros([1])]);
  convs[2]!.setWeights([centre(1, 0), tf.zeros([1])]);
  const card = {
    name: 'level-probe', version: '0.1.0', task: { modality: 'CT' }, architecture: parseArchitecture(spec),
    preprocessing: { normalisation: { kind: 'window', center: 40, width: 400, clip: false } },
    inference: { noiseGuard: null, noiseGuardScales: 2, noiseGuardLocal: null },
  } as unknown as ModelCardInput;
  const { dir, cleanup } = tempDir();
  try {
    await saveModelFolder(model, card, path.join(dir, 'probe'));
    const denoiser = ModelDenoiser.fromLoaded(await loadModelFolder(path.join(dir, 'probe')));
    for (const sigma of [5, 30]) {
      const noisy = addNoise(phantom, SIZE, SIZE, { kind: 'gaussian', sigma }, new Rng(3)).noisy;
      const out = await denoiser.denoise({ values: noisy, width: SIZE, height: SIZE });
      const fine = noiseSigmaByScale(noisy, SIZE, SIZE, undefined, 2)[0]!;
      // In HU: (out − in) = scale · gain · fine / scale = gain · fine.
      const shift = out[SIZE * 64 + 64]! - noisy[SIZE * 64 + 64]!;
      assert.ok(Math.abs(shift - 50 * fine) < 0.01 * 50 * fine, `σ${sigma}: shift ${shift} HU, expected ${50 * fine}`);
    }
    denoiser.dispose();
  } finally { cleanup(); model.dispose(); }
});

test('a noise-level model trains on one thread and data-parallel to the same weights, its levels reaching the helpers', async () => {
  const slices = Array.from({ length: 4 }, (_, i) => ({ values: ctPhantomSlice(96, i, 4, 21, 'chest'), width: 96, height: 96 }));
  const volume: TrainingVolume = { seriesId: 'phantom', modality: 'CT', slices };
  let levelsSeen = 0;
  const helper = inThreadHelper((shard) => { levelsSeen += shard.levels?.length ?? 0; });
  const config: TrainConfigInput = {
    architecture: { kind: 'dncnn', depth: 4, width: 8, noiseMap: { scales: 2, gain: 50 } }, patchSize: 32, batchSize: 8, stepsPerEpoch: 3, epochs: 1,
    noise: [{ kind: 'gaussian', sigma: { min: 5, max: 50 }, units: 'absolute' }], validation: { fraction: 0, patches: 0 },
    preprocessing: { normalisation: { kind: 'window', center: 40, width: 400 } }, optimizer: { kind: 'adam', learningRate: 1e-3 }, seed: 9,
  };
  const single = await trainModel(config, [volume]);
  const parallel = await trainModel(config, [volume], { gradientHelpers: [helper] });
  assert.equal(levelsSeen, 3 * 4 * 2, 'each step sent the helper its half of the batch\'s readings');
  const worst = maxWeightDifference(single.model, parallel.model);
  assert.ok(worst < 1e-5, `weights differ by ${worst}`);
  // The first kernel's level weights moved: the network was given, and used, the readings.
  const first = single.model.layers.find((l) => l.getClassName() === 'Conv2D')!.getWeights()[0]!;
  assert.deepEqual(first.shape, [3, 3, 3, 8]);
  assert.equal(single.card.architecture.kind === 'dncnn' && single.card.architecture.noiseMap?.scales, 2);
  single.model.dispose();
  parallel.model.dispose();
  await helper.dispose();
});

test('self-supervised training tells the network its input\'s level: the slice\'s reading, √(1 + α²) times it for recorrupted pairs', async () => {
  const values = addNoise(ctPhantomSlice(96, 2, 4, 31, 'abdomen'), 96, 96, { kind: 'correlated', sigma: 30, correlation: 1 }, new Rng(8)).noisy;
  const volume: TrainingVolume = { seriesId: 'one', modality: 'CT', slices: [{ values, width: 96, height: 96 }] };
  const spec = { scales: 2, gain: 50 };
  const params = fitNormalisation({ kind: 'window', center: 40, width: 400 });
  const expected = noiseLevelsOf(values, 96, 96, undefined, params, spec);
  for (const [mode, factor] of [['noise2void', 1], ['recorrupted', Math.hypot(1, 0.5)]] as const) {
    const seen: number[] = [];
    const helper = inThreadHelper((shard) => { seen.push(...shard.levels!); });
    const result = await trainModel({
      mode, architecture: { kind: 'dncnn', depth: 3, width: 4, noiseMap: spec }, patchSize: 32, batchSize: 4, stepsPerEpoch: 1, epochs: 1,
      validation: { fraction: 0, patches: 0 }, preprocessing: { normalisation: { kind: 'window', center: 40, width: 400 } }, seed: 3,
    }, [volume], { gradientHelpers: [helper] });
    assert.equal(seen.length, 2 * 2, mode);
    for (let k = 0; k < seen.length; k++) assert.ok(Math.abs(seen[k]! - expected[k % 2]! * factor) < 1e-5, `${mode}: level ${seen[k]} vs ${expected[k % 2]! * factor}`);
    result.model.dispose();
    await helper.dispose();
  }
});
