/**
 * The compute page: starts the engine worker and hands it the MessagePort that arrives by
 * window.postMessage (from the compute window's preload in Electron; from a test page in
 * Playwright). The page itself computes nothing.
 */
import { COMPUTE_PORT_MESSAGE } from './protocol.js';

const worker = new Worker(new URL('./compute-worker.ts', import.meta.url), { type: 'module', name: 'denoise-studio-compute' });

window.addEventListener('message', (event: MessageEvent) => {
  if (event.source !== window || (event.data as { type?: string } | null)?.type !== COMPUTE_PORT_MESSAGE || !event.ports[0]) return;
  const port = event.ports[0];
  worker.postMessage({ type: 'port', port }, [port]);
});
document.documentElement.dataset.computeReady = 'true';
