/**
 * Imputation of missing data. Each method fills the masked pixels (mask = 1: padding, NaN,
 * invalid) and returns the mask so training can leave those pixels out of the loss.
 */
import { z } from 'zod';

export const PixelImputation = z.discriminatedUnion('method', [
  /** A fixed value, e.g. air at −1000 HU. */
  z.object({ method: z.literal('constant'), value: z.number().default(-1000) }),
  z.object({ method: z.literal('mean') }),
  z.object({ method: z.literal('median') }),
  /** The value of the nearest valid pixel (city-block distance). */
  z.object({ method: z.literal('nearest') }),
  /** Harmonic inpainting: smooth fill that joins the surrounding valid values. */
  z.object({ method: z.literal('inpaint'), iterations: z.number().int().min(1).max(5000).default(200) }),
]);
export type PixelImputation = z.input<typeof PixelImputation>;

export const SliceImputation = z.enum(['linear', 'nearest', 'skip']);
export type SliceImputation = z.infer<typeof SliceImputation>;

/** Marks non-finite values, plus any pixels already flagged by `extra` (e.g. Pixel Padding). */
export function invalidMask(values: Float32Array, extra?: Uint8Array | null): Uint8Array {
  const mask = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    mask[i] = !Number.isFinite(values[i]!) || (extra ? extra[i]! : 0) ? 1 : 0;
  }
  return mask;
}

export interface Imputed {
  values: Float32Array;
  mask: Uint8Array;
  /** How many pixels were filled. */
  filled: number;
}

export function imputePixels(values: Float32Array, width: number, height: number, mask: Uint8Array,
  spec: PixelImputation): Imputed {
  if (values.length !== width * height || mask.length !== values.length) {
    throw new Error(`imputation: expected ${width * height} values and mask entries`);
  }
  const parsed = PixelImputation.parse(spec);
  const out = Float32Array.from(values);
  let filled = 0;
  for (let i = 0; i < mask.length; i++) filled += mask[i] ? 1 : 0;
  if (filled === 0) return { values: out, mask, filled }; // the usual case: nothing to fill
  const valid: number[] = [];
  for (let i = 0; i < mask.length; i++) if (!mask[i]) valid.push(values[i]!);
  if (valid.length === 0 && parsed.method !== 'constant') {
    throw new Error(`imputation '${parsed.method}': the slice has no valid pixels to fill from`);
  }
  const fillAll = (v: number) => { for (let i = 0; i < out.length; i++) if (mask[i]) out[i] = v; };
  switch (parsed.method) {
    case 'constant': fillAll(parsed.value); break;
    case 'mean': fillAll(valid.reduce((a, b) => a + b, 0) / valid.length); break;
    case 'median': {
      const sorted = Float64Array.from(valid).sort();
      const mid = sorted.length >> 1;
      fillAll(sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2);
      break;
    }
    case 'nearest': nearestFill(out, width, height, mask); break;
    case 'inpaint': {
      nearestFill(out, width, height, mask);
      harmonicFill(out, width, height, mask, parsed.iterations);
      break;
    }
  }
  return { values: out, mask, filled };
}

/** Multi-source breadth-first search from every valid pixel: O(n). */
function nearestFill(out: Float32Array, width: number, height: number, mask: Uint8Array): void {
  const queue = new Int32Array(out.length);
  const done = new Uint8Array(out.length);
  let head = 0, tail = 0;
  for (let i = 0; i < mask.length; i++) if (!mask[i]) { queue[tail++] = i; done[i] = 1; }
  while (head < tail) {
    const i = queue[head++]!;
    const x = i % width, y = (i - x) / width;
    const visit = (j: number) => { if (!done[j]) { done[j] = 1; out[j] = out[i]!; queue[tail++] = j; } };
    if (x > 0) visit(i - 1);
    if (x < width - 1) visit(i + 1);
    if (y > 0) visit(i - width);
    if (y < height - 1) visit(i + width);
  }
}

/** Gauss–Seidel relaxation of Laplace's equation over the masked pixels only. */
function harmonicFill(out: Float32Array, width: number, height: number, mask: Uint8Array, iterations: number): void {
  const holes: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) holes.push(i);
  for (let it = 0; it < iterations; it++) {
    for (const i of holes) {
      const x = i % width, y = (i - x) / width;
      let sum = 0, n = 0;
      if (x > 0) { sum += out[i - 1]!; n++; }
      if (x < width - 1) { sum += out[i + 1]!; n++; }
      if (y > 0) { sum += out[i - width]!; n++; }
      if (y < height - 1) { sum += out[i + width]!; n++; }
      out[i] = sum / n;
    }
  }
}

/**
 * Fills missing slices of a volume ordered along its normal. `null` marks a missing slice.
 * 'skip' leaves them out; 'nearest' copies the closer neighbour; 'linear' interpolates.
 * Returns the slices with `imputed` flags so callers can exclude them from training.
 */
export function imputeMissingSlices(slices: (Float32Array | null)[], method: SliceImputation):
  { values: Float32Array; imputed: boolean; index: number }[] {
  const present = slices.flatMap((s, i) => (s ? [i] : []));
  if (present.length === 0) throw new Error('slice imputation: the series has no slices');
  const out: { values: Float32Array; imputed: boolean; index: number }[] = [];
  for (let i = 0; i < slices.length; i++) {
    const own = slices[i];
    if (own) { out.push({ values: own, imputed: false, index: i }); continue; }
    if (method === 'skip') continue;
    const before = present.filter((p) => p < i).at(-1);
    const after = present.find((p) => p > i);
    if (before === undefined || after === undefined || method === 'nearest') {
      const nearest = before === undefined ? after! : after === undefined ? before
        : i - before <= after - i ? before : after;
      out.push({ values: Float32Array.from(slices[nearest]!), imputed: true, index: i });
      continue;
    }
    const t = (i - before) / (after - before);
    const a = slices[before]!, b = slices[after]!;
    const values = new Float32Array(a.length);
    for (let k = 0; k < a.length; k++) values[k] = a[k]! * (1 - t) + b[k]! * t;
    out.push({ values, imputed: true, index: i });
  }
  return out;
}
