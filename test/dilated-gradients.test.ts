/** Dilated convolutions train: their gradients against an undilated equivalent, and a DnCNN with dilations learning. */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { buildModel, parseArchitecture, tilingNeeds, type ArchitectureSpec } from '../src-main/model/architectures.js';
import { initBackend } from '../src-main/model/backend.js';
import { adamLosses } from './learns.js';

before(async () => { await initBackend({ force: 'wasm' }); });

/** The filter with d − 1 zeros between its taps: an undilated convolution that equals the dilated one. */
function spread(filter: tf.Tensor4D, d: number): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const values = filter.arraySync();
  const big = Array.from({ length: d * (kh - 1) + 1 }, (_, y) => Array.from({ length: d * (kw - 1) + 1 }, (_, x) =>
    (y % d === 0 && x % d === 0 ? values[y / d]![x / d]! : Array.from({ length: ci }, () => new Array<number>(co).fill(0)))));
  return tf.tensor4d(big);
}

test('the gradients of a dilated convolution equal those of the same convolution with its taps spread out', () => {
  for (const d of [2, 3]) {
    const x = tf.randomNormal([2, 13, 11, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
    const target = tf.randomNormal([2, 13, 11, 4], 0, 1, 'float32', 3);
    const loss = (y: tf.Tensor) => tf.sum(tf.mul(y, target)) as tf.Scalar;
    const dilated = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same', 'NHWC', [d, d])))([x, w]);
    const big = spread(w, d);
    const plain = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')))([x, big]);
    // Forward passes agree, so the comparison is of like with like.
    const forward = tf.max(tf.abs(tf.sub(tf.conv2d(x, w, 1, 'same', 'NHWC', [d, d]), tf.conv2d(x, big, 1, 'same')))).dataSync()[0]!;
    assert.ok(forward < 1e-4, `forward d=${d}: ${forward}`);
    const dx = tf.max(tf.abs(tf.sub(dilated[0]!, plain[0]!))).dataSync()[0]!;
    assert.ok(dx < 1e-4, `dx d=${d}: ${dx}`);
    // dW of the dilated filter = the spread filter's gradient at its taps.
    const taps = tf.stridedSlice(plain[1]!, [0, 0, 0, 0], big.shape, [d, d, 1, 1]);
    const dw = tf.max(tf.abs(tf.sub(dilated[1]!, taps))).dataSync()[0]!;
    const scale = tf.max(tf.abs(taps)).dataSync()[0]!;
    assert.ok(scale > 1 && dw < 1e-4 * scale, `dW d=${d}: ${dw} (scale ${scale})`);
    tf.dispose([x, w, target, big, taps, ...dilated, ...plain]);
  }
});

test('a dilated DnCNN builds with the wider margin, and learns (its loss falls under Adam)', async () => {
  const spec: ArchitectureSpec = { kind: 'dncnn', depth: 5, width: 8, dilations: [2, 3, 2] };
  assert.equal(tilingNeeds(parseArchitecture(spec)).margin, 9); // (1 + 2 + 3 + 2 + 1) · 1
  assert.throws(() => parseArchitecture({ kind: 'dncnn', depth: 5, dilations: [2, 2] }), /architecture\.dilations: needs one dilation per hidden layer: 3 for depth 5, got 2/);
  assert.throws(() => parseArchitecture({ kind: 'dncnn', depth: 5, dilations: [2, 2, 2], batchNorm: true }), /dilated layers need activation relu or elu and no batch norm/);
  const model = buildModel(spec, { seed: 4 });
  const rates = model.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => (l.getConfig() as { dilationRate: number[] }).dilationRate[0]);
  assert.deepEqual(rates, [1, 2, 3, 2, 1]);
  const { first, last } = adamLosses(model, 24, 40);
  assert.ok(Number.isFinite(last) && last < 0.5 * first, `loss ${first} → ${last}`);
  model.dispose();
});
