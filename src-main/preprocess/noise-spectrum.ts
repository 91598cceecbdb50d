/**
 * The noise power spectrum of a series, measured from the series alone: what "Adapt to this
 * series" needs to make more noise exactly like the series' own (Recorrupted-to-Recorrupted
 * training), whatever the scanner's reconstruction kernel made of it.
 *
 * 64×64 (or, where too few are flat, 32×32) regions are cut on a half-overlapping grid from every slice; those with the least
 * anatomy — ranked by the spread of their 8×8 block means, where noise has averaged away but
 * organs and edges have not — are detrended (a least-squares plane) and their periodograms
 * averaged. That is the standard NPS measurement of CT physics, taken where the series is flat. The spectrum, a density in frequency, is
 * then resampled to the FFT size the caller draws noise at.
 */
import { fft2d, fftSize, frequency } from '../shared/fft2d.js';

export interface NoiseSpectrum {
  /** FFT side (a power of two ≥ the requested size). */
  size: number;
  /** |H| per FFT bin: white unit noise filtered by it has the measured spectrum and level. */
  amplitude: Float64Array;
  /** The measured noise σ (the spectrum's total power, square-rooted), in the slices' units. */
  sigma: number;
  /** Regions averaged. */
  regions: number;
}

export interface SpectrumSlice {
  values: Float32Array;
  width: number;
  height: number;
  /** 1 = padding or invalid: regions touching it are not used. */
  mask?: Uint8Array;
}

/** Fraction of the candidate regions (the flattest) that are averaged. */
const FLATTEST = 0.2;
/** Side of the smallest measured regions. */
const REGION = 32;
/** Fewer flat 64×64 regions than this: measure 32×32 ones. */
const MIN_REGIONS = 8;

/**
 * `floor`: regions with any value below it are not used — air and background, whose noise is not
 * the body's (lower in CT's air; Rayleigh, not Gaussian, in MR's background).
 */
export function estimateNoiseSpectrum(slices: SpectrumSlice[], size: number, floor = -Infinity): NoiseSpectrum {
  const measured = measuredPower(slices, floor);
  const n = fftSize(size);
  const power = resample(measured.power, measured.side, n);
  let total = 0;
  for (const p of power) total += p;
  return { size: n, amplitude: power.map(Math.sqrt), sigma: Math.sqrt(total / (n * n)), regions: measured.regions };
}

function measuredPower(slices: SpectrumSlice[], floor: number): { power: Float64Array; side: number; regions: number } {
  // 64×64 regions resolve long correlations; where too few are flat (small slices, busy anatomy), 32×32.
  for (const side of [2 * REGION, REGION]) {
    const found = measuredPowerAt(slices, floor, side);
    if (found && (found.regions >= MIN_REGIONS || side === REGION)) return { ...found, side };
  }
  throw new Error('unreachable');
}

function measuredPowerAt(slices: SpectrumSlice[], floor: number, n: number): { power: Float64Array; regions: number } | undefined {
  const candidates: { slice: SpectrumSlice; x: number; y: number; anatomy: number }[] = [];
  for (const slice of slices) {
    for (let y = 0; y + n <= slice.height; y += n / 2) {
      for (let x = 0; x + n <= slice.width; x += n / 2) {
        if (touchesMask(slice, x, y, n) || isConstant(slice, x, y, n) || regionMin(slice, x, y, n) < floor) continue;
        candidates.push({ slice, x, y, anatomy: blockMeanSpread(slice, x, y, n) });
      }
    }
  }
  if (candidates.length === 0) {
    if (n > REGION) return undefined;
    throw new Error(`noise spectrum: no ${n}×${n} region of tissue without padding in the series (slices smaller than ${n} pixels, or all background?)`);
  }
  candidates.sort((a, b) => a.anatomy - b.anatomy);
  const chosen = candidates.slice(0, Math.max(1, Math.round(FLATTEST * candidates.length)));
  const power = new Float64Array(n * n);
  const re = new Float64Array(n * n), im = new Float64Array(n * n);
  for (const c of chosen) {
    detrended(c.slice, c.x, c.y, n, re);
    im.fill(0);
    fft2d(re, im, n);
    for (let i = 0; i < power.length; i++) power[i]! += (re[i]! ** 2 + im[i]! ** 2) / (n * n * chosen.length);
  }
  return { power, regions: chosen.length };
}

