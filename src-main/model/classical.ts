/**
 * Classical denoising filters, beside the learned models behind the same `SliceDenoiser`
 * interface so users and benchmarks compare them on equal terms. They work on physical values;
 * edge-preserving strengths are multiples of the slice's estimated noise σ (Immerkær 1996), so one
 * setting suits CT in HU and MR in arbitrary units alike. An absolute value can be given instead.
 */
import { z } from 'zod';
import { imputePixels, invalidMask } from '../preprocess/impute.js';
import { gaussianKernel, reflectIndex, separableFilter } from './metrics.js';
import type { SliceDenoiser, SliceInput } from './denoiser.js';

/** A strength: `{ sigmas: k }` = k × estimated noise σ, or `{ absolute: v }` in image units. */
const Strength = z.union([
  z.object({ sigmas: z.number().positive() }),
  z.object({ absolute: z.number().positive() }),
]);

export const ClassicalSpec = z.discriminatedUnion('filter', [
  z.object({ filter: z.literal('gaussian'), sigma: z.number().positive().max(20).default(1) }),
  z.object({ filter: z.literal('median'), radius: z.number().int().min(1).max(5).default(1) }),
  z.object({
    filter: z.literal('bilateral'), sigmaSpatial: z.number().positive().max(10).default(1.5),
    sigmaRange: Strength.default({ sigmas: 2 }),
  }),
  z.object({
    filter: z.literal('nlm'), patchRadius: z.number().int().min(1).max(4).default(2),
    searchRadius: z.number().int().min(1).max(15).default(7), h: Strength.default({ sigmas: 0.8 }),
  }),
  z.object({
    filter: z.literal('diffusion'), iterations: z.number().int().min(1).max(500).default(20),
    kappa: Strength.default({ sigmas: 1 }), lambda: z.number().positive().max(0.25).default(0.2),
  }),
]);
export type ClassicalSpec = z.input<typeof ClassicalSpec>;
export const CLASSICAL_FILTERS = ['gaussian', 'median', 'bilateral', 'nlm', 'diffusion'] as const;

/** Noise σ from the Laplacian-difference operator (Immerkær, CVIU 1996): fast and edge-tolerant. */
export function estimateNoiseSigma(values: Float32Array, width: number, height: number): number {
  if (width < 3 || height < 3) return 0;
  let acc = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const v = values[i - width - 1]! - 2 * values[i - width]! + values[i - width + 1]!
        - 2 * values[i - 1]! + 4 * values[i]! - 2 * values[i + 1]!
        + values[i + width - 1]! - 2 * values[i + width]! + values[i + width + 1]!;
      acc += Math.abs(v);
    }
  }
  return (Math.sqrt(Math.PI / 2) * acc) / (6 * (width - 2) * (height - 2));
}

function resolveStrength(s: z.infer<typeof Strength>, sigma: () => number): number {
  return 'absolute' in s ? s.absolute : Math.max(1e-6, s.sigmas * sigma());
}

export function gaussianFilter(values: Float32Array, width: number, height: number, sigma: number): Float32Array {
  return Float32Array.from(separableFilter(Float64Array.from(values), width, height, gaussianKernel(sigma, 3)));
}

export function medianFilter(values: Float32Array, width: number, height: number, radius: number): Float32Array {
  const out = new Float32Array(values.length);
  const win = new Float32Array((2 * radius + 1) ** 2);
  const mid = win.length >> 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let n = 0;
      for (let dy = -radius; dy <= radius; dy++) {
        const row = reflectIndex(y + dy, height) * width;
        for (let dx = -radius; dx <= radius; dx++) win[n++] = values[row + reflectIndex(x + dx, width)]!;
      }
      out[y * width + x] = quickSelect(win, mid);
    }
  }
  return out;
}

function quickSelect(a: Float32Array, k: number): number {
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) { const t = a[i]!; a[i] = a[j]!; a[j] = t; i++; j--; }
    }
    if (k <= j) hi = j; else if (k >= i) lo = i; else break;
  }
  return a[k]!;
}

export function bilateralFilter(values: Float32Array, width: number, height: number,
  sigmaSpatial: number, sigmaRange: number): Float32Array {
  const r = Math.max(1, Math.ceil(2 * sigmaSpatial));
  const spatial = new Float64Array((2 * r + 1) ** 2);
  for (let dy = -r, n = 0; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) spatial[n++] = Math.exp(-(dx * dx + dy * dy) / (2 * sigmaSpatial ** 2));
  const inv2r = 1 / (2 * sigmaRange * sigmaRange);
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = values[y * width + x]!;
      let wsum = 0, acc = 0, n = 0;
      for (let dy = -r; dy <= r; dy++) {
        const row = reflectIndex(y + dy, height) * width;
        for (let dx = -r; dx <= r; dx++) {
          const v = values[row + reflectIndex(x + dx, width)]!;
          const d = v - c;
          const w = spatial[n++]! * Math.exp(-d * d * inv2r);
          wsum += w; acc += w * v;
        }
      }
      out[y * width + x] = acc / wsum;
    }
  }
  return out;
}

/**
 * Non-local means with patch distances from integral images: one pass per search offset, so the
 * cost is O(pixels × search window) whatever the patch size.
 */
