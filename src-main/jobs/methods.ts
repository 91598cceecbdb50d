/**
 * What a denoising job runs — a model folder or a classical filter — behind one spec, and the one
 * place where a request's `method`/`model` fields are parsed and the per-modality default chosen.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ClassicalDenoiser, ClassicalSpec, CLASSICAL_FILTERS } from '../model/classical.js';
import type { SliceDenoiser } from '../model/denoiser.js';
import { loadModelDenoiser } from '../model/model-io.js';
import { defaultModelFor } from './models/shipped-models.js';

export type MethodSpec =
  | { kind: 'model'; folder: string; tile?: number }
  | { kind: 'classical'; spec: ClassicalSpec };

/**
 * A request's method: a classical filter by name, a model folder, 'default' (the shipped model for
 * each series' modality: `method: 'model'` without a folder, or nothing named), or undefined when
 * `asked` is false and nothing was named (evaluate without denoising).
 */
export function methodOf(request: { model?: string; method?: string }, asked = true): MethodSpec | 'default' | undefined {
  const name = request.method;
  if (name && name !== 'model') {
    if ((CLASSICAL_FILTERS as readonly string[]).includes(name)) return { kind: 'classical', spec: ClassicalSpec.parse({ filter: name }) };
    throw new Error(`method: unknown method '${name}' (expected model or one of ${CLASSICAL_FILTERS.join(', ')})`);
  }
  if (request.model) return { kind: 'model', folder: path.resolve(request.model) };
  return name === 'model' || asked ? 'default' : undefined;
}

/** The method for a series: the one asked for, else the shipped default for its modality. */
export function methodForSeries(method: MethodSpec | 'default' | undefined, modality: string): MethodSpec {
  if (method && method !== 'default') return method;
  const folder = defaultModelFor(modality);
  if (!existsSync(folder)) throw new Error(`no model given and the shipped default ${path.basename(folder)} is missing at ${folder}`);
  return { kind: 'model', folder };
}

export async function createDenoiser(method: MethodSpec): Promise<SliceDenoiser> {
  return method.kind === 'model' ? loadModelDenoiser(method.folder, { tile: method.tile }) : new ClassicalDenoiser(method.spec);
}

export function methodLabel(method: MethodSpec): string {
  return method.kind === 'model' ? method.folder : `${method.spec.filter} filter`;
}
