/**
 * `npm run train:defaults [ct|mr]`: retrains the shipped default models from their recipe
 * (defaults.ts) with its fixed seed, and writes models/<name>/ with a complete model card.
 * Uses every core (data-parallel helper threads on the CPU backends).
 *
 * For experiments on the recipe: `--out <dir>` writes the model there instead of models/, and
 * `--set <path>=<json>` overrides one field of the recipe's training config (repeatable), e.g.
 * `--set epochs=12 --set 'preprocessing.normalisation={"kind":"window","center":0,"width":500,"clip":false}'`.
 * `--init <model dir>` starts from that model's weights (a fine-tune: its architecture and
 * preprocessing are kept — but `--set 'architecture.noiseMap={"scales":1}'` on a blind model widens
 * it to be told the noise level, starting out as it was) instead of from scratch. A recipe with `stages` (a shipped model that was
 * fine-tuned after its first training) is reproduced stage by stage when neither is given.
 *
 * `--engine torch` trains with PyTorch instead (torch_train.py; CUDA when there is a GPU, ~100×
 * tfjs' speed there), one stage, `--steps N` or `--minutes M` long; a recipe with `engine` says so
 * itself. For a GPU machine without Node: `--engine torch --export <dir>` writes the training set,
 * `python3 models/recipes/torch_train.py --data <dir> --out <weights>` trains there, and
 * `--engine torch --import <weights>` builds the model folder here.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bin2x2 } from '../../src-main/preprocess/noise-level.js';
import { fileURLToPath } from 'node:url';
import { describeBackend, initBackend } from '../../src-main/model/backend.js';
import { loadModelFolder, saveModelFolder } from '../../src-main/model/model-io.js';
import type { LoadedModel } from '../../src-main/model/model-artifacts.js';
import type { BackendName } from '../../src-main/model/backend.js';
import { trainModel, type TrainingVolume } from '../../src-main/model/train.js';
import { ctPhantomSlice, mrPhantomSlice } from '../../src-main/noise/phantom.js';
import { gradientHelpersFor } from '../../src-main/jobs/workers/gradient-helpers.js';
import { datasetOfFiles, loadTrainingData } from '../../src-main/jobs/training-data.js';
import { DEFAULT_RECIPES, type DefaultRecipe } from './defaults.js';
import { stageConfigs, withFields } from './recipe-config.js';
import { exportForTorch, importFromTorch, TORCH_TRAINER } from './torch-engine.js';
import { saveTorchWeights } from '../../src-main/model/torch-weights.js';
import type * as tf from '@tensorflow/tfjs';
import type { ModelCardInput } from '../../src-main/model/model-card.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'dicom');

function phantomVolumes(recipe: DefaultRecipe, seed: number): TrainingVolume[] {
  const out: TrainingVolume[] = [];
  recipe.phantoms.forEach((p, k) => {
    for (let s = 0; s < p.series; s++) {
      const series = seed + 1000 * k + s;
      const slices = Array.from({ length: p.slices }, (_, i) => ({
        values: p.kind === 'brain' ? mrPhantomSlice(p.size, i, p.slices, series) : ctPhantomSlice(p.size, i, p.slices, series, p.kind, { anatomy: p.anatomy }),
        width: p.size, height: p.size,
      }));
      out.push({ seriesId: `phantom-${p.kind}-${s}`, modality: recipe.modality, slices, source: `Denoise Studio ${p.kind} phantom (generated)` });
    }
  });
  return out;
}

/** A slice binned 2×2 (padding where any of the four was). */
function binned2x2(s: TrainingVolume['slices'][number]): TrainingVolume['slices'][number] {
  const b = bin2x2(s.values, s.width, s.height, s.padding);
  if (!b) throw new Error(`a ${s.width}×${s.height} slice is too small to bin`);
  return { values: b.values, width: b.width, height: b.height, padding: b.mask };
}

async function realVolumes(recipe: DefaultRecipe): Promise<TrainingVolume[]> {
  const volumes: TrainingVolume[] = [];
  for (const source of recipe.real) {
    const file = path.join(FIXTURES, source.file);
    if (!existsSync(file)) throw new Error(`training file missing: ${file}`);
    const data = await loadTrainingData(await datasetOfFiles([file]), 'linear');
    for (const v of data.volumes) {
      volumes.push({ ...v, source: `${source.file} (${source.licence})`, weight: recipe.realWeight });
      if (recipe.binnedCopies) volumes.push({ ...v, seriesId: `${v.seriesId}-binned`, slices: v.slices.map(binned2x2), source: `${source.file} binned 2×2 (${source.licence})`, weight: recipe.realWeight });
    }
  }
  return volumes;
}

