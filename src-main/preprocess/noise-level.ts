/**
 * How much noise an image holds, estimated from the image alone: the median absolute value of a
 * Laplacian-difference filter (Immerkær 1996) — a kernel that cancels any plane and most smooth
 * structure, so what remains is noise; the median ignores the edges it still responds to. For
 * Gaussian noise of σ the filter's output has σ·6 (the kernel's L2 norm), and |x| has median
 * 0.6745 σ. Pure: no tfjs, runs anywhere.
 */
import { percentile, valueStats } from './normalise.js';

/** Robust σ of white noise in one image; `mask` (1 = ignore: padding, invalid) is optional. */
export function estimateNoiseSigma(values: Float32Array, width: number, height: number, mask?: Uint8Array): number {
  return laplacianSigma(values, width, height, mask);
}

/**
 * σ of white noise in a magnitude image (MR), read where the signal stands above `floor`·σ: in the
 * dark background the noise is Rician — a Rayleigh spread of about 0.65 σ — and, over a large
 * background, would pull the median (and σ) down. Two passes: the whole image's reading sets the
 * floor for the second. The lowest of that reading, the flattest tissue's (`flatTissueSigma`) and
 * the background's (`backgroundSigma`) is taken: fine anatomy at the pixel scale (a 2 mm EPI
 * brain) lifts the median of the filter's responses far above the noise, less so the most common
 * energy of its neighbourhoods, and not at all the noise in the air around the head.
 */
export function magnitudeNoiseSigma(values: Float32Array, width: number, height: number, mask?: Uint8Array, floor = 3): number {
  const first = laplacianSigma(values, width, height, mask);
  if (!(first > 0)) return first;
  const dark = Uint8Array.from(values, (v, i) => (mask?.[i] || v <= floor * first ? 1 : 0));
  const second = laplacianSigma(values, width, height, dark);
  const reading = second > 0 ? second : first;
  const flat = flatTissueSigma(values, width, height, dark);
  const background = backgroundSigma(values, width, height, mask);
  return Math.min(reading, flat > 0 ? flat : Infinity, background > 0 ? background : Infinity);
}

/**
 * σ of a magnitude image read in its background, where there is one: the corners (an eighth of
 * each side) that hold low, unmasked values are pure noise, Rayleigh-distributed with E[v²] = 2σ².
 * Anatomy cannot raise this reading; a scanner that zeroes or masks its background gives none (0).
 * Multi-coil and parallel-imaging backgrounds read off-true, upwards or downwards; taken as one
 * more bound (the lowest wins), a low one only makes the model remove less.
 */
export function backgroundSigma(values: Float32Array, width: number, height: number, mask?: Uint8Array): number {
  const side = Math.floor(Math.min(width, height) / 8);
  if (side < 8) return 0;
  const top = percentile(valueStats([{ values, mask }], 1 << 14).sample, 99); // a sample: plenty for the 99th percentile
  let sumSq = 0, n = 0;
  for (const [x0, y0] of [[0, 0], [width - side, 0], [0, height - side], [width - side, height - side]] as const) {
    let s = 0, s2 = 0, zeros = 0, count = 0;
    for (let y = y0; y < y0 + side; y++) {
      for (let x = x0; x < x0 + side; x++) {
        const i = y * width + x;
        if (mask?.[i]) continue;
        const v = values[i]!;
        s += v; s2 += v * v; count++;
        if (v === 0) zeros++;
      }
    }
    // Background: dim next to the signal, and noisy (not zeroed or masked to a constant).
    if (count < side * side / 2 || zeros > 0.05 * count || !(s / count < 0.1 * top) || !(s2 / count - (s / count) ** 2 > 0)) continue;
    sumSq += s2; n += count;
  }
  return n > 0 ? Math.sqrt(sumSq / n / 2) : 0;
}

/**
 * σ from the most common energy of the Laplacian-difference filter over 5×5 neighbourhoods (the
 * mode of its histogram, as Aja-Fernández et al. read MR noise from local statistics): where
 * tissue is flattest, what is left is noise. Scaled so that pure white noise reads its σ (the
 * mode of a 5×5 energy of correlated filter responses sits below it; measured in the tests).
 * 0 when fewer than 256 neighbourhoods can be read.
 */
export function flatTissueSigma(values: Float32Array, width: number, height: number, mask?: Uint8Array): number {
  const energy = new Float32Array(width * height), valid = new Uint8Array(width * height);
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      if (mask && (mask[i] || mask[i - 1] || mask[i + 1] || mask[i - width] || mask[i + width])) continue;
      if (flatAround(values, i, width)) continue;
      const r = laplacianAt(values, i, width) / 6;
      energy[i] = r * r; valid[i] = 1;
    }
  }
  // Neighbourhoods wholly readable, every second one each way: plenty, and a quarter of the work.
  const local: number[] = [];
  for (let y = 3; y < height - 3; y += 2) {
    for (let x = 3; x < width - 3; x += 2) {
      let sum = 0, ok = true;
      for (let dy = -2; dy <= 2 && ok; dy++) for (let dx = -2; dx <= 2; dx++) { const j = (y + dy) * width + x + dx; if (!valid[j]) { ok = false; break; } sum += energy[j]!; }
      if (ok) local.push(Math.sqrt(sum / 25));
    }
  }
  if (local.length < 256) return 0;
  const sorted = Float64Array.from(local).sort();
  const top = sorted[Math.floor(0.9 * (sorted.length - 1))]!;
  if (!(top > 0)) return 0;
  const BINS = 100, counts = new Float64Array(BINS);
  for (const v of sorted) if (v < top) counts[Math.floor((v / top) * BINS)]!++;
  let best = 0, bestCount = -1;
  for (let b = 2; b < BINS - 2; b++) {
    const c = counts[b - 2]! + counts[b - 1]! + counts[b]! + counts[b + 1]! + counts[b + 2]!;
    if (c > bestCount) { bestCount = c; best = b; }
  }
  return ((best + 0.5) / BINS) * top / FLAT_MODE_OF_WHITE;
}

