/**
 * Our WASM convolution gradients (expressed as forward convolutions) equal the JS backend's
 * reference gradients, for several kernel sizes, paddings and channel counts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src-main/model/backend.js';
import { Rng } from '../src-main/noise/rng.js';

function randomArray(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

async function gradsOn(backend: string, xs: Float32Array, ws: Float32Array, dys: Float32Array,
  xShape: [number, number, number, number], wShape: [number, number, number, number], pad: 'same' | 'valid') {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, xShape), w = tf.tensor4d(ws, wShape);
    const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.conv2d(a, b, 1, pad);
    const y = f(x, w);
    const dy = tf.tensor(dys, y.shape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a as tf.Tensor4D, b as tf.Tensor4D))([x, w], dy);
    return { dx: dx!.dataSync() as Float32Array, dw: dw!.dataSync() as Float32Array, yShape: y.shape };
  });
}

test('WASM Conv2D gradients equal the JS backend within float32 noise', async () => {
  const report = await initBackend({ force: 'wasm' });
  assert.equal(report.name, 'wasm');
  const rng = new Rng(3);
  const cases: { x: [number, number, number, number]; k: number; cin: number; cout: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 17, 13, 1], k: 3, cin: 1, cout: 8, pad: 'same' },
    { x: [3, 16, 16, 8], k: 3, cin: 8, cout: 8, pad: 'same' },
    { x: [1, 12, 15, 4], k: 5, cin: 4, cout: 2, pad: 'same' },
    { x: [2, 11, 11, 3], k: 3, cin: 3, cout: 5, pad: 'valid' },
    { x: [1, 10, 9, 2], k: 4, cin: 2, cout: 3, pad: 'same' }, // even kernel: asymmetric padding
  ];
  for (const c of cases) {
    const wShape: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
    const xs = randomArray(c.x.reduce((a, b) => a * b), rng);
    const ws = randomArray(wShape.reduce((a, b) => a * b), rng);
    const outH = c.pad === 'same' ? c.x[1] : c.x[1] - c.k + 1, outW = c.pad === 'same' ? c.x[2] : c.x[2] - c.k + 1;
    const dys = randomArray(c.x[0] * outH * outW * c.cout, rng);
    const ref = await gradsOn('cpu', xs, ws, dys, c.x, wShape, c.pad);
    const got = await gradsOn('wasm', xs, ws, dys, c.x, wShape, c.pad);
    for (const key of ['dx', 'dw'] as const) {
      assert.equal(got[key].length, ref[key].length);
      let worst = 0, scale = 0;
      for (let i = 0; i < ref[key].length; i++) {
        worst = Math.max(worst, Math.abs(got[key][i]! - ref[key][i]!));
        scale = Math.max(scale, Math.abs(ref[key][i]!));
      }
      assert.ok(worst <= 1e-4 * Math.max(1, scale), `${JSON.stringify(c)} ${key}: max error ${worst} (scale ${scale})`);
    }
  }
  await tf.setBackend('wasm');
});

test('a training step on WASM leaves no tensors behind and lowers the loss', async () => {
  await initBackend({ force: 'wasm' });
  await tf.setBackend('wasm');
  const rng = new Rng(1);
  const w = tf.variable(tf.tensor4d(randomArray(9 * 4, rng).map((v) => v * 0.1), [3, 3, 1, 4]));
  const w2 = tf.variable(tf.tensor4d(randomArray(9 * 4, rng).map((v) => v * 0.1), [3, 3, 4, 1]));
  const x = tf.tensor4d(randomArray(4 * 16 * 16, rng), [4, 16, 16, 1]);
  const target = tf.tidy(() => tf.mul(x, 0.5));
  const opt = tf.train.adam(0.01);
  const before = tf.memory().numTensors;
  const losses: number[] = [];
  for (let i = 0; i < 30; i++) {
    const loss = opt.minimize(() => tf.mean(tf.square(tf.sub(tf.conv2d(tf.relu(tf.conv2d(x, w, 1, 'same')), w2, 1, 'same'), target))), true)!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
  }
  // Adam keeps two moment tensors per variable once created; nothing else may stay.
  assert.ok(tf.memory().numTensors <= before + 4 + 2, `tensors: ${before} → ${tf.memory().numTensors}`);
  assert.ok(losses.at(-1)! < losses[0]! * 0.7, `loss ${losses[0]} → ${losses.at(-1)}`);
  opt.dispose();
  tf.dispose([w, w2, x, target]);
});