function describeRecipe(recipe: DefaultRecipe): string {
  const final = stageConfigs(recipe).at(-1)!.architecture as { noiseMap?: unknown } | undefined;
  const how = final?.noiseMap
    ? 'told each slice\'s noise level (a second input: the white-noise σ read from the slice itself, FFDNet-style) and trained over the noise levels below'
    : 'trained blind over the noise levels below';
  return `Default ${recipe.modality} denoiser shipped with Denoise Studio: a residual CNN (DnCNN-style, 8 layers × 32 filters) ${how} on project-generated phantoms and permissively licensed real images (each real slice sampled ${recipe.realWeight}× as often as a phantom slice). Held-out real series (never seen in training) are used by npm run bench:quality.`;
}

type Trained = Awaited<ReturnType<typeof trainModel>>;
/** What a stage leaves for the next one and for the saved card (a tfjs run or a PyTorch one). */
type StageResult = Pick<Trained, 'model' | 'card' | 'history' | 'stoppedBy'>;

async function trainingVolumes(recipe: DefaultRecipe): Promise<TrainingVolume[]> {
  const seed = Number((recipe.config as { seed?: number }).seed ?? 1);
  return [...phantomVolumes(recipe, seed), ...await realVolumes(recipe)];
}

/** One training run of `recipe` (from `init`'s weights when given), checkpointed in `checkpointDir`. */
async function trainRun(recipe: DefaultRecipe, backendName: BackendName, init: LoadedModel | undefined, checkpointDir: string): Promise<Trained> {
  const volumes = await trainingVolumes(recipe);
  console.log(`${recipe.folder}: ${volumes.length} training series (${volumes.reduce((a, v) => a + v.slices.length, 0)} slices)`);
  const helpers = gradientHelpersFor(backendName);
  // Checkpoints each epoch: an interrupted run resumes where it stopped (same seed, same schedule).
  const resume = existsSync(path.join(checkpointDir, 'state.json'));
  return trainModel(recipe.config, volumes, {
    init, backend: backendName, gradientHelpers: helpers, checkpointDir, resume,
    onProgress: (e) => {
      if (e.type === 'epoch') {
        const r = e.record;
        console.log(`${recipe.folder} epoch ${r.epoch}/${e.epochs}: loss ${r.trainLoss.toExponential(3)} val ${r.valLoss?.toExponential(3)} PSNR ${r.valPsnr?.toFixed(2)} SSIM ${r.valSsim?.toFixed(4)} lr ${r.learningRate.toExponential(2)} ${r.seconds.toFixed(0)} s${e.best ? ' *' : ''}`);
      } else if (e.type === 'message') console.log(`${recipe.folder}: ${e.text}`);
    },
  }).finally(() => Promise.all(helpers.map((h) => h.dispose())));
}

/** Saves a trained default into models/<folder> (or `outDir`) with its complete card; returns where. */
async function saveDefault(recipe: DefaultRecipe, model: tf.LayersModel, card: ModelCardInput, outDir: string | undefined,
  how: { stages: string[]; minutes: number; stoppedBy: string; command: string; trainedBy?: string }): Promise<string> {
  const target = outDir ? path.resolve(outDir) : path.join(ROOT, 'models', recipe.folder);
  const staging = `${target}.new`;
  rmSync(staging, { recursive: true, force: true });
  await saveModelFolder(model, {
    ...card,
    description: describeRecipe(recipe) + (how.stages.length ? ` Trained in ${how.stages.length + 1} stages, each from the last one's weights: ${how.stages.join('; ')}.` : '')
      + (how.trainedBy ? ` ${how.trainedBy}` : ''),
    data: {
      ...card.data!,
      sources: [
        ...recipe.phantoms.map((p) => ({ name: `${p.series}×${p.slices} ${p.kind} phantom slices ${p.size}×${p.size}, generated by src-main/noise/phantom.ts`, licence: 'generated by this project' })),
        ...recipe.real.map((r) => ({ name: `test/fixtures/dicom/${r.file}: ${r.what}${recipe.binnedCopies ? ' (also binned 2×2)' : ''}`, licence: r.licence })),
      ],
      heldOut: recipe.heldOut.map((h) => `test/fixtures/dicom/${h.file}: ${h.what}`),
    },
    inference: recipe.inference,
    metrics: { ...card.metrics, trainingMinutes: Math.round(how.minutes * 100) / 100, stoppedBy: how.stoppedBy },
    command: how.command,
  }, staging);
  model.dispose();
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return target;
}

interface TorchFlags { export?: string; import?: string; steps?: number; minutes?: number; device?: string }

/**
 * One PyTorch run of `config` (torch-engine.ts, torch_train.py), from `init`'s weights when given:
 * the training set exported to `work`/data, trained into `work`/weights, imported back. With
 * `flags.export` it stops after writing the data (for a GPU machine); with `flags.import` it only
 * imports weights trained elsewhere. Returns undefined when it only exported.
 */
