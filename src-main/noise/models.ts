/**
 * Seeded noise models. Every model works on physical values (HU for CT, signal for MR) of one
 * slice and returns a new array; the clean input is never modified.
 */
import { fftSize, filteredNoise, frequency } from '../shared/fft2d.js';
import { z } from 'zod';
import { Rng } from './rng.js';

/**
 * A fixed level, or a range sampled per slice (for blind models): uniformly, or log-uniformly so
 * that low levels — where over-smoothing costs most — get as much training as high ones.
 */
export const NoiseLevel = z.union([
  z.number().nonnegative(),
  z.object({ min: z.number().nonnegative(), max: z.number().nonnegative(), distribution: z.enum(['uniform', 'log-uniform']).optional() })
    .refine((r) => r.max >= r.min, 'max must be ≥ min')
    .refine((r) => r.distribution !== 'log-uniform' || r.min > 0, 'a log-uniform range needs min > 0'),
]);
export type NoiseLevel = z.infer<typeof NoiseLevel>;

/** σ in the image's own units ('absolute', e.g. HU) or in % of the slice's value range. */
const Units = z.enum(['absolute', 'percent']).default('absolute');

export const NoiseSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('gaussian'), sigma: NoiseLevel, units: Units }),
  z.object({
    kind: z.literal('correlated'), sigma: NoiseLevel, units: Units,
    /** Correlation length in pixels (σ of the Gaussian that filters white noise). */
    correlation: z.number().positive().max(10).default(1),
  }),
  /**
   * CT noise as filtered back-projection makes it: white noise on the projections becomes image
   * noise whose power spectrum is |f|·A(f)² — the ramp filter times the reconstruction kernel's
   * apodisation window — little energy at the lowest frequencies, a peak below the kernel's
   * cutoff, none above it. Unlike a low-pass filtered Gaussian, this is the texture of real scans.
   */
  z.object({ kind: z.literal('fbp'), sigma: NoiseLevel, units: Units, kernel: z.enum(['smooth', 'standard', 'sharp']).default('standard') }),
  z.object({ kind: z.literal('rician'), sigma: NoiseLevel, units: Units }),
  /** Multiplicative: x + x·n, n ~ N(0, σ²); σ is relative (0.1 = 10 %). */
  z.object({ kind: z.literal('speckle'), sigma: NoiseLevel }),
  /**
   * Low-dose CT approximation: each pixel's HU becomes an attenuation along a fixed path, seen
   * with `photons` incident photons; counts are Poisson and converted back to HU. Fewer photons,
   * more noise; dense tissue gets noisier than air, as in real low-dose scans.
   */
  z.object({
    kind: z.literal('poisson'), photons: NoiseLevel,
    /** Path length × water attenuation, i.e. −ln(transmission) of water (≈ 0.19/cm × 20 cm). */
    waterPathAttenuation: z.number().positive().default(3.8),
  }),
]);
export type NoiseSpec = z.input<typeof NoiseSpec>;
export type NoiseSpecParsed = z.output<typeof NoiseSpec>;

export interface NoiseResult {
  noisy: Float32Array;
  /** The level actually applied (after sampling a range and converting % to absolute). */
  level: number;
}

function sampleLevel(level: NoiseLevel, rng: Rng): number {
  if (typeof level === 'number') return level;
  if (level.distribution === 'log-uniform') return Math.exp(rng.uniform(Math.log(level.min), Math.log(level.max)));
  return rng.uniform(level.min, level.max);
}

function valueRange(values: Float32Array): number {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi > lo ? hi - lo : 1;
}

function absoluteSigma(spec: { sigma: NoiseLevel; units: 'absolute' | 'percent' }, values: Float32Array, rng: Rng): number {
  const sigma = sampleLevel(spec.sigma, rng);
  return spec.units === 'percent' ? (sigma / 100) * valueRange(values) : sigma;
}

/** White noise filtered by a separable Gaussian and rescaled to unit variance. */
export function correlatedField(width: number, height: number, correlation: number, rng: Rng): Float32Array {
  const white = new Float32Array(width * height);
  for (let i = 0; i < white.length; i++) white[i] = rng.normal();
  const radius = Math.max(1, Math.ceil(3 * correlation));
  const kernel = new Float32Array(2 * radius + 1);
  let sumSq = 0;
  for (let k = -radius; k <= radius; k++) kernel[k + radius] = Math.exp(-(k * k) / (2 * correlation * correlation));
  for (const k of kernel) sumSq += k * k;
  // Each 1-D pass multiplies the variance of white noise by Σh²; after both, divide by Σh².
  const tmp = new Float32Array(width * height);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let k = -radius; k <= radius; k++) {
        const xx = (x + k + width) % width; // periodic: keeps the field stationary at the borders
        acc += kernel[k + radius]! * white[y * width + xx]!;
      }
      tmp[y * width + x] = acc;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let k = -radius; k <= radius; k++) {
        const yy = (y + k + height) % height;
        acc += kernel[k + radius]! * tmp[yy * width + x]!;
      }
      out[y * width + x] = acc / sumSq;
    }
  }
  return out;
}

