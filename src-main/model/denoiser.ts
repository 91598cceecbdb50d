/**
 * The one interface behind every denoising method, learned or classical: physical values of one
 * slice in (HU for CT), physical values out. Volume jobs, the CLI and benchmarks only see this.
 */
export interface SliceInput {
  values: Float32Array;
  width: number;
  height: number;
  /** 1 where the pixel is padding/invalid (already imputed in `values`). */
  mask?: Uint8Array;
}

export interface SliceDenoiser {
  readonly kind: 'model' | 'classical';
  readonly name: string;
  denoise(input: SliceInput): Promise<Float32Array>;
  /** Several slices in one go, where the method gains by it (a model on a GPU). */
  denoiseMany?(inputs: SliceInput[]): Promise<Float32Array[]>;
  /** The share of its removal a risk-weighted model kept in this output (undefined: not weighed). */
  keptShare?(output: Float32Array): number | undefined;
  dispose(): void;
}

/** Blends input and output: 0 keeps the input, 1 takes the denoised image. */
export function applyStrength(input: Float32Array, output: Float32Array, strength: number): Float32Array {
  if (!(strength >= 0 && strength <= 1)) throw new Error(`strength must be between 0 and 1 (got ${strength})`);
  if (strength === 1) return output;
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) out[i] = input[i]! + strength * (output[i]! - input[i]!);
  return out;
}