async function torchRun(recipe: DefaultRecipe, volumes: TrainingVolume[], work: string, init: tf.LayersModel | undefined, flags: TorchFlags):
  Promise<{ model: tf.LayersModel; card: ModelCardInput; steps: number; history: unknown[] } | undefined> {
  const heldOut = recipe.heldOut.map((h) => `test/fixtures/dicom/${h.file}`);
  let weightsDir = flags.import ? path.resolve(flags.import) : undefined;
  if (!weightsDir) {
    const dataDir = flags.export ? path.resolve(flags.export) : path.join(work, 'data');
    const { slices, bytes } = exportForTorch(recipe.config, volumes, dataDir);
    console.log(`${recipe.folder}: ${slices} training slices (${(bytes / 2 ** 20).toFixed(1)} MiB) for PyTorch in ${path.relative(ROOT, dataDir)}`);
    const args = [TORCH_TRAINER, '--data', dataDir, '--out', path.join(work, 'weights')];
    if (init) {
      saveTorchWeights(init, path.join(dataDir, 'init'));
      args.push('--init', path.join(dataDir, 'init'));
    }
    if (flags.steps) args.push('--steps', String(flags.steps));
    if (flags.minutes) args.push('--minutes', String(flags.minutes));
    if (flags.device) args.push('--device', flags.device);
    if (flags.export) {
      console.log(`${recipe.folder}: now, where PyTorch is: python3 ${[path.relative(ROOT, TORCH_TRAINER), '--data', '<data>', '--out', '<weights>', ...args.slice(5).map((a) => a.startsWith(dataDir) ? `<data>${a.slice(dataDir.length)}` : a)].join(' ')}`);
      console.log(`${recipe.folder}: then here: npm run train:defaults -- ${recipe.modality.toLowerCase()} --engine torch --import <weights> [--out <dir>] (with the same --set)`);
      return undefined;
    }
    const run = spawnSync(process.env.PYTHON ?? 'python3', args, { stdio: 'inherit' });
    if (run.status !== 0) throw new Error(`torch_train.py failed (exit ${run.status ?? run.signal}); is PyTorch installed (apt: python3-torch; PYTHON=<interpreter> to choose one)?`);
    weightsDir = path.join(work, 'weights');
  }
  const { model, card, steps } = importFromTorch(recipe.config, volumes, weightsDir, heldOut);
  return { model, card, steps, history: card.training?.history ?? [] };
}

function torchNote(card: ModelCardInput, steps: number): string {
  return `PyTorch (${String(card.backend)}): ${steps} steps of ${(card.training?.config as { batchSize?: number } | undefined)?.batchSize} patches`;
}

/** `--engine torch`: one PyTorch run of the recipe's config with the overrides, from scratch or from `initDir`. */
async function trainWithTorch(base: DefaultRecipe, outDir: string | undefined, overrides: [string, unknown][], initDir: string | undefined, flags: TorchFlags): Promise<void> {
  const recipe = withFields(base, overrides);
  const volumes = await trainingVolumes(recipe);
  const work = path.join(ROOT, '.tmp', `torch-${outDir ? path.basename(outDir) : recipe.folder}`);
  const started = Date.now();
  const init = initDir && !flags.import ? await loadModelFolder(path.resolve(initDir)) : undefined;
  const result = await torchRun(recipe, volumes, work, init?.model, flags);
  init?.model.dispose();
  if (!result) return;
  const target = await saveDefault(recipe, result.model, result.card, outDir, {
    stages: [], minutes: (Date.now() - started) / 60000 + (Number(result.card.training?.seconds ?? 0) / 60), stoppedBy: 'completed',
    trainedBy: `Trained with ${torchNote(result.card, result.steps)}.`,
    command: ['npm run train:defaults --', recipe.modality.toLowerCase(), '--engine torch', ...(initDir ? [`--init ${initDir}`] : []),
      `--steps ${flags.steps ?? result.steps}`, ...overrides.map(([f, v]) => `--set '${f}=${JSON.stringify(v)}'`)].join(' '),
  });
  if (!flags.import) rmSync(work, { recursive: true, force: true });
  console.log(`${recipe.folder}: saved to ${target} (PyTorch, ${result.steps} steps)`);
}

