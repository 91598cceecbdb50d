/** Runs a training worker and relays its progress; cancelling asks the loop to stop cleanly. */
import { configHash, type TrainProgress } from '../model/train.js';
import { parseTrainConfig } from '../model/train-config.js';
import type { EpochPreview, EpochRecord } from '../api/contract.js';
import { spawnWorker } from './workers/spawn.js';
import type { TrainSummary, TrainWorkerInput, TrainWorkerMessage } from './workers/train-worker.js';

export type { TrainSummary, TrainWorkerInput } from './workers/train-worker.js';

/** Where runs are recorded (the service gives the catalogue's; tests may give their own). */
export interface RunTracker {
  started(run: { name: string; config: Record<string, unknown>; configHash: string; modelDir: string; sweep?: { dir: string; run: string } }): number;
  epoch(id: number, record: EpochRecord, preview?: EpochPreview): void;
  finished(id: number, summary: TrainSummary): void;
  failed(id: number, error: string): void;
}

export function runTrainJob(input: TrainWorkerInput, options: {
  onProgress?: (e: TrainProgress) => void; signal?: AbortSignal; tracker?: RunTracker; sweep?: { dir: string; run: string };
} = {}): Promise<TrainSummary> {
  // Recorded before it starts, so a run that fails at once (bad config, no data) is on record too.
  let id: number | undefined;
  if (options.tracker) {
    const raw = (input.config ?? {}) as Record<string, unknown>;
    let hash = '';
    let name = typeof raw.name === 'string' ? raw.name : 'custom-denoiser';
    try { const parsed = parseTrainConfig(raw); hash = configHash(parsed); name = parsed.name; } catch { /* the worker reports it */ }
    id = options.tracker.started({ name, config: raw, configHash: hash, modelDir: input.outDir, sweep: options.sweep });
  }
  const worker = spawnWorker('train-worker', input);
  const onAbort = () => worker.postMessage({ type: 'cancel' });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const job = new Promise<TrainSummary>((resolve, reject) => {
    worker.on('message', (m: TrainWorkerMessage) => {
      if (m.type === 'progress') {
        if (m.event.type === 'epoch' && id !== undefined) options.tracker!.epoch(id, m.event.record, m.event.preview);
        options.onProgress?.(m.event);
      } else if (m.type === 'done') resolve(m.summary);
      else reject(new Error(m.message));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`training worker exited (code ${code})`)));
  }).finally(() => {
    options.signal?.removeEventListener('abort', onAbort);
    void worker.terminate();
  });
  return job.then((summary) => {
    if (id !== undefined) options.tracker!.finished(id, summary);
    return summary;
  }, (error: Error) => {
    if (id !== undefined) options.tracker!.failed(id, error.message);
    throw error;
  });
}
