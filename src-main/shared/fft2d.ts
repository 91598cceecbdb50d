/**
 * Two-dimensional FFTs of power-of-two squares (fft.js for the 1-D transforms), for the noise
 * spectra: synthesising noise with a given power spectrum (noise/) and measuring one (preprocess/).
 */
import FFT from 'fft.js';

const plans = new Map<number, FFT>();
function plan(n: number): FFT {
  let f = plans.get(n);
  if (!f) plans.set(n, f = new FFT(n));
  return f;
}

/** The smallest power of two ≥ `size` (at least 8). */
export function fftSize(size: number): number {
  let n = 8;
  while (n < size) n *= 2;
  return n;
}

/** In-place 2-D transform of an n×n complex image (re, im row-major); the inverse divides by n². */
export function fft2d(re: Float64Array, im: Float64Array, n: number, inverse = false): void {
  const fft = plan(n);
  const line = fft.createComplexArray() as number[], out = fft.createComplexArray() as number[];
  for (const [stride, step] of [[1, n], [n, 1]] as const) { // rows, then columns
    for (let a = 0; a < n; a++) {
      for (let k = 0; k < n; k++) { const i = a * step + k * stride; line[2 * k] = re[i]!; line[2 * k + 1] = im[i]!; }
      if (inverse) fft.inverseTransform(out, line); else fft.transform(out, line);
      for (let k = 0; k < n; k++) { const i = a * step + k * stride; re[i] = out[2 * k]!; im[i] = out[2 * k + 1]!; }
    }
  }
}

/** Signed frequency (cycles/pixel) of FFT bin k of n. */
export function frequency(k: number, n: number): number {
  return (k < n / 2 ? k : k - n) / n;
}

/**
 * White noise filtered by `amplitude` (n×n, per FFT bin, |H|), cropped to width × height and
 * scaled to unit variance analytically (σ² = Σ|H|²/n² for unit white noise) — so a field drawn
 * from a measured spectrum keeps the level it was measured at when `unitVariance` is false.
 */
export function filteredNoise(amplitude: Float64Array, n: number, width: number, height: number, normal: () => number, unitVariance = true): Float32Array {
  const re = new Float64Array(n * n), im = new Float64Array(n * n);
  for (let i = 0; i < re.length; i++) re[i] = normal();
  fft2d(re, im, n);
  let power = 0;
  for (let i = 0; i < re.length; i++) {
    const h = amplitude[i]!;
    re[i]! *= h; im[i]! *= h;
    power += h * h;
  }
  fft2d(re, im, n, true);
  const scale = unitVariance && power > 0 ? 1 / Math.sqrt(power / (n * n)) : 1;
  const field = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) field[y * width + x] = re[y * n + x]! * scale;
  return field;
}