/** Where the mode of `flatTissueSigma`'s readings falls for pure white noise of σ 1 (measured: test/risk-estimate.test.ts). */
const FLAT_MODE_OF_WHITE = 0.92;

/**
 * How much noise there may be, correlated noise included: noise that is spatially correlated (CT's
 * reconstruction kernels) has little energy at the finest scale, so the image binned 2×2 (and, with
 * `scales` 3, 4×4) is measured too — each σ multiplied by the binning factor: what white noise
 * would give — and the largest is taken. Structure at the coarser scales can only raise it: an
 * upper bound, for limits that must not bite on correlated noise (the noise guard), not a
 * measurement.
 */
export function noiseSigmaUpperBound(values: Float32Array, width: number, height: number, mask?: Uint8Array, scales = 2): number {
  return Math.max(...noiseSigmaByScale(values, width, height, mask, scales));
}

/**
 * The white-noise σ read at each dyadic scale (the image, binned 2×2, binned 4×4, … — `scales` of
 * them, each σ multiplied by its binning factor): equal for white noise; for spatially correlated
 * noise the finest reads low and the coarser ones higher, so together they describe the noise's
 * level and grain. Scales the image is too small for repeat the last reading.
 */
export function noiseSigmaByScale(values: Float32Array, width: number, height: number, mask?: Uint8Array, scales = 2): number[] {
  const readings = [laplacianSigma(values, width, height, mask)];
  let level: { values: Float32Array; width: number; height: number; mask?: Uint8Array } | undefined = { values, width, height, mask };
  for (let factor = 2; readings.length < scales; factor *= 2) {
    level = level && bin2x2(level.values, level.width, level.height, level.mask);
    readings.push(level ? factor * laplacianSigma(level.values, level.width, level.height, level.mask) : readings.at(-1)!);
  }
  return readings;
}

/** The image binned 2×2 (a binned pixel is masked when any of its four is); undefined when too small. */
export function bin2x2(values: Float32Array, width: number, height: number, mask?: Uint8Array) {
  const w2 = Math.floor(width / 2), h2 = Math.floor(height / 2);
  if (w2 < 8 || h2 < 8) return undefined;
  const binned = new Float32Array(w2 * h2);
  const binnedMask = mask ? new Uint8Array(w2 * h2) : undefined;
  for (let y = 0; y < h2; y++) {
    for (let x = 0; x < w2; x++) {
      const i = 2 * y * width + 2 * x;
      binned[y * w2 + x] = (values[i]! + values[i + 1]! + values[i + width]! + values[i + width + 1]!) / 4;
      if (binnedMask && (mask![i] || mask![i + 1] || mask![i + width] || mask![i + width + 1])) binnedMask[y * w2 + x] = 1;
    }
  }
  return { values: binned, width: w2, height: h2, mask: binnedMask };
}

function laplacianSigma(values: Float32Array, width: number, height: number, mask?: Uint8Array): number {
  // Every second pixel in each direction: plenty of samples, a quarter of the work. A typed array
  // sorts numerically without a comparator: several times faster than number[] on a 512² slice.
  const responses = new Float32Array(Math.ceil(height / 2) * Math.ceil(width / 2));
  let n = 0;
  for (let y = 1; y < height - 1; y += 2) {
    for (let x = 1; x < width - 1; x += 2) {
      const i = y * width + x;
      if (mask && (mask[i] || mask[i - 1] || mask[i + 1] || mask[i - width] || mask[i + width])) continue;
      if (flatAround(values, i, width)) continue;
      responses[n++] = Math.abs(laplacianAt(values, i, width));
    }
  }
  if (n < 16) return 0;
  const sorted = responses.subarray(0, n).sort();
  const median = sorted[Math.floor(n / 2)]!;
  return median / (0.6745 * 6);
}

/** The Laplacian-difference filter at pixel i (its kernel's L2 norm is 6). */
function laplacianAt(values: Float32Array, i: number, width: number): number {
  return values[i - width - 1]! - 2 * values[i - width]! + values[i - width + 1]!
    - 2 * values[i - 1]! + 4 * values[i]! - 2 * values[i + 1]!
    + values[i + width - 1]! - 2 * values[i + width]! + values[i + width + 1]!;
}

/** A perfectly flat 3×3 neighbourhood (zeroed background, clipped air) holds no noise to measure. */
function flatAround(values: Float32Array, i: number, width: number): boolean {
  const v = values[i]!;
  return v === values[i - 1] && v === values[i + 1] && v === values[i - width] && v === values[i + width]
    && v === values[i - width - 1] && v === values[i - width + 1] && v === values[i + width - 1] && v === values[i + width + 1];
}
