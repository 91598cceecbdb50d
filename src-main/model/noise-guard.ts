/**
 * The noise guard: a denoiser should remove noise, not anatomy. Pure functions on one slice,
 * applied after the model (see ModelDenoiser). Both parts compare what the model removed
 * (input − output) with σ, the most noise the input may hold (noiseSigmaUpperBound):
 * - globally: when the removal's spread over the slice exceeds `factor`·σ, all of it is scaled
 *   down to that — a model trained for stronger noise does not smooth a low-noise slice;
 * - locally: white noise removed from a 5×5 neighbourhood has an energy near σ² (its spread over 25
 *   pixels is about ±30 %); where the removal's local energy exceeds `k`·σ², it is scaled down to
 *   k·σ² there. Such lumps are edges and small structures the model took for noise — the blur a
 *   clinician sees — while flat regions keep their full removal.
 * And one more check that what is removed looks like noise: noise has no local mean, so the
 * removal's low-pass (keepLowFrequencies) is anatomy or bias — put back (see its comment).
 */
import { noiseSigmaUpperBound } from '../preprocess/noise-level.js';
import { frequency } from '../shared/fft2d.js';

export interface GuardSettings {
  /** Global bound on the removal's spread, in multiples of σ; null: none. */
  factor: number | null;
  /** Dyadic scales the σ bound looks at (2–3 see correlated CT noise). */
  scales: number;
  /** Local bound on the removal's 5×5 energy, in multiples of σ²; null: none. */
  local: number | null;
  /** σ when it is known from outside the image (a repeat scan); otherwise the image's bound at `scales`. */
  sigma?: number;
}

/** Applies the card's guard to `out` in place; `mask` (1 = padding/invalid) is left alone. Returns σ and the global scale. */
export function guardRemoval(input: Float32Array, out: Float32Array, width: number, height: number, mask: Uint8Array, guard: GuardSettings): { sigma: number; scale: number } {
  if (guard.factor === null && guard.local === null) return { sigma: NaN, scale: 1 };
  const sigma = guard.sigma ?? noiseSigmaUpperBound(input, width, height, mask, guard.scales);
  const scale = guard.factor === null ? 1 : limitSpread(input, out, mask, guard.factor * sigma);
  if (guard.local !== null) limitLocalEnergy(input, out, width, height, mask, guard.local * sigma * sigma);
  return { sigma, scale };
}

/**
 * The global guard alone: scales the removal down when its spread exceeds `factor` × the noise
 * bound at `scales` scales. Returns the scale used (1: untouched).
 */
export function limitToNoise(input: Float32Array, out: Float32Array, width: number, height: number, mask: Uint8Array, factor: number, scales = 2): number {
  return guardRemoval(input, out, width, height, mask, { factor, scales, local: null }).scale;
}

/** Scales input − out down so its spread is at most `bound`; returns the scale. */
function limitSpread(input: Float32Array, out: Float32Array, mask: Uint8Array, bound: number): number {
  let sum = 0, sum2 = 0, n = 0;
  for (let j = 0; j < out.length; j++) {
    if (mask[j]) continue;
    const r = input[j]! - out[j]!;
    sum += r; sum2 += r * r; n++;
  }
  if (n === 0) return 1;
  const spread = Math.sqrt(Math.max(0, sum2 / n - (sum / n) ** 2));
  if (!(spread > bound)) return 1;
  const scale = bound / spread;
  for (let j = 0; j < out.length; j++) if (!mask[j]) out[j] = input[j]! - scale * (input[j]! - out[j]!);
  return scale;
}

const RADIUS = 2;

/** Where the removal's mean square over a 5×5 window exceeds `limit`, scales it down to `limit` there. */
export function limitLocalEnergy(input: Float32Array, out: Float32Array, width: number, height: number, mask: Uint8Array, limit: number): void {
  if (!(limit > 0)) return;
  const energy = new Float32Array(width * height);
  for (let j = 0; j < energy.length; j++) energy[j] = mask[j] ? 0 : (input[j]! - out[j]!) ** 2;
  const local = boxMean(boxMean(energy, width, height, width, 1), height, width, 1, width); // rows, then columns
  for (let j = 0; j < out.length; j++) {
    if (mask[j] || !(local[j]! > limit)) continue;
    out[j] = input[j]! - Math.sqrt(limit / local[j]!) * (input[j]! - out[j]!);
  }
}

/**
 * Running mean over 2·RADIUS+1 samples along one axis (`step` apart; `lines` lines `lineStep`
 * apart), windows clipped at the ends.
 */
function boxMean(values: Float32Array, length: number, lines: number, lineStep: number, step: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    let sum = 0, count = 0;
    for (let k = 0; k < Math.min(RADIUS, length); k++) { sum += values[base + k * step]!; count++; }
    for (let k = 0; k < length; k++) {
      const enter = k + RADIUS, leave = k - RADIUS - 1;
      if (enter < length) { sum += values[base + enter * step]!; count++; }
      if (leave >= 0) { sum -= values[base + leave * step]!; count--; }
      out[base + k * step] = sum / count;
    }
  }
  return out;
}

