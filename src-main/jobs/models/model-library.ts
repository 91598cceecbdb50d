/**
 * The models a user can choose: the shipped defaults and the user's own (trained or imported)
 * under <data dir>/models. Only cards are read here (no tfjs on the caller's thread).
 */
import { cp, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_CARD, MODEL_JSON, readModelCard } from '../../model/model-io.js';
import type { ModelCard } from '../../model/model-card.js';
import { shippedModelsDir } from './shipped-models.js';

export interface ModelEntry {
  id: string;
  folder: string;
  shipped: boolean;
  card: ModelCard;
}

async function entriesIn(dir: string, shipped: boolean): Promise<ModelEntry[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: ModelEntry[] = [];
  for (const name of names.sort()) {
    const folder = path.join(dir, name);
    try {
      out.push({ id: `${shipped ? 'shipped' : 'user'}:${name}`, folder, shipped, card: await readModelCard(folder) });
    } catch {
      /* not a model folder (e.g. the sample study, recipes) */
    }
  }
  return out;
}

export async function listModels(userModelsDir: string): Promise<ModelEntry[]> {
  return [...await entriesIn(shippedModelsDir(), true), ...await entriesIn(userModelsDir, false)];
}

/**
 * Copies a tfjs model folder into the user's models after checking its card and that every
 * weight file named in model.json is there (the model itself is built when first used).
 */
export async function importModel(source: string, userModelsDir: string): Promise<ModelEntry> {
  const from = path.resolve(source);
  const card = await readModelCard(from);
  const manifest = JSON.parse(await readFile(path.join(from, MODEL_JSON), 'utf8').catch(() => {
    throw new Error(`${from}: ${MODEL_JSON} is missing`);
  })) as { weightsManifest?: { paths: string[] }[] };
  for (const group of manifest.weightsManifest ?? []) {
    for (const p of group.paths) {
      if (!(await stat(path.join(from, p)).catch(() => undefined))) throw new Error(`${from}: weight file '${p}' is missing`);
    }
  }
  const name = `${card.name}-${card.version}`.replace(/[^\w.-]+/g, '_');
  const to = path.join(userModelsDir, name);
  if (await stat(to).catch(() => undefined)) throw new Error(`a model named ${name} is already imported`);
  await mkdir(userModelsDir, { recursive: true });
  await cp(from, to, { recursive: true, filter: (p) => p === from || /\.(json|bin)$/.test(p) });
  return { id: `user:${name}`, folder: to, shipped: false, card };
}

/** Deletes a user model; shipped models and anything outside the user folder are refused. */
export async function deleteModel(id: string, userModelsDir: string): Promise<void> {
  const match = /^user:([\w.-]+)$/.exec(id);
  if (!match) throw new Error(`model ${id} cannot be deleted (shipped models are read-only)`);
  const folder = path.join(userModelsDir, match[1]!);
  if (!(await stat(path.join(folder, MODEL_CARD)).catch(() => undefined))) throw new Error(`no user model ${id}`);
  await rm(folder, { recursive: true });
}
