/** Initialises the tfjs backend in a thread of its own and reports which one loaded and why. */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendName } from '../../model/backend.js';

const { backend } = workerData as { backend?: BackendName };
initBackend({ force: backend }).then(
  (report) => parentPort!.postMessage({ ok: true, report }),
  (error: unknown) => parentPort!.postMessage({ ok: false, message: (error as Error).message }),
);
