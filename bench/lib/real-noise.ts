/**
 * What a model does to noise nobody added — the check synthetic noise cannot make:
 * - repeat scans (two acquisitions of the same slices, independent noise n1, n2): with y1 = x + n1,
 *   y2 = x + n2, E‖f(y1) − y2‖² = E‖f(y1) − x‖² + σ², so the model is closer to the truth than its
 *   input exactly when ‖f(y1) − y2‖ < ‖y1 − y2‖, and (σ² ≈ ‖y1 − y2‖²/2) the gain in dB follows;
 * - one acquisition: what the model removed (y − f(y)) should be noise-sized and unrelated to
 *   edges: its spread against the image's own noise estimate and its correlation with the
 *   gradient magnitude are printed, and the difference images are drawn.
 */
import { estimateNoiseSigma } from '../../src-main/preprocess/noise-level.js';
import { repeatNoiseSigma } from '../../src-main/preprocess/repeat-noise.js';

export interface RepeatScore {
  /** RMS of y1 − y2 and of f(y1) − y2 inside the tissue mask. */
  inputRms: number;
  modelRms: number;
  /** 10·log10(σ² / ‖f(y1) − x‖²) with σ² = ‖y1 − y2‖²/2: the model's estimated gain over its input. */
  gainDb: number;
}

/** Accumulates squared differences over slices of a repeat pair; `mask` selects tissue. */
export class RepeatAccumulator {
  private inSq = 0;
  private outSq = 0;
  private n = 0;

  add(first: Float32Array, second: Float32Array, denoisedFirst: Float32Array, mask: Uint8Array): void {
    for (let i = 0; i < first.length; i++) {
      if (!mask[i]) continue;
      this.inSq += (first[i]! - second[i]!) ** 2;
      this.outSq += (denoisedFirst[i]! - second[i]!) ** 2;
      this.n++;
    }
  }

  score(): RepeatScore {
    const inMse = this.inSq / this.n, outMse = this.outSq / this.n;
    const sigma2 = inMse / 2;
    const modelError = outMse - sigma2;
    return {
      inputRms: Math.sqrt(inMse), modelRms: Math.sqrt(outMse),
      gainDb: modelError > 0 ? 10 * Math.log10(sigma2 / modelError) : Infinity,
    };
  }
}

/**
 * σ of a repeat pair's slice `z` as the app measures a series with time points (jobs/series-context.ts),
 * from every other slice's pair: the reference slice a score is taken against does not set it.
 */
export function repeatSigmaWithout(first: Float32Array[], second: Float32Array[], z: number): number {
  const sigma = repeatNoiseSigma(first.flatMap((f, k) => (k === z ? [] : [{ first: f, second: second[k]! }])), { backgroundFraction: 0.1 });
  if (sigma === undefined) throw new Error('repeat pair: too little tissue to measure its noise');
  return sigma;
}

/** Tissue: above `fraction` of the slice's 99th percentile (background air is only noise). */
export function tissueMask(values: Float32Array, fraction = 0.1): Uint8Array {
  const sorted = Float32Array.from(values).sort();
  const threshold = fraction * sorted[Math.floor(0.99 * (sorted.length - 1))]!;
  return Uint8Array.from(values, (v) => (v > threshold ? 1 : 0));
}

export interface ResidualScore {
  /** std of (input − output) over tissue / the input's estimated noise σ. */
  removedOverNoise: number;
  /** Pearson correlation of |input − output| with the input's gradient magnitude over tissue. */
  edgeCorrelation: number;
}

export function residualScore(input: Float32Array, output: Float32Array, width: number, height: number, mask: Uint8Array): ResidualScore {
  const sigma = estimateNoiseSigma(input, width, height);
  let s = 0, s2 = 0, n = 0;
  const a: number[] = [], g: number[] = [];
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      const r = input[i]! - output[i]!;
      s += r; s2 += r * r; n++;
      a.push(Math.abs(r));
      g.push(Math.hypot(input[i + 1]! - input[i - 1]!, input[i + width]! - input[i - width]!));
    }
  }
  const std = Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
  return { removedOverNoise: sigma > 0 ? std / sigma : Infinity, edgeCorrelation: pearson(a, g) };
}

function pearson(a: number[], b: number[]): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]!; mb += b[i]!; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma, db = b[i]! - mb;
    sab += da * db; saa += da * da; sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}
