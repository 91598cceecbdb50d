/** A training run in its own thread: loads the data, trains, saves the model folder. */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from '../model/backend.js';
import { saveModelFolder } from '../model/model-io.js';
import { trainModel, type TrainProgress } from '../model/train.js';
import { parseTrainConfig } from '../model/train-config.js';
import { gradientHelpersFor } from './gradient-helpers.js';
import { loadTrainingData } from './training-data.js';

export interface TrainWorkerInput {
  data: string[];
  config: unknown;
  outDir: string;
  checkpointDir?: string;
  resume?: boolean;
  backend?: BackendName;
  command?: string;
  /** Data-parallel helper threads (default: one per spare core on CPU backends). */
  helpers?: number;
}

export interface TrainSummary {
  outDir: string;
  stoppedBy: 'completed' | 'early-stopping' | 'cancelled';
  epochs: number;
  bestValLoss: number | null;
  finalValPsnr: number | null;
  finalValSsim: number | null;
  seconds: number;
  parameters: number;
  backend: string;
  series: number;
  slices: number;
  skipped: string[];
  unreadable: number;
}

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
  const data = await loadTrainingData(input.data, config.preprocessing.sliceImputation, (text) => onProgress({ type: 'message', text }));
  onProgress({ type: 'message', text: `training on ${data.volumes.length} series, ${data.volumes.reduce((a, v) => a + v.slices.length, 0)} slices, backend ${backend.name}` });
  const gradientHelpers = gradientHelpersFor(backend.name, input.helpers);
  const result = await trainModel(config, data.volumes, {
    onProgress, signal: controller.signal, checkpointDir: input.checkpointDir, resume: input.resume, backend: backend.name, gradientHelpers,
  }).finally(() => Promise.all(gradientHelpers.map((h) => h.dispose())));
  if (result.stoppedBy !== 'cancelled') {
    await saveModelFolder(result.model, { ...result.card, command: input.command }, input.outDir);
  }
  const withVal = result.history.filter((h) => h.valLoss !== null);
  const last = result.history.at(-1);
  send({
    type: 'done', summary: {
      outDir: input.outDir, stoppedBy: result.stoppedBy, epochs: result.history.length,
      bestValLoss: withVal.length ? Math.min(...withVal.map((h) => h.valLoss!)) : null,
      finalValPsnr: last?.valPsnr ?? null, finalValSsim: last?.valSsim ?? null,
      seconds: (performance.now() - started) / 1000, parameters: result.model.countParams(), backend: backend.name,
      series: data.volumes.length, slices: data.volumes.reduce((a, v) => a + v.slices.length, 0),
      skipped: data.skipped, unreadable: data.unreadable.length,
    },
  });
  result.model.dispose();
}

main().catch((error: unknown) => send({ type: 'error', message: (error as Error).message }));
