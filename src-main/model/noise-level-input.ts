/**
 * The noise-level input of an FFDNet-style model (architecture.noiseMap): what the network is told
 * about a slice's noise, computed the same way for training patches (train.ts) and for the slices
 * it denoises (ModelDenoiser) — the white-noise σ read at each dyadic scale, in network units × gain.
 */
import * as tf from '@tensorflow/tfjs';
import { noiseSigmaByScale } from '../preprocess/noise-level.js';
import type { NormalisationParams } from '../preprocess/normalise.js';

export interface NoiseMapSpec {
  scales: number;
  gain: number;
}

/** Physical-unit readings (noiseSigmaByScale) → the values the network sees. */
export function levelsFromReadings(readings: number[], params: Pick<NormalisationParams, 'scale'>, spec: NoiseMapSpec): Float32Array {
  return Float32Array.from(readings, (r) => (r / params.scale) * spec.gain);
}

/**
 * The levels for one slice of physical values, read inside the image: `mask` (1 = padding) and
 * the values the normalisation clips are not measured — in CT that is below −1100 HU, the outside
 * of the reconstruction circle, noise-free even in a noisy scan (23 % of a lossy head slice: read
 * with it, σ 25 HU came out as 18).
 */
export function noiseLevelsOf(values: Float32Array, width: number, height: number, mask: Uint8Array | undefined,
  params: Pick<NormalisationParams, 'scale' | 'clipLow' | 'clipHigh'>, spec: NoiseMapSpec): Float32Array {
  const inside = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) inside[i] = mask?.[i] || !(values[i]! >= params.clipLow && values[i]! <= params.clipHigh) ? 1 : 0;
  return levelsFromReadings(noiseSigmaByScale(values, width, height, inside, spec.scales), params, spec);
}

/** Constant maps [n, height, width, scales] of each item's levels (`levels`: n × scales, item after item). */
export function noiseLevelMaps(levels: Float32Array, n: number, height: number, width: number): tf.Tensor4D {
  const scales = levels.length / n;
  return tf.tidy(() => tf.tile(tf.tensor4d(levels, [n, 1, 1, scales]), [1, height, width, 1]) as tf.Tensor4D);
}
