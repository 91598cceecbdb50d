/**
 * Noise measured between two acquisitions of the same slices (the difference method of NEMA
 * MS 1): with y1 = x + n1 and y2 = x + n2, y1 − y2 = n1 − n2 holds no anatomy, only noise of
 * σ√2. One image cannot tell fine anatomy from noise — an EPI brain at 2 mm reads σ 17–24 where
 * its repeat says 8 — so where a series has repeats, this is the σ the denoiser is given. Pure.
 */
import { percentile, valueStats } from './normalise.js';

export interface RepeatPair {
  first: Float32Array;
  second: Float32Array;
  /** 1 = padding / invalid in either. */
  mask?: Uint8Array;
}

export interface RepeatNoiseOptions {
  /**
   * Magnitude images (MR): background below this fraction of the first image's 99th percentile is
   * left out — its Rician noise is not the tissue's, and a zeroed background holds none.
   */
  backgroundFraction?: number;
}

/**
 * The noise σ of one acquisition from repeat pairs: a median-based first reading (robust to the
 * few pixels that moved between the two), refined by the RMS of differences within 4 of its σ
 * (the median of integer-valued data steps in whole units: 7 or 8 read as σ 7.3 or 8.4).
 * Undefined when too few pixels could be compared.
 */
export function repeatNoiseSigma(pairs: RepeatPair[], options: RepeatNoiseOptions = {}): number | undefined {
  const differences: number[] = [];
  for (const { first, second, mask } of pairs) {
    if (first.length !== second.length) throw new Error(`repeat pair: ${first.length} and ${second.length} pixels`);
    const floor = options.backgroundFraction === undefined ? -Infinity : options.backgroundFraction * percentile(valueStats([{ values: first }], 1 << 14).sample, 99);
    for (let i = 0; i < first.length; i++) {
      if (mask?.[i] || !(first[i]! > floor) || !(second[i]! > floor)) continue;
      differences.push(first[i]! - second[i]!);
    }
  }
  if (differences.length < 64) return undefined;
  // A global change between the two (scanner drift, a rescaled time point) is no noise: centred first.
  const centre = Float64Array.from(differences).sort()[Math.floor(differences.length / 2)]!;
  for (let i = 0; i < differences.length; i++) differences[i]! -= centre;
  const abs = Float64Array.from(differences, Math.abs).sort();
  const rough = abs[Math.floor(abs.length / 2)]! / 0.6745 / Math.SQRT2;
  const bound = rough > 0 ? 4 * Math.SQRT2 * rough : Infinity;
  let sum = 0, n = 0;
  for (const d of differences) if (Math.abs(d) <= bound) { sum += d * d; n++; }
  // A normal cut at ±4σ keeps 99.89 % of its variance.
  return Math.sqrt(sum / n / 2 / (Number.isFinite(bound) ? 0.99889 : 1));
}
