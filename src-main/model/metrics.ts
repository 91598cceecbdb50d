/**
 * Image-quality metrics, matching scikit-image's definitions so figures compare with the
 * literature: PSNR with an explicit data range, and SSIM with a Gaussian window (σ 1.5, truncated
 * at 3.5σ, 'reflect' borders, population covariance, K1 0.01, K2 0.03; Wang et al. 2004), averaged
 * over the image minus a 5-pixel border, as `skimage.metrics.structural_similarity` does.
 */

type Values = ArrayLike<number>;

function checkSameLength(a: Values, b: Values, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: images differ in size (${a.length} vs ${b.length} pixels)`);
  if (a.length === 0) throw new Error(`${what}: empty image`);
}

export function mse(reference: Values, test: Values): number {
  checkSameLength(reference, test, 'MSE');
  let acc = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = test[i]! - reference[i]!;
    acc += d * d;
  }
  return acc / reference.length;
}

export function mae(reference: Values, test: Values): number {
  checkSameLength(reference, test, 'MAE');
  let acc = 0;
  for (let i = 0; i < reference.length; i++) acc += Math.abs(test[i]! - reference[i]!);
  return acc / reference.length;
}

/** PSNR in dB; `dataRange` is the span of possible values (e.g. the window width, or max − min). */
export function psnr(reference: Values, test: Values, dataRange: number): number {
  checkSameLength(reference, test, 'PSNR');
  if (!(dataRange > 0)) throw new Error(`PSNR: data range must be positive (got ${dataRange})`);
  const err = mse(reference, test);
  return err === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / err);
}

/** Normalised 1-D Gaussian, radius = int(truncate·σ + 0.5) as scipy.ndimage computes it. */
export function gaussianKernel(sigma: number, truncate = 4): Float64Array {
  const radius = Math.floor(truncate * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/** scipy 'reflect' (half-sample symmetric: d c b a | a b c d | d c b a). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let m = ((i % period) + period) % period;
  if (m >= n) m = period - 1 - m;
  return m;
}

/** Separable convolution with reflect borders, in float64. */
export function separableFilter(src: Float64Array, width: number, height: number, kernel: Float64Array): Float64Array {
  const r = (kernel.length - 1) >> 1;
  const tmp = new Float64Array(src.length);
  const out = new Float64Array(src.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += kernel[k + r]! * src[row + reflectIndex(x + k, width)]!;
      tmp[row + x] = acc;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let acc = 0;
      for (let k = -r; k <= r; k++) acc += kernel[k + r]! * tmp[reflectIndex(y + k, height) * width + x]!;
      out[y * width + x] = acc;
    }
  }
  return out;
}

export interface SsimOptions {
  dataRange: number;
  sigma?: number;
  k1?: number;
  k2?: number;
}

export function ssim(reference: Values, test: Values, width: number, height: number, options: SsimOptions): number {
  checkSameLength(reference, test, 'SSIM');
  if (reference.length !== width * height) throw new Error(`SSIM: expected ${width}×${height} pixels`);
  const { dataRange, sigma = 1.5, k1 = 0.01, k2 = 0.03 } = options;
  if (!(dataRange > 0)) throw new Error(`SSIM: data range must be positive (got ${dataRange})`);
  const truncate = 3.5;
  const kernel = gaussianKernel(sigma, truncate);
  const pad = (kernel.length - 1) >> 1;
  if (width <= 2 * pad || height <= 2 * pad) throw new Error(`SSIM: image smaller than the ${kernel.length}-pixel window`);
  const n = width * height;
  const x = Float64Array.from(reference), y = Float64Array.from(test);
  const xx = new Float64Array(n), yy = new Float64Array(n), xy = new Float64Array(n);
  for (let i = 0; i < n; i++) { xx[i] = x[i]! * x[i]!; yy[i] = y[i]! * y[i]!; xy[i] = x[i]! * y[i]!; }
  const [ux, uy, uxx, uyy, uxy] = [x, y, xx, yy, xy].map((a) => separableFilter(a, width, height, kernel)) as
    [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  const c1 = (k1 * dataRange) ** 2, c2 = (k2 * dataRange) ** 2;
  let sum = 0, count = 0;
  for (let r = pad; r < height - pad; r++) {
    for (let c = pad; c < width - pad; c++) {
      const i = r * width + c;
      const mx = ux[i]!, my = uy[i]!;
      const vx = uxx[i]! - mx * mx, vy = uyy[i]! - my * my, vxy = uxy[i]! - mx * my;
      sum += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
  }
  return sum / count;
}

export interface Roi { x: number; y: number; width: number; height: number }

export interface RoiStats { mean: number; std: number; count: number }

/** Mean and population σ inside a rectangle (clamped to the image). */
export function roiStats(values: Values, width: number, height: number, roi: Roi): RoiStats {
  const x0 = Math.max(0, Math.floor(roi.x)), y0 = Math.max(0, Math.floor(roi.y));
  const x1 = Math.min(width, Math.floor(roi.x + roi.width)), y1 = Math.min(height, Math.floor(roi.y + roi.height));
  if (x1 <= x0 || y1 <= y0) throw new Error(`ROI ${JSON.stringify(roi)} lies outside the ${width}×${height} image`);
  let sum = 0, sumSq = 0, count = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const v = values[y * width + x]!;
      sum += v; sumSq += v * v; count++;
    }
  }
  const mean = sum / count;
  return { mean, std: Math.sqrt(Math.max(0, sumSq / count - mean * mean)), count };
}

/** Change of the mean inside the ROI: a denoiser must not shift HU. */
export function meanShift(reference: Values, test: Values, width: number, height: number, roi: Roi): number {
  return roiStats(test, width, height, roi).mean - roiStats(reference, width, height, roi).mean;
}

export interface QualityReport { psnr: number; ssim: number; mse: number; mae: number; dataRange: number }

export function qualityReport(reference: Values, test: Values, width: number, height: number, dataRange: number): QualityReport {
  return {
    psnr: psnr(reference, test, dataRange),
    ssim: ssim(reference, test, width, height, { dataRange }),
    mse: mse(reference, test),
    mae: mae(reference, test),
    dataRange,
  };
}
