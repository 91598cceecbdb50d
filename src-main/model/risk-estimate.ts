/**
 * How much of a network's removal to keep, decided from the input alone: Stein's unbiased risk
 * estimate (SURE). For y = x + n with white Gaussian noise of σ and a denoiser f,
 *   E‖f(y) − x‖² = E[ ‖y − f(y)‖² − Nσ² + 2σ² div f(y) ],
 * where div f = Σ ∂fᵢ/∂yᵢ — how much of a small change to the input passes through to the output.
 * The divergence is read by one more pass of the network on the input plus a small random probe
 * (Ramani, Blu & Unser 2008: div f ≈ bᵀ(f(y + εb) − f(y)) / ε for b of unit normal entries).
 *
 * For the blend y + λ(f(y) − y) the estimate is a parabola in λ whose minimum is
 *   λ* = σ² (N − div f) / ‖y − f(y)‖²
 * kept within [0, 1]: a network that removes anatomy — a removal the input's noise cannot explain
 * — is told so by its own divergence and kept at the fraction of its removal that lowers the risk.
 * Unlike the noise guard's bound on the removal's size, this bound follows where the removal
 * points. It needs σ of white noise: an image whose fine texture reads as noise (an EPI brain at
 * 2 mm) still over-trusts the network, which is why a σ measured from a repeat acquisition can be
 * given instead (see jobs/series-context.ts). Pure: no tfjs.
 */
import { estimateNoiseSigma, magnitudeNoiseSigma } from '../preprocess/noise-level.js';

/**
 * σ of white noise for the estimate, read over the pixels its sums count: values the normalisation
 * clips (a CT slice's border outside the field of view) are left out with the invalid ones. That
 * border holds no noise; stored lossily it is not flat either, so the flat-neighbourhood rule does
 * not drop it, and counted it pulls the median down — on the real lossy head CT (a quarter of its
 * pixels outside the field of view) white σ 25 read as 18.4, and the weight fell to 0.56 where the
 * error is least at 1.0. Magnitude images (MR) are read over their signal (`magnitudeNoiseSigma`).
 */
export function riskSigma(values: Float32Array, width: number, height: number, invalid: Uint8Array, clip: { clipLow: number; clipHigh: number }, magnitude: boolean): number {
  const skip = new Uint8Array(values.length); // a plain loop: Uint8Array.from with a callback is ten times slower
  for (let i = 0; i < values.length; i++) { const v = values[i]!; if (invalid[i] || v < clip.clipLow || v > clip.clipHigh) skip[i] = 1; }
  return (magnitude ? magnitudeNoiseSigma : estimateNoiseSigma)(values, width, height, skip);
}

export interface RiskInputs {
  /** The slice as it came, the network's output, and its output for `input + epsilon·probe`. */
  input: Float32Array;
  output: Float32Array;
  perturbedOutput: Float32Array;
  probe: Float32Array;
  epsilon: number;
  /** White-noise σ of the input, in the same units. */
  sigma: number;
  /** 1 = not measured (padding, clipped pixels). */
  mask: Uint8Array;
}

const MIN_MEASURED = 256;

export interface RiskEstimate {
  /** The share of the removal that minimises the estimated error, in [0, 1]. */
  weight: number;
  /** Estimated error of the kept output against the truth over the input's own (Nσ²), in dB: > 0 is an improvement. */
  gainDb: number;
}

export function riskMinimisingWeight(r: RiskInputs): RiskEstimate {
  let removedSq = 0, divergence = 0, n = 0;
  for (let i = 0; i < r.input.length; i++) {
    if (r.mask[i]) continue;
    removedSq += (r.input[i]! - r.output[i]!) ** 2;
    divergence += (r.probe[i]! * (r.perturbedOutput[i]! - r.output[i]!)) / r.epsilon;
    n++;
  }
  const noiseSq = n * r.sigma * r.sigma;
  // Too little to measure (a slice of background, a tiny one): the noise guard alone decides.
  if (n < MIN_MEASURED || !(noiseSq > 0)) return { weight: 1, gainDb: NaN };
  if (!(removedSq > 0)) return { weight: 1, gainDb: 0 };
  const weight = Math.min(1, Math.max(0, (noiseSq * (1 - divergence / n)) / removedSq));
  // SURE of the blend: λ²‖y − f‖² − Nσ² + 2σ²((1 − λ)N + λ div f).
  const risk = weight * weight * removedSq - noiseSq + 2 * r.sigma * r.sigma * ((1 - weight) * n + weight * divergence);
  return { weight, gainDb: risk > 0 ? 10 * Math.log10(noiseSq / risk) : Infinity };
}

