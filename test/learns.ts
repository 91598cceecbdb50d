/**
 * Test helpers for training: does a freshly built denoiser learn? (every gradient it needs exists
 * on this backend); a data-parallel helper in this thread; how far two models' weights differ.
 */
import * as tf from '@tensorflow/tfjs';
import { ShardGradients, type GradientHelper } from '../src-main/model/train.js';

/**
 * Trains `model` with Adam on a fixed toy task (two-level images with 0.1 Gaussian noise, four of
 * `size`²) for `steps` steps; returns the first and the last loss.
 */
export function adamLosses(model: tf.LayersModel, size: number, steps: number): { first: number; last: number } {
  const clean = tf.tidy(() => tf.mul(tf.randomUniform([4, size, size, 1], 0, 1, 'float32', 5).round(), 0.5));
  const noisy = tf.tidy(() => tf.add(clean, tf.randomNormal([4, size, size, 1], 0, 0.1, 'float32', 6)));
  const optimizer = tf.train.adam(3e-3);
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.meanSquaredError(clean, model.apply(noisy) as tf.Tensor) as tf.Scalar, true)!;
    const value = loss.dataSync()[0]!;
    loss.dispose();
    return value;
  };
  const first = step();
  let last = first;
  for (let i = 0; i < steps; i++) last = step();
  tf.dispose([clean, noisy]);
  optimizer.dispose();
  return { first, last };
}

/** A data-parallel helper that runs in this thread (a ShardGradients replica); `onShard` sees each shard it is sent. */
export function inThreadHelper(onShard?: (shard: Parameters<GradientHelper['compute']>[1]) => void): GradientHelper {
  let replica: ShardGradients | undefined;
  return {
    init: async (topology) => { replica = await ShardGradients.fromTopology(topology); },
    compute: async (weights, shard) => { onShard?.(shard); return replica!.compute(weights, shard); },
    dispose: async () => replica?.dispose(),
  };
}

/** The largest difference between two models' weights, weight by weight. */
export function maxWeightDifference(a: tf.LayersModel, b: tf.LayersModel): number {
  const wa = a.getWeights(), wb = b.getWeights();
  let worst = 0;
  for (let i = 0; i < wa.length; i++) {
    const da = wa[i]!.dataSync(), db = wb[i]!.dataSync();
    for (let k = 0; k < da.length; k++) worst = Math.max(worst, Math.abs(da[k]! - db[k]!));
  }
  return worst;
}
