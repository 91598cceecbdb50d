/**
 * The statistics of the bias report: means with 95 % confidence intervals from Student's t
 * (series are the unit: slices of one series are not independent samples).
 */

/** Two-sided 95 % quantiles of Student's t for 1–30 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
  2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042];

export function tQuantile975(df: number): number {
  if (!(df >= 1)) throw new Error(`t quantile: degrees of freedom must be ≥ 1 (got ${df})`);
  if (df <= 30) return T975[Math.round(df) - 1]!;
  // Cornish–Fisher expansion around the normal quantile: within 1e-3 beyond 30 degrees of freedom.
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export interface MeanCi { n: number; mean: number; sd: number | null; ci: [number, number] | null }

export function meanCi(values: number[]): MeanCi {
  const finite = values.filter(Number.isFinite);
  const n = finite.length;
  if (n === 0) return { n: 0, mean: NaN, sd: null, ci: null };
  const mean = finite.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: null, ci: null };
  const sd = Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = tQuantile975(n - 1) * sd / Math.sqrt(n);
  return { n, mean, sd, ci: [mean - half, mean + half] };
}
