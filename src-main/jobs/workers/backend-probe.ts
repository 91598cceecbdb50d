/**
 * Which backend would jobs get? The Electron app's compute window, when it has a real GPU;
 * otherwise asked in a worker, so the caller's thread never loads tfjs.
 */
import type { BackendName, BackendReport } from '../../model/backend.js';
import { spawnWorker } from './spawn.js';
import { gpuContextReport } from './slice-pools.js';

export async function probeBackend(backend?: BackendName): Promise<BackendReport> {
  const context = backend ? undefined : await gpuContextReport();
  if (context) return context;
  const worker = spawnWorker('backend-worker', { backend });
  try {
    const reply = await new Promise<{ ok: true; report: BackendReport } | { ok: false; message: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`backend probe worker exited (code ${code})`)));
    });
    if (!reply.ok) throw new Error(reply.message);
    return reply.report;
  } finally {
    await worker.terminate();
  }
}
