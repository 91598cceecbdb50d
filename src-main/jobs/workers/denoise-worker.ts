/** One denoising worker: its own tfjs backend and model, slices in, slices out (buffers transferred). */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from '../../model/backend.js';
import type { ModelSliceInput } from '../../model/model-denoiser.js';
import { createDenoiser, type MethodSpec } from '../methods.js';

export type DenoiseWorkerRequest =
  | ({ type: 'slice'; id: number } & ModelSliceInput)
  | { type: 'close' };
export type DenoiseWorkerReply =
  | { type: 'ready'; backend: string; name: string }
  | { type: 'result'; id: number; output: Float32Array }
  | { type: 'error'; id?: number; message: string };

const { method, backend } = workerData as { method: MethodSpec; backend?: BackendName };
const port = parentPort!;

async function main() {
  const report = method.kind === 'model' ? await initBackend({ force: backend }) : undefined;
  const denoiser = await createDenoiser(method);
  port.postMessage({ type: 'ready', backend: report?.name ?? 'js', name: denoiser.name } satisfies DenoiseWorkerReply);
  port.on('message', (msg: DenoiseWorkerRequest) => {
    if (msg.type === 'close') {
      denoiser.dispose();
      port.close();
      return;
    }
    denoiser.denoise(msg).then(
      (output) => port.postMessage({ type: 'result', id: msg.id, output } satisfies DenoiseWorkerReply, [output.buffer as ArrayBuffer]),
      (error: unknown) => port.postMessage({ type: 'error', id: msg.id, message: (error as Error).message } satisfies DenoiseWorkerReply),
    );
  });
}

main().catch((error: unknown) => port.postMessage({ type: 'error', message: (error as Error).message } satisfies DenoiseWorkerReply));
