/// <reference lib="webworker" />
/**
 * The engine in a Chromium worker (the Electron app's compute window starts it): never the UI
 * thread. It waits for the MessagePort its page forwards, then serves the compute protocol on it
 * with Chromium's WebGPU, else WASM.
 */
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { initBrowserBackend } from '../model/browser-backend.js';
import { serveCompute } from './serve.js';

const wasmPaths = {
  'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
};

const scope = self as unknown as DedicatedWorkerGlobalScope;
scope.addEventListener('message', (event: MessageEvent) => {
  const port = (event.data as { type?: string; port?: MessagePort } | null)?.port;
  if ((event.data as { type?: string })?.type !== 'port' || !port) return;
  serveCompute({
    postMessage: (m, transfer) => port.postMessage(m, transfer ?? []),
    onMessage: (listener) => { port.onmessage = (e) => listener(e.data); },
    close: () => port.close(),
  }, (force) => initBrowserBackend({ force, wasmPaths }));
});
