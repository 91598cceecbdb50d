/** Runs a training worker and relays its progress; cancelling asks the loop to stop cleanly. */
import type { TrainProgress } from '../model/train.js';
import { spawnWorker } from './workers/spawn.js';
import type { TrainSummary, TrainWorkerInput, TrainWorkerMessage } from './workers/train-worker.js';

export type { TrainSummary, TrainWorkerInput } from './workers/train-worker.js';

export function runTrainJob(input: TrainWorkerInput, options: { onProgress?: (e: TrainProgress) => void; signal?: AbortSignal } = {}): Promise<TrainSummary> {
  const worker = spawnWorker('train-worker', input);
  const onAbort = () => worker.postMessage({ type: 'cancel' });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  return new Promise<TrainSummary>((resolve, reject) => {
    worker.on('message', (m: TrainWorkerMessage) => {
      if (m.type === 'progress') options.onProgress?.(m.event);
      else if (m.type === 'done') resolve(m.summary);
      else reject(new Error(m.message));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`training worker exited (code ${code})`)));
  }).finally(() => {
    options.signal?.removeEventListener('abort', onAbort);
    void worker.terminate();
  });
}
