/**
 * One denoising worker: its own tfjs backend and model, slices in, slices out (buffers transferred).
 * On a GPU backend the pool keeps several slices in flight here: those waiting when the model is
 * free go through it together (one batch, one readback), so the GPU is not idle between slices.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from '../../model/backend.js';
import type { ModelSliceInput } from '../../model/model-denoiser.js';
import { createDenoiser, type MethodSpec } from '../methods.js';

export type DenoiseWorkerRequest =
  | ({ type: 'slice'; id: number } & ModelSliceInput)
  | { type: 'close' };
export type DenoiseWorkerReply =
  | { type: 'ready'; backend: string; name: string }
  | { type: 'result'; id: number; output: Float32Array; keptShare?: number }
  | { type: 'error'; id?: number; message: string };

const { method, backend, batchSlices } = workerData as { method: MethodSpec; backend?: BackendName; batchSlices: number };
const port = parentPort!;

async function main() {
  const report = method.kind === 'model' ? await initBackend({ force: backend }) : undefined;
  const denoiser = await createDenoiser(method);
  port.postMessage({ type: 'ready', backend: report?.name ?? 'js', name: denoiser.name } satisfies DenoiseWorkerReply);
  const waiting: (DenoiseWorkerRequest & { type: 'slice' })[] = [];
  let busy = false;
  const drain = async () => {
    busy = true;
    await new Promise((r) => setImmediate(r)); // slices already posted arrive first and join the batch
    while (waiting.length) {
      const group = waiting.splice(0, denoiser.denoiseMany ? batchSlices : 1);
      try {
        const outputs = denoiser.denoiseMany ? await denoiser.denoiseMany(group) : [await denoiser.denoise(group[0]!)];
        group.forEach((msg, k) => port.postMessage({ type: 'result', id: msg.id, output: outputs[k]!, keptShare: denoiser.keptShare?.(outputs[k]!) } satisfies DenoiseWorkerReply, [outputs[k]!.buffer as ArrayBuffer]));
      } catch (error) {
        for (const msg of group) port.postMessage({ type: 'error', id: msg.id, message: (error as Error).message } satisfies DenoiseWorkerReply);
      }
    }
    busy = false;
  };
  port.on('message', (msg: DenoiseWorkerRequest) => {
    if (msg.type === 'close') {
      denoiser.dispose();
      port.close();
      return;
    }
    waiting.push(msg);
    if (!busy) void drain();
  });
}

main().catch((error: unknown) => port.postMessage({ type: 'error', message: (error as Error).message } satisfies DenoiseWorkerReply));
