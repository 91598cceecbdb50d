/** Test helper: does a freshly built denoiser learn? (every gradient it needs exists on this backend) */
import * as tf from '@tensorflow/tfjs';

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
