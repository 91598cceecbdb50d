/**
 * How much noise an image holds, estimated from the image alone: the median absolute value of a
 * Laplacian-difference filter (Immerkær 1996) — a kernel that cancels any plane and most smooth
 * structure, so what remains is noise; the median ignores the edges it still responds to. For
 * Gaussian noise of σ the filter's output has σ·6 (the kernel's L2 norm), and |x| has median
 * 0.6745 σ. Pure: no tfjs, runs anywhere.
 */

/** Robust σ of the noise in one image; `mask` (1 = ignore: padding, invalid) is optional. */
export function estimateNoiseSigma(values: Float32Array, width: number, height: number, mask?: Uint8Array): number {
  const responses: number[] = [];
  // Every second pixel in each direction: plenty of samples, a quarter of the work.
  for (let y = 1; y < height - 1; y += 2) {
    for (let x = 1; x < width - 1; x += 2) {
      const i = y * width + x;
      if (mask && (mask[i] || mask[i - 1] || mask[i + 1] || mask[i - width] || mask[i + width])) continue;
      // A perfectly flat neighbourhood (zeroed background, clipped air) holds no noise to measure.
      const v = values[i]!;
      if (v === values[i - 1] && v === values[i + 1] && v === values[i - width] && v === values[i + width]
        && v === values[i - width - 1] && v === values[i - width + 1] && v === values[i + width - 1] && v === values[i + width + 1]) continue;
      const r = values[i - width - 1]! - 2 * values[i - width]! + values[i - width + 1]!
        - 2 * values[i - 1]! + 4 * values[i]! - 2 * values[i + 1]!
        + values[i + width - 1]! - 2 * values[i + width]! + values[i + width + 1]!;
      responses.push(Math.abs(r));
    }
  }
  if (responses.length < 16) return 0;
  responses.sort((a, b) => a - b);
  const median = responses[Math.floor(responses.length / 2)]!;
  return median / (0.6745 * 6);
}
