/** What a denoising job runs: a model folder or a classical filter, behind one spec. */
import { ClassicalDenoiser, ClassicalSpec, CLASSICAL_FILTERS } from '../model/classical.js';
import type { SliceDenoiser } from '../model/denoiser.js';
import { ModelDenoiser } from '../model/model-denoiser.js';

export type MethodSpec =
  | { kind: 'model'; folder: string; tile?: number }
  | { kind: 'classical'; spec: ClassicalSpec };

/** `--method` values: a classical filter name, or 'model' (the default) for a learned model. */
export function methodFromName(name: string | undefined, modelFolder: string): MethodSpec {
  if (!name || name === 'model') return { kind: 'model', folder: modelFolder };
  if ((CLASSICAL_FILTERS as readonly string[]).includes(name)) return { kind: 'classical', spec: ClassicalSpec.parse({ filter: name }) };
  throw new Error(`--method: unknown method '${name}' (expected model or one of ${CLASSICAL_FILTERS.join(', ')})`);
}

export async function createDenoiser(method: MethodSpec): Promise<SliceDenoiser> {
  return method.kind === 'model' ? ModelDenoiser.load(method.folder, { tile: method.tile }) : new ClassicalDenoiser(method.spec);
}

export function methodLabel(method: MethodSpec): string {
  return method.kind === 'model' ? method.folder : `${method.spec.filter} filter`;
}
