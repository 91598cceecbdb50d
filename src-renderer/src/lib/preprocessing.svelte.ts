/**
 * The normalisation and imputation the user chose in Settings: one shared state, previewed there
 * and used by training (a trained model then applies exactly this at inference, via its card).
 */
export interface PreprocessingChoice {
  kind: 'window' | 'minmax' | 'zscore' | 'percentile';
  scope: 'slice' | 'volume';
  center: number;
  width: number;
  /** window only: false keeps the linear map without clipping (air to metal stay in) */
  clip: boolean;
  low: number;
  high: number;
  method: 'nearest' | 'constant' | 'mean' | 'median' | 'inpaint';
  constant: number;
}

/**
 * What the shipped defaults use: CT a fixed window from −1100 to 2900 HU (air to dense bone
 * inside; an unclipped soft-tissue scale was tried and did worse on real air and bone), MR a
 * percentile clip of its bright tail per volume.
 */
export function defaultsFor(modality: string | undefined): PreprocessingChoice {
  return modality === 'MR'
    ? { kind: 'percentile', scope: 'volume', center: 40, width: 400, clip: true, low: 0, high: 99.9, method: 'nearest', constant: 0 }
    : { kind: 'window', scope: 'slice', center: 900, width: 4000, clip: true, low: 0.5, high: 99.5, method: 'nearest', constant: -1000 };
}

export const preprocessing: PreprocessingChoice = $state(defaultsFor('CT'));

export function resetPreprocessing(modality: string | undefined): void {
  Object.assign(preprocessing, defaultsFor(modality));
}

export function normalisationSpec(p: PreprocessingChoice): Record<string, unknown> {
  switch (p.kind) {
    case 'window': return { kind: 'window', center: p.center, width: p.width, clip: p.clip };
    case 'percentile': return { kind: 'percentile', scope: p.scope, low: p.low, high: p.high };
    default: return { kind: p.kind, scope: p.scope };
  }
}

export function imputationSpec(p: PreprocessingChoice): Record<string, unknown> {
  if (p.method === 'constant') return { method: 'constant', value: p.constant };
  if (p.method === 'inpaint') return { method: 'inpaint', iterations: 200 };
  return { method: p.method };
}

export function describePreprocessing(p: PreprocessingChoice): string {
  const norm = p.kind === 'window' ? `window ${p.center}/${p.width}${p.clip ? '' : ' unclipped'}`
    : p.kind === 'percentile' ? `percentile ${p.low}–${p.high} % per ${p.scope}` : `${p.kind} per ${p.scope}`;
  return `${norm}; imputation: ${p.method}${p.method === 'constant' ? ` ${p.constant}` : ''}`;
}
