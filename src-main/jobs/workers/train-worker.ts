/** A training run in its own thread: loads the data, trains, saves the model folder. */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from '../../model/backend.js';
import { loadModelFolder, saveModelFolder } from '../../model/model-io.js';
import { defaultModelFor } from '../models/shipped-models.js';
import { trainModel, type TrainProgress } from '../../model/train.js';
import { parseTrainConfig, type TrainConfig } from '../../model/train-config.js';
import { gradientHelpersFor } from './gradient-helpers.js';
import { loadTrainingData, type DatasetSource } from '../training-data.js';
import type { TrainResult } from '../../api/contract.js';
import { usesBatchNorm } from '../../model/architectures.js';

export interface TrainWorkerInput {
  /** Exactly the series to train and validate on, as the catalogue resolved them */
  sources: DatasetSource[];
  config: unknown;
  outDir: string;
  checkpointDir?: string;
  resume?: boolean;
  backend?: BackendName;
  command?: string;
  /** Data-parallel helper threads (default: one per spare core on CPU backends; none for batch norm). */
  helpers?: number;
  /** Fine-tune from this model folder, or 'default': the shipped model for the data's modality. */
  init?: string;
  /** "Adapt to this series": the card says which series the model was adapted to. */
  adaptedTo?: { seriesInstanceUid: string; description?: string };
}

export type TrainSummary = TrainResult;

export type TrainWorkerMessage =
  | { type: 'progress'; event: TrainProgress }
  | { type: 'done'; summary: TrainSummary }
  | { type: 'error'; message: string };

const port = parentPort!;
const input = workerData as TrainWorkerInput;
const controller = new AbortController();
port.on('message', (m: { type: string }) => { if (m.type === 'cancel') controller.abort(); });
const send = (m: TrainWorkerMessage) => port.postMessage(m);

async function main() {
  const started = performance.now();
  const config = parseTrainConfig(input.config);
  const backend = await initBackend({ force: input.backend });
  const onProgress = (event: TrainProgress) => send({ type: 'progress', event });
  const data = await loadTrainingData(input.sources, config.preprocessing.sliceImputation, (text) => onProgress({ type: 'message', text }));
  const sliceCount = data.volumes.reduce((a, v) => a + v.slices.length, 0);
  const modalities = [...new Set(data.volumes.map((v) => v.modality))].join(', ');
  onProgress({ type: 'message', text: `training on ${data.volumes.length} series, ${sliceCount} slices, ${modalities}; backend ${backend.name}` });
  const initFolder = input.init === 'default' ? defaultModelFor(config.modality !== 'any' ? config.modality : data.volumes[0]?.modality ?? 'CT') : input.init;
  const init = initFolder ? await loadModelFolder(initFolder) : undefined;
  // Batch norm needs whole-batch statistics, and helpers see only trainable weights: such models train on one thread.
  const batchNorm = usesBatchNorm(init && init.card.architecture.kind !== 'imported' ? init.card.architecture : config.architecture);
  if (batchNorm && input.helpers !== 0) onProgress({ type: 'message', text: 'batch normalisation: training on one thread (data-parallel shards would see different statistics)' });
  const oneThread = batchNorm || (init !== undefined && config.fineTune.freezeLayers > 0);
  const gradientHelpers = oneThread ? [] : gradientHelpersFor(backend.name, input.helpers);
  const result = await trainModel(config, data.volumes, {
    onProgress, signal: controller.signal, checkpointDir: input.checkpointDir, resume: input.resume, backend: backend.name, gradientHelpers, init,
  }).finally(() => Promise.all(gradientHelpers.map((h) => h.dispose())));
  if (result.stoppedBy !== 'cancelled') {
    // A fine-tuned model keeps its parent's inference settings; one adapted to a CT series' own
    // (correlated) noise gets a guard bound that sees that noise at every scale, or the guard would
    // cap what it learnt to remove at what two scales see of it (15 % for a 2.5-pixel correlation).
    const inference = init && { inference: { ...init.card.inference, ...(input.adaptedTo && config.modality === 'CT' ? { noiseGuardScales: 3 } : {}) } };
    const adapted = input.adaptedTo && {
      adaptedTo: input.adaptedTo,
      description: `Adapted (self-supervised, ${modeName(config)}) from ${init?.card.name ?? 'the default'} to the series ${input.adaptedTo.description ?? input.adaptedTo.seriesInstanceUid}`,
    };
    await saveModelFolder(result.model, { ...result.card, command: input.command, ...inference, ...adapted }, input.outDir);
  }
  const withVal = result.history.filter((h) => h.valLoss !== null);
  const saved = result.history.find((h) => h.epoch === result.savedEpoch);
  const validation = new Set(result.validationSeries);
  send({
    type: 'done', summary: {
      outDir: input.outDir, stoppedBy: result.stoppedBy, epochs: result.history.length,
      savedEpoch: saved ? saved.epoch : null, savedValLoss: saved?.valLoss ?? null, savedValPsnr: saved?.valPsnr ?? null, savedValSsim: saved?.valSsim ?? null,
      bestValLoss: withVal.length ? Math.min(...withVal.map((h) => h.valLoss!)) : null,
      seconds: (performance.now() - started) / 1000, parameters: result.model.countParams(), backend: backend.name,
      series: data.volumes.map((v) => ({ seriesInstanceUid: v.seriesId, modality: v.modality, slices: v.slices.length, role: validation.has(v.seriesId) ? 'validation' : 'train' })),
      slices: sliceCount, skipped: data.skipped, unreadable: data.unreadable.length,
      ...(result.baseline ? { parent: { name: init!.card.name, version: init!.card.version, valPsnr: result.baseline.psnr, valSsim: result.baseline.ssim, valLoss: result.baseline.loss } } : {}),
    },
  });
  result.model.dispose();
}

main().catch((error: unknown) => send({ type: 'error', message: (error as Error).message }));

/** How a self-supervised fine-tune is named in the card's description. */
function modeName(config: TrainConfig): string {
  switch (config.mode) {
    case 'recorrupted': return 'Recorrupted-to-Recorrupted on its own measured noise';
    case 'noise2void': return config.noise2void.structRadius ? 'structN2V' : 'Noise2Void';
    case 'noise2noise': return 'Noise2Noise';
    case 'supervised': return 'supervised';
  }
}