/**
 * Puts back the removal's low frequencies: out += G_σ * (input − out), a Gaussian of `sigma`
 * pixels, normalised over valid pixels so padding does not pull it down. Noise is zero-mean
 * locally, so what the model removed at scales above a few pixels is a shift of tissue values —
 * on the CT default 1.1.0 a −2 HU shift of soft tissue under correlated noise, and on a real head
 * CT the faint, broad grey–white matter contrast (+0.5 dB there at σ 25 HU). The cost: the
 * noise's own share at those scales stays (white noise: 1/(4πσ²) of its variance, 0.9 % at 3 px)
 * — for correlated noise far more at the same scale: see lowPassScale.
 */
export function keepLowFrequencies(input: Float32Array, out: Float32Array, width: number, height: number, mask: Uint8Array, sigma: number): void {
  const removal = new Float32Array(out.length);
  const valid = new Float32Array(out.length);
  for (let j = 0; j < out.length; j++) {
    if (mask[j]) continue;
    removal[j] = input[j]! - out[j]!;
    valid[j] = 1;
  }
  // Normalised convolution: padding and the image's edges (zeros beyond it) do not pull the low-pass down.
  const low = boxGaussian(removal, width, height, sigma);
  const weight = boxGaussian(valid, width, height, sigma);
  for (let j = 0; j < out.length; j++) {
    if (!mask[j] && weight[j]! > 1e-3) out[j]! += low[j]! / weight[j]!;
  }
}

/**
 * A Gaussian of `sigma` pixels as three box filters (their widths chosen so the variances add up
 * to σ², Kovesi's recipe), zero beyond the image: O(1) per pixel at any σ — the low-pass runs at
 * up to 24 px on every slice, where a separable Gaussian kernel took half a second.
 */
function boxGaussian(values: Float32Array, width: number, height: number, sigma: number): Float32Array {
  const passes = 3;
  const ideal = Math.sqrt((12 * sigma * sigma) / passes + 1);
  let lower = Math.floor(ideal);
  if (lower % 2 === 0) lower--;
  const m = Math.round((12 * sigma * sigma - passes * lower * lower - 4 * passes * lower - 3 * passes) / (-4 * lower - 4));
  const a = Float32Array.from(values), b = new Float32Array(values.length);
  for (let k = 0; k < passes; k++) {
    const r = ((k < m ? lower : lower + 2) - 1) / 2;
    boxPass(a, b, width, height, r, 1, width); // along rows
    boxPass(b, a, height, width, r, width, 1); // along columns
  }
  return a;
}

/** Mean over a window of 2r + 1 along one axis (`step` apart, lines `stride` apart), zero beyond the ends. */
function boxPass(src: Float32Array, dst: Float32Array, length: number, lines: number, r: number, step: number, stride: number): void {
  const norm = 1 / (2 * r + 1);
  for (let line = 0; line < lines; line++) {
    const base = line * stride;
    let acc = 0;
    for (let i = 0; i <= Math.min(r, length - 1); i++) acc += src[base + i * step]!;
    for (let i = 0; i < length; i++) {
      dst[base + i * step] = acc * norm;
      const add = i + r + 1, drop = i - r;
      if (add < length) acc += src[base + add * step]!;
      if (drop >= 0) acc -= src[base + drop * step]!;
    }
  }
}

/** Scales lowPassScale tries, as multiples of the card's: the first that passes little enough noise. */
const LOW_PASS_STEPS = [1, 1.5, 2, 3, 4, 6, 8];

/**
 * The Gaussian scale (pixels) at which to put the removal's low frequencies back, given the
 * slice's noise spectrum (|H| on an n×n FFT grid, noise-spectrum.ts): the smallest multiple of
 * `base` whose low-pass lets through no larger a share of this noise's variance than it lets
 * through of white noise at `base`. Correlated noise (CT's kernels) has its power at low
 * frequencies: put back at 3 px it would return a tenth of 1 px-correlated noise and 40 % of
 * 2.5 px noise, undoing the denoising (the CT default fell below its input so); here such noise
 * moves the scale out to 10–25 px, where only tissue values and broad contrast are left.
 */
export function lowPassScale(amplitude: Float64Array, n: number, base: number): number {
  const share = (s: number, white: boolean) => {
    let kept = 0, total = 0;
    for (let ky = 0; ky < n; ky++) {
      const fy = frequency(ky, n);
      for (let kx = 0; kx < n; kx++) {
        const fx = frequency(kx, n);
        const power = white ? 1 : amplitude[ky * n + kx]! ** 2;
        kept += power * Math.exp(-4 * Math.PI * Math.PI * s * s * (fx * fx + fy * fy));
        total += power;
      }
    }
    return total > 0 ? kept / total : 0;
  };
  const allowed = share(base, true);
  for (const k of LOW_PASS_STEPS) if (share(base * k, false) <= allowed * 1.05) return base * k;
  return base * LOW_PASS_STEPS.at(-1)!;
}