/**
 * Keeps `weight` of the removal: out ← input − weight·(input − out), where `mask` is 0. With
 * `dark` (magnitude images), where the output is darker than `dark.full` the whole removal is
 * kept — the Rician background the estimate leaves out, whose upward bias the network rightly
 * removes — fading to `weight` at `dark.weighted` (a ramp on the smooth output: no speckled seam).
 */
export function keepShareOfRemoval(input: Float32Array, out: Float32Array, mask: Uint8Array, weight: number, dark?: { full: number; weighted: number }): void {
  if (weight === 1) return;
  for (let i = 0; i < out.length; i++) {
    if (mask[i]) continue;
    const t = dark ? Math.min(1, Math.max(0, (out[i]! - dark.full) / (dark.weighted - dark.full))) : 1;
    const w = 1 - t * (1 - weight);
    out[i] = input[i]! - w * (input[i]! - out[i]!);
  }
}

/**
 * Pixels the estimate must leave out (1): padding/invalid, values the normalisation clips (their
 * output is the input, by construction), perfectly flat neighbourhoods — a zeroed background
 * holds no noise, and counting it as noisy would credit the network with removing noise that was
 * never there — and values at or below `floor`: in a magnitude image (MR) the dark background's
 * noise is Rician, not Gaussian, and biased upwards; removing that bias is right but is no noise
 * the estimate can account for.
 */
export function unmeasuredForRisk(values: Float32Array, width: number, height: number, invalid: Uint8Array, clip: { clipLow: number; clipHigh: number }, floor = -Infinity): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x, v = values[i]!;
      const flat = x > 0 && y > 0 && x < width - 1 && y < height - 1
        && v === values[i - 1] && v === values[i + 1] && v === values[i - width] && v === values[i + width];
      if (invalid[i] || v < clip.clipLow || v > clip.clipHigh || flat || v <= floor) out[i] = 1;
    }
  }
  return out;
}

/**
 * A region the divergence is read in: the crop the network sees, and the inner box it is measured
 * over (slice coordinates). The crops of one slice never overlap.
 */
export interface ProbeWindow {
  x: number; y: number; width: number; height: number;
  inner: { x0: number; y0: number; x1: number; y1: number };
}

/**
 * Where the second pass runs: four windows around the quadrants' centres, each a sixth of the
 * slice's side (at least 48 pixels), with `margin` pixels of context so their inner boxes see what
 * the whole slice's pass saw — a sixth of a 512² slice's work instead of all of it. A slice below
 * 128 pixels a side is read whole.
 */
export function probeWindows(width: number, height: number, margin: number): ProbeWindow[] {
  if (width < 128 || height < 128) return [{ x: 0, y: 0, width, height, inner: { x0: 0, y0: 0, x1: width, y1: height } }];
  const side = Math.max(48, Math.round(Math.min(width, height) / 6));
  return [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]].map(([fx, fy]) => {
    const x0 = Math.round(fx! * width - side / 2), y0 = Math.round(fy! * height - side / 2);
    const x = Math.max(0, x0 - margin), y = Math.max(0, y0 - margin);
    return { x, y, width: Math.min(width, x0 + side + margin) - x, height: Math.min(height, y0 + side + margin) - y, inner: { x0, y0, x1: x0 + side, y1: y0 + side } };
  });
}

/** The window's crop of a slice's values. */
export function cropWindow(values: Float32Array, width: number, w: ProbeWindow): Float32Array {
  const out = new Float32Array(w.width * w.height);
  for (let y = 0; y < w.height; y++) out.set(values.subarray((w.y + y) * width + w.x, (w.y + y) * width + w.x + w.width), y * w.width);
  return out;
}

/** The inner boxes' pixels of a slice-sized array, window after window, row by row. */
export function innerPixels<T extends Float32Array | Uint8Array>(values: T, width: number, windows: ProbeWindow[]): T {
  const parts: number[] = [];
  for (const w of windows) for (let y = w.inner.y0; y < w.inner.y1; y++) for (let x = w.inner.x0; x < w.inner.x1; x++) parts.push(values[y * width + x]!);
  return (values instanceof Uint8Array ? Uint8Array.from(parts) : Float32Array.from(parts)) as T;
}

/** The same inner pixels from each window's own crop (e.g. the network's output on it). */
export function innerPixelsOfCrops(crops: Float32Array[], windows: ProbeWindow[]): Float32Array {
  const parts: number[] = [];
  windows.forEach((w, k) => {
    for (let y = w.inner.y0; y < w.inner.y1; y++) for (let x = w.inner.x0; x < w.inner.x1; x++) parts.push(crops[k]![(y - w.y) * w.width + (x - w.x)]!);
  });
  return Float32Array.from(parts);
}