/**
 * The power density measured on an m×m frequency grid, sampled on an n×n one (bilinear over
 * signed frequencies, periodic): the same spectrum for noise drawn at another size.
 */
function resample(power: Float64Array, m: number, n: number): Float64Array {
  if (m === n) return power;
  const out = new Float64Array(n * n);
  const at = (kx: number, ky: number) => power[(((ky % m) + m) % m) * m + (((kx % m) + m) % m)]!;
  for (let ky = 0; ky < n; ky++) {
    for (let kx = 0; kx < n; kx++) {
      // Bin position on the m-grid of this frequency (frequency × m), signed.
      const u = frequency(kx, n) * m, v = frequency(ky, n) * m;
      const x0 = Math.floor(u), y0 = Math.floor(v), fx = u - x0, fy = v - y0;
      out[ky * n + kx] = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
    }
  }
  return out;
}

function touchesMask(s: SpectrumSlice, x0: number, y0: number, n: number): boolean {
  if (!s.mask) return false;
  for (let y = y0; y < y0 + n; y++) for (let x = x0; x < x0 + n; x++) if (s.mask[y * s.width + x]) return true;
  return false;
}

function regionMin(s: SpectrumSlice, x0: number, y0: number, n: number): number {
  let min = Infinity;
  for (let y = y0; y < y0 + n; y++) for (let x = x0; x < x0 + n; x++) min = Math.min(min, s.values[y * s.width + x]!);
  return min;
}

/** Zeroed background or clipped air: no noise to measure. */
function isConstant(s: SpectrumSlice, x0: number, y0: number, n: number): boolean {
  const v0 = s.values[y0 * s.width + x0]!;
  let same = 0;
  for (let y = y0; y < y0 + n; y++) for (let x = x0; x < x0 + n; x++) if (s.values[y * s.width + x] === v0) same++;
  return same > 0.1 * n * n;
}

/** Spread of the region's 8×8 block means: anatomy, with the noise averaged down. */
function blockMeanSpread(s: SpectrumSlice, x0: number, y0: number, n: number): number {
  const b = 8, means: number[] = [];
  for (let by = y0; by < y0 + n; by += b) {
    for (let bx = x0; bx < x0 + n; bx += b) {
      let sum = 0;
      for (let y = by; y < by + b; y++) for (let x = bx; x < bx + b; x++) sum += s.values[y * s.width + x]!;
      means.push(sum / (b * b));
    }
  }
  const mean = means.reduce((a, v) => a + v, 0) / means.length;
  return means.reduce((a, v) => a + (v - mean) ** 2, 0) / means.length;
}

/** The region minus its least-squares plane, into `out` (n×n). */
function detrended(s: SpectrumSlice, x0: number, y0: number, n: number, out: Float64Array): void {
  // Centred coordinates make the plane's three normal equations independent.
  const c = (n - 1) / 2;
  let sv = 0, sx = 0, sy = 0, sxx = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const v = s.values[(y0 + y) * s.width + x0 + x]!;
      sv += v; sx += v * (x - c); sy += v * (y - c);
    }
  }
  for (let x = 0; x < n; x++) sxx += (x - c) ** 2;
  sxx *= n;
  const a = sv / (n * n), bx = sx / sxx, by = sy / sxx;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) out[y * n + x] = s.values[(y0 + y) * s.width + x0 + x]! - a - bx * (x - c) - by * (y - c);
  }
}
