/** Which backend would jobs get? Asked in a worker so the caller's thread never loads tfjs. */
import type { BackendName, BackendReport } from '../../model/backend.js';
import { spawnWorker } from './spawn.js';

export async function probeBackend(backend?: BackendName): Promise<BackendReport> {
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
