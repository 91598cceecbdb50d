/**
 * The backend inside a Chromium compute context (the Electron app's hidden compute window, or
 * any Chromium): Chromium's own WebGPU first — Dawn's Node binding cannot run inside Electron —
 * then WASM, then plain JS; the same kernels of ours as in Node. Browser-safe: no Node APIs.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { adapterReport, type BackendName, type BackendReport } from './backend-report.js';
import { registerWasmConvGradients } from './wasm-gradients.js';
import { registerDilatedConvGradients } from './dilated-gradients.js';
import { registerWebgpuConvGradients } from './webgpu-gradients.js';

export type BrowserBackendName = Extract<BackendName, 'webgpu' | 'wasm' | 'cpu'>;
export const BROWSER_BACKENDS: readonly BrowserBackendName[] = ['webgpu', 'wasm', 'cpu'];

export interface BrowserBackendOptions {
  force?: BrowserBackendName;
  /** Where the page serves tfjs-backend-wasm's .wasm files (file name → URL). */
  wasmPaths: Record<string, string>;
}

interface AdapterInfo { vendor: string; device: string; description: string; architecture?: string; isFallbackAdapter?: boolean }
interface GpuNavigator { gpu?: { requestAdapter(): Promise<{ info?: AdapterInfo } | null> } }

async function tryWebgpu(forced: boolean): Promise<BackendReport['adapter']> {
  const gpu = (globalThis.navigator as unknown as GpuNavigator | undefined)?.gpu;
  if (!gpu) throw new Error('this Chromium offers no WebGPU (navigator.gpu is absent)');
  const found = await gpu.requestAdapter();
  if (!found) throw new Error('WebGPU offers no adapter here (GPU blocklisted or disabled)');
  const adapter = adapterReport(found.info ?? { vendor: '', device: '', description: '' });
  if (adapter.software && !forced) throw new Error(`only a software adapter (${adapter.device || adapter.description}): slower than WASM here`);
  if (!(await tf.setBackend('webgpu'))) throw new Error('the WebGPU backend failed to initialise');
  registerWebgpuConvGradients();
  return adapter;
}

async function tryWasm(paths: Record<string, string>): Promise<void> {
  setWasmPaths(paths);
  if (!(await tf.setBackend('wasm'))) throw new Error('the WASM module failed to initialise');
  registerWasmConvGradients();
}

/** Initialises the best backend this context offers (once); a forced one that fails is an error. */
export async function initBrowserBackend(options: BrowserBackendOptions): Promise<BackendReport> {
  registerDilatedConvGradients(); // backend-independent: tfjs's own Conv2D gradient, extended
  const skipped: BackendReport['skipped'] = [];
  for (const name of options.force ? [options.force] : BROWSER_BACKENDS) {
    try {
      let adapter: BackendReport['adapter'];
      if (name === 'webgpu') adapter = await tryWebgpu(Boolean(options.force));
      else if (name === 'wasm') await tryWasm(options.wasmPaths);
      else if (!(await tf.setBackend('cpu'))) throw new Error('the JS backend failed to initialise');
      await tf.ready();
      return { name, tfjsName: tf.getBackend(), skipped, forced: Boolean(options.force), ...(adapter ? { adapter } : {}) };
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
      if (options.force) throw new Error(`backend '${options.force}' was requested but did not load: ${reason}`);
      skipped.push({ name, reason });
    }
  }
  throw new Error(`no TensorFlow.js backend loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