async function trainOne(base: DefaultRecipe, outDir: string | undefined, overrides: [string, unknown][], initDir?: string, torchFlags: TorchFlags = {}): Promise<void> {
  const recipe = withFields(base, overrides);
  const backend = await initBackend();
  console.log(`${recipe.folder}: ${describeBackend(backend)}`);
  const started = Date.now();
  const work = path.join(ROOT, '.tmp', `train-${outDir ? path.basename(outDir) : recipe.folder}`);
  // The recipe's stages belong to reproducing the shipped model; an experiment (--set, --init) is one run.
  const stages = initDir || overrides.length ? [] : recipe.stages ?? [];
  const configs = stages.length ? stageConfigs(recipe) : [recipe.config];
  let init = initDir ? await loadModelFolder(path.resolve(initDir)) : undefined;
  let result: StageResult | undefined;
  for (let k = 0; k <= stages.length; k++) {
    const stageRecipe: DefaultRecipe = { ...recipe, config: configs[k]! };
    if (k > 0) console.log(`${recipe.folder}: stage ${k + 1} of ${stages.length + 1}: ${stages[k - 1]!.why}`);
    // A finished stage is kept on disk: an interrupted reproduction does not train it again.
    const stageModel = path.join(work, `stage-${k + 1}-model`);
    if (k < stages.length && existsSync(path.join(stageModel, 'model.json'))) {
      console.log(`${recipe.folder}: stage ${k + 1} already trained (${path.relative(ROOT, stageModel)})`);
      init = await loadModelFolder(stageModel);
      continue;
    }
    if ((k === 0 ? recipe.engine : stages[k - 1]!.engine) === 'torch') {
      // A PyTorch stage (the GPU engine): from the last stage's weights (or from scratch), imported back with its card.
      const run = (await torchRun(stageRecipe, await trainingVolumes(stageRecipe), path.join(work, `stage-${k + 1}`), init?.model, { device: torchFlags.device }))!;
      init?.model.dispose();
      result = { model: run.model, card: run.card, history: run.card.training?.history ?? [], stoppedBy: 'completed' };
    } else {
      // trainModel owns `init` from here (it trains that model or disposes it).
      result = await trainRun(stageRecipe, backend.name, init, stages.length ? path.join(work, `stage-${k + 1}`) : work);
    }
    if (k < stages.length) {
      rmSync(stageModel, { recursive: true, force: true });
      await saveModelFolder(result.model, result.card, stageModel);
      result.model.dispose();
      init = await loadModelFolder(stageModel);
    }
  }
  result = result!;
  const target = await saveDefault(recipe, result.model, result.card, outDir, {
    stages: stages.map((s) => s.why), minutes: (Date.now() - started) / 60000, stoppedBy: result.stoppedBy,
    command: ['npm run train:defaults', ...(initDir || overrides.length ? ['--'] : []), recipe.modality.toLowerCase(),
      ...(initDir ? [`--init ${initDir}`] : []), ...overrides.map(([f, v]) => `--set '${f}=${JSON.stringify(v)}'`)].join(' '),
  });
  rmSync(work, { recursive: true, force: true });
  console.log(`${recipe.folder}: saved to ${target} (${result.stoppedBy}, ${result.history.length} epochs)`);
}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string' }, set: { type: 'string', multiple: true }, init: { type: 'string' },
    engine: { type: 'string' }, export: { type: 'string' }, import: { type: 'string' },
    steps: { type: 'string' }, minutes: { type: 'string' }, device: { type: 'string' },
  },
});
const which = positionals[0]?.toUpperCase();
const overrides = (flags.set ?? []).map((s): [string, unknown] => {
  const eq = s.indexOf('=');
  if (eq < 1) throw new Error(`--set ${s}: expected <field>=<json>`);
  try { return [s.slice(0, eq), JSON.parse(s.slice(eq + 1))]; } catch { throw new Error(`--set ${s.slice(0, eq)}: the value is not JSON (quote strings: --set 'name="x"')`); }
});
if ((flags.out || flags.init) && !which) throw new Error('--out and --init need one recipe: ct or mr');
if (flags.init && !flags.out) throw new Error('--init: give --out too (a fine-tuned candidate is compared before it replaces a shipped model)');
if (flags.engine && flags.engine !== 'torch' && flags.engine !== 'tfjs') throw new Error(`--engine ${flags.engine}: tfjs or torch`);
const torchOnly = ['export', 'import', 'steps', 'minutes'] as const;
if (flags.engine !== 'torch' && torchOnly.some((f) => flags[f] !== undefined)) throw new Error(`--${torchOnly.find((f) => flags[f] !== undefined)}: only with --engine torch`);
const positive = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`--${name} ${v}: expected a positive number`);
  return n;
};
for (const recipe of DEFAULT_RECIPES) {
  if (which && which !== recipe.modality) continue;
  if (flags.engine === 'torch') {
    await trainWithTorch(recipe, flags.out, overrides, flags.init, {
      export: flags.export, import: flags.import, device: flags.device,
      steps: positive('steps', flags.steps), minutes: positive('minutes', flags.minutes),
    });
  } else await trainOne(flags.engine === 'tfjs' ? { ...recipe, engine: undefined } : recipe, flags.out, overrides, flags.init, { device: flags.device });
}
