/**
 * Where the shipped default models live: $DENOISE_STUDIO_MODELS, else the `models/` folder of
 * the installation (beside src-main/ in a checkout, beside dist/ when compiled; Electron passes
 * its resources path through the same variable).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function shippedModelsDir(): string {
  if (process.env.DENOISE_STUDIO_MODELS) return path.resolve(process.env.DENOISE_STUDIO_MODELS);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'models');
    if (existsSync(path.join(candidate, 'README.md')) || existsSync(path.join(candidate, 'ct-default'))) return candidate;
    dir = path.dirname(dir);
  }
  return path.resolve('models');
}

/** The default model for a modality: CT → ct-default, MR → mr-default, others → ct-default. */
export function defaultModelFor(modality: string): string {
  return path.join(shippedModelsDir(), modality === 'MR' ? 'mr-default' : 'ct-default');
}
