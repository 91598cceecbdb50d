/**
 * Test support: the compute protocol served from a Node worker thread, with the same serve loop
 * the Chromium compute worker runs (there on Chromium's WebGPU or WASM; here on Node's WASM).
 */
import { parentPort } from 'node:worker_threads';
import { serveCompute } from '../src-main/compute/serve.js';
import { initBackend } from '../src-main/model/backend.js';

const port = parentPort!;
serveCompute({
  postMessage: (m, transfer) => port.postMessage(m, transfer ?? []),
  onMessage: (l) => port.on('message', l),
  close: () => port.close(),
}, async (force) => initBackend({ force: force ?? 'wasm' }));