export function nonLocalMeans(values: Float32Array, width: number, height: number,
  patchRadius: number, searchRadius: number, h: number, noiseSigma: number): Float32Array {
  const n = width * height;
  const acc = new Float64Array(n), wsum = new Float64Array(n), wmax = new Float64Array(n);
  const diff = new Float64Array(n);
  const integral = new Float64Array((width + 1) * (height + 1));
  const invH2 = 1 / (h * h);
  const bias = 2 * noiseSigma * noiseSigma; // expected squared difference of two noisy copies
  for (let oy = -searchRadius; oy <= searchRadius; oy++) {
    for (let ox = -searchRadius; ox <= searchRadius; ox++) {
      if (ox === 0 && oy === 0) continue;
      for (let y = 0; y < height; y++) {
        const yy = reflectIndex(y + oy, height) * width;
        for (let x = 0; x < width; x++) {
          const d = values[y * width + x]! - values[yy + reflectIndex(x + ox, width)]!;
          diff[y * width + x] = d * d;
        }
      }
      for (let y = 0; y < height; y++) {
        let row = 0;
        for (let x = 0; x < width; x++) {
          row += diff[y * width + x]!;
          integral[(y + 1) * (width + 1) + x + 1] = integral[y * (width + 1) + x + 1]! + row;
        }
      }
      for (let y = 0; y < height; y++) {
        const y0 = Math.max(0, y - patchRadius), y1 = Math.min(height, y + patchRadius + 1);
        const yy = reflectIndex(y + oy, height) * width;
        for (let x = 0; x < width; x++) {
          const x0 = Math.max(0, x - patchRadius), x1 = Math.min(width, x + patchRadius + 1);
          const sum = integral[y1 * (width + 1) + x1]! - integral[y0 * (width + 1) + x1]!
            - integral[y1 * (width + 1) + x0]! + integral[y0 * (width + 1) + x0]!;
          const dist = sum / ((y1 - y0) * (x1 - x0)) - bias;
          const w = Math.exp(-Math.max(dist, 0) * invH2);
          const i = y * width + x;
          acc[i]! += w * values[yy + reflectIndex(x + ox, width)]!;
          wsum[i]! += w;
          if (w > wmax[i]!) wmax[i] = w;
        }
      }
    }
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // The centre pixel gets the largest weight seen elsewhere (Buades et al.), not 1.
    const wc = wmax[i]! || 1;
    out[i] = (acc[i]! + wc * values[i]!) / (wsum[i]! + wc);
  }
  return out;
}

/** Perona–Malik diffusion with the exponential conductance. */
export function anisotropicDiffusion(values: Float32Array, width: number, height: number,
  iterations: number, kappa: number, lambda: number): Float32Array {
  let cur = Float32Array.from(values);
  let next = new Float32Array(values.length);
  const inv = 1 / (kappa * kappa);
  const g = (d: number) => Math.exp(-d * d * inv) * d;
  for (let it = 0; it < iterations; it++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x, c = cur[i]!;
        const north = y > 0 ? cur[i - width]! - c : 0;
        const south = y < height - 1 ? cur[i + width]! - c : 0;
        const west = x > 0 ? cur[i - 1]! - c : 0;
        const east = x < width - 1 ? cur[i + 1]! - c : 0;
        next[i] = c + lambda * (g(north) + g(south) + g(west) + g(east));
      }
    }
    [cur, next] = [next, cur];
  }
  return cur;
}

/** Runs one classical filter on physical values. */
export function applyClassical(spec: ClassicalSpec, values: Float32Array, width: number, height: number): Float32Array {
  if (values.length !== width * height) throw new Error(`filter: expected ${width * height} values, got ${values.length}`);
  const p = ClassicalSpec.parse(spec);
  let sigma: number | undefined;
  const noise = () => (sigma ??= estimateNoiseSigma(values, width, height));
  switch (p.filter) {
    case 'gaussian': return gaussianFilter(values, width, height, p.sigma);
    case 'median': return medianFilter(values, width, height, p.radius);
    case 'bilateral': return bilateralFilter(values, width, height, p.sigmaSpatial, resolveStrength(p.sigmaRange, noise));
    case 'nlm': return nonLocalMeans(values, width, height, p.patchRadius, p.searchRadius, resolveStrength(p.h, noise), noise());
    case 'diffusion': return anisotropicDiffusion(values, width, height, p.iterations, resolveStrength(p.kappa, noise), p.lambda);
  }
}

export class ClassicalDenoiser implements SliceDenoiser {
  readonly kind = 'classical';
  readonly name: string;
  private readonly spec: ClassicalSpec;

  constructor(spec: ClassicalSpec) {
    this.spec = ClassicalSpec.parse(spec);
    this.name = `${this.spec.filter} filter`;
  }

  /**
   * Padding and invalid pixels are filled from their nearest valid neighbour before filtering, so
   * −2000 "outside the scan" values never bleed into the body, and are put back unchanged after.
   */
  denoise(input: SliceInput): Promise<Float32Array> {
    const mask = invalidMask(input.values, input.mask);
    const any = mask.some((m) => m === 1);
    const filled = any ? imputePixels(input.values, input.width, input.height, mask, { method: 'nearest' }).values : input.values;
    const out = applyClassical(this.spec, filled, input.width, input.height);
    if (any) for (let i = 0; i < out.length; i++) if (mask[i]) out[i] = input.values[i]!;
    return Promise.resolve(out);
  }

  dispose(): void { /* nothing held */ }
}