export type FbpKernel = 'smooth' | 'standard' | 'sharp';

/** Apodisation of the ramp filter by kernel: cutoff (cycles/pixel) and window shape. */
const FBP_KERNELS: Record<FbpKernel, { cutoff: number; window: (r: number) => number }> = {
  smooth: { cutoff: 0.3, window: (r) => 0.5 * (1 + Math.cos(Math.PI * r)) }, // Hann, soft-tissue kernels
  standard: { cutoff: 0.5, window: (r) => 0.5 * (1 + Math.cos(Math.PI * r)) }, // Hann at Nyquist
  sharp: { cutoff: 0.5, window: (r) => (r === 0 ? 1 : Math.sin((Math.PI * r) / 2) / ((Math.PI * r) / 2)) }, // Shepp–Logan
};

/**
 * A unit-variance noise field with the FBP power spectrum of `kernel`: white noise filtered in
 * the Fourier domain of the next power-of-two square (periodic: stationary up to the borders),
 * cropped to width × height.
 */
export function fbpField(width: number, height: number, kernel: FbpKernel, rng: Rng): Float32Array {
  const n = fftSize(Math.max(width, height));
  return filteredNoise(fbpAmplitude(n, kernel), n, width, height, () => rng.normal());
}

/** |H| of a kernel on an n×n FFT grid, computed once per size and kernel (training draws one per patch). */
const fbpAmplitudes = new Map<string, Float64Array>();
function fbpAmplitude(n: number, kernel: FbpKernel): Float64Array {
  const key = `${n}:${kernel}`;
  let amplitude = fbpAmplitudes.get(key);
  if (amplitude) return amplitude;
  const { cutoff, window } = FBP_KERNELS[kernel];
  amplitude = new Float64Array(n * n);
  for (let ky = 0; ky < n; ky++) {
    for (let kx = 0; kx < n; kx++) {
      const rho = Math.hypot(frequency(kx, n), frequency(ky, n));
      amplitude[ky * n + kx] = rho < cutoff ? Math.sqrt(rho) * window(rho / cutoff) : 0;
    }
  }
  fbpAmplitudes.set(key, amplitude);
  return amplitude;
}

/** Adds noise to one slice. `seed` makes it reproducible; `rng` lets callers share a stream. */
export function addNoise(values: Float32Array, width: number, height: number, spec: NoiseSpec,
  source: number | Rng): NoiseResult {
  if (values.length !== width * height) throw new Error(`noise: expected ${width * height} values, got ${values.length}`);
  const parsed = NoiseSpec.parse(spec);
  const rng = typeof source === 'number' ? new Rng(source) : source;
  const noisy = new Float32Array(values.length);
  switch (parsed.kind) {
    case 'gaussian': {
      const sigma = absoluteSigma(parsed, values, rng);
      for (let i = 0; i < values.length; i++) noisy[i] = values[i]! + sigma * rng.normal();
      return { noisy, level: sigma };
    }
    case 'correlated': {
      const sigma = absoluteSigma(parsed, values, rng);
      const field = correlatedField(width, height, parsed.correlation, rng);
      for (let i = 0; i < values.length; i++) noisy[i] = values[i]! + sigma * field[i]!;
      return { noisy, level: sigma };
    }
    case 'fbp': {
      const sigma = absoluteSigma(parsed, values, rng);
      const field = fbpField(width, height, parsed.kernel, rng);
      for (let i = 0; i < values.length; i++) noisy[i] = values[i]! + sigma * field[i]!;
      return { noisy, level: sigma };
    }
    case 'rician': {
      const sigma = absoluteSigma(parsed, values, rng);
      for (let i = 0; i < values.length; i++) {
        const re = values[i]! + sigma * rng.normal();
        const im = sigma * rng.normal();
        noisy[i] = Math.sqrt(re * re + im * im);
      }
      return { noisy, level: sigma };
    }
    case 'speckle': {
      const sigma = sampleLevel(parsed.sigma, rng);
      for (let i = 0; i < values.length; i++) noisy[i] = values[i]! * (1 + sigma * rng.normal());
      return { noisy, level: sigma };
    }
    case 'poisson': {
      const photons = sampleLevel(parsed.photons, rng);
      const muWater = parsed.waterPathAttenuation;
      for (let i = 0; i < values.length; i++) {
        const attenuation = Math.max(0, muWater * (1 + values[i]! / 1000));
        const expected = photons * Math.exp(-attenuation);
        const counts = Math.max(1, rng.poisson(expected)); // a zero count would be infinite attenuation
        noisy[i] = (Math.log(photons / counts) / muWater - 1) * 1000;
      }
      return { noisy, level: photons };
    }
  }
}
