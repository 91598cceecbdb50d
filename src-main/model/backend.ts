/**
 * Picks the fastest TensorFlow.js backend that loads here, and says why the better ones didn't.
 *
 * Order: WebGPU (Dawn's `webgpu` package in Node: Vulkan, Metal or D3D12 on a real GPU) →
 * tfjs-node-gpu (CUDA) → tfjs-node (native CPU) → WASM (XNNPACK, SIMD) → plain JS. A software
 * WebGPU adapter (Mesa's llvmpipe, SwiftShader) is slower than WASM and is skipped unless forced
 * (the tests force it to check the WebGPU path on machines without a GPU).
 * The plain JS backend is last resort only: it needs ~40 s per 512² slice for a small DnCNN.
 * `DENOISE_STUDIO_BACKEND` (or the `force` option) pins one backend; a forced backend that does
 * not load is an error rather than a silent fallback.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
// The full bundle: tfjs-core alone registers no gradient functions.
import * as tf from '@tensorflow/tfjs';
import { registerWasmConvGradients } from './wasm-gradients.js';
import { registerDilatedConvGradients } from './dilated-gradients.js';
import { registerWebgpuConvGradients } from './webgpu-gradients.js';
import { adapterReport, BACKEND_NAMES, type BackendName, type BackendReport } from './backend-report.js';

export { BACKEND_NAMES, describeBackend, type BackendName, type BackendReport } from './backend-report.js';

const require = createRequire(import.meta.url);
let current: BackendReport | undefined;
let pending: Promise<BackendReport> | undefined;

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((l) => l.trim())?.trim() ?? 'unknown error';
}

/** Turns a native loader error into advice a user can act on. */
export function explainNativeFailure(name: 'node-gpu' | 'node', error: unknown): string {
  const message = firstLine(error);
  if (/Cannot find (module|package)/.test(message)) {
    return `not installed (optional dependency @tensorflow/tfjs-${name === 'node-gpu' ? 'node-gpu' : 'node'}`
      + ' was dropped at install: its libtensorflow download failed)';
  }
  const library = /(lib[\w.+-]+\.so[\w.]*)/.exec(message)?.[1];
  if (name === 'node-gpu' && library) {
    return `${library} not found — tfjs-node-gpu needs CUDA 11.2 and cuDNN 8.1`;
  }
  if (library) return `${library} not found — tfjs-node needs its bundled libtensorflow`;
  return message;
}

async function tryNative(name: 'node-gpu' | 'node'): Promise<void> {
  // Both packages register the 'tensorflow' backend on our tfjs-core instance when loaded.
  require(name === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node');
  if (!(await tf.setBackend('tensorflow'))) throw new Error('the tensorflow backend failed to initialise');
  if (name === 'node-gpu') {
    const gpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice;
    if (gpu === false) throw new Error('no CUDA device visible');
  }
}

/**
 * Whether a GPU backend could load here (cheap: no backend is started). Callers that start one
 * thread per core use it to avoid a GPU context per thread.
 */
export function gpuBackendPossible(force?: BackendName): boolean {
  const envForce = process.env.DENOISE_STUDIO_BACKEND;
  const pinned = force ?? (envForce ? parseBackendName(envForce, 'DENOISE_STUDIO_BACKEND') : undefined);
  if (pinned) return pinned === 'webgpu' || pinned === 'node-gpu';
  let cuda = false;
  try { require.resolve('@tensorflow/tfjs-node-gpu'); cuda = true; } catch { /* not installed */ }
  return cuda || hasGpuDevice();
}

function hasGpuDevice(): boolean {
  if (process.platform !== 'linux') return true; // Metal / D3D12: let Dawn look
  if (existsSync('/dev/nvidia0')) return true;
  try { return readdirSync('/dev/dri').some((n) => n.startsWith('renderD')); } catch { return false; }
}

let webgpuAdapter: BackendReport['adapter'];

/**
 * WebGPU through Dawn's Node binding. A real GPU answers through the platform's API; without
 * one, Dawn's OpenGL ES backend on Mesa's llvmpipe (EGL surfaceless) gives a software adapter
 * at the "compatibility" feature level, which tfjs does not ask for by itself.
 */
async function tryWebgpu(forced: boolean): Promise<void> {
  if (process.versions.electron) throw new Error("Dawn's Node binding cannot run inside Electron (V8 memory cage); the app uses Chromium's WebGPU");
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  process.env.EGL_PLATFORM ??= 'surfaceless';
  // Without a GPU device node (Linux) there is nothing for Vulkan to find: do not even ask (Dawn
  // would print its failure), and only a forced run goes on to the software OpenGL ES adapter.
  const gpuDevice = hasGpuDevice();
  if (!gpuDevice && !forced) throw new Error('no GPU device on this machine (/dev/dri/renderD*, /dev/nvidia*)');
  const attempts: { flags: string[]; options?: Record<string, unknown> }[] = [
    ...(gpuDevice ? [{ flags: [] }] : []), { flags: ['backend=opengles'], options: { featureLevel: 'compatibility' } },
  ];
  let chosen: { gpu: GPU; options?: Record<string, unknown>; adapter: GPUAdapter } | undefined;
  for (const a of attempts) {
    const gpu = create(a.flags) as GPU;
    const adapter = await gpu.requestAdapter(a.options as GPURequestAdapterOptions).catch(() => null);
    if (adapter) { chosen = { gpu, options: a.options, adapter }; break; }
  }
  if (!chosen) throw new Error('no WebGPU adapter (no Vulkan/Metal/D3D12 GPU, and no OpenGL ES fallback)');
  const adapter = adapterReport(chosen.adapter.info);
  if (adapter.software && !forced) throw new Error(`only a software adapter (${adapter.device || adapter.description}): slower than WASM here`);
  // tfjs asks navigator.gpu for an adapter itself: hand it the one that answered, with its options.
  const { gpu, options } = chosen;
  const request = gpu.requestAdapter.bind(gpu);
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu: Object.assign(Object.create(gpu) as GPU, { requestAdapter: (o?: GPURequestAdapterOptions) => request({ ...o, ...options }) }) },
    configurable: true,
  });
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('the WebGPU backend failed to initialise');
  registerWebgpuConvGradients();
  webgpuAdapter = adapter;
}

async function tryWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Point at the package's own .wasm files: no network, works inside an asar-unpacked app too.
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(dist + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('the WASM module failed to initialise');
  registerWasmConvGradients();
}

async function tryCpu(): Promise<void> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the JS backend failed to initialise');
}

const loaders: Record<BackendName, (forced: boolean) => Promise<void>> = {
  webgpu: (forced) => tryWebgpu(forced),
  'node-gpu': () => tryNative('node-gpu'),
  node: () => tryNative('node'),
  wasm: tryWasm,
  cpu: tryCpu,
};

export function parseBackendName(value: string, field = 'backend'): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`${field}: unknown backend '${value}' (expected one of ${BACKEND_NAMES.join(', ')})`);
}

async function select(force: BackendName | undefined): Promise<BackendReport> {
  const skipped: BackendReport['skipped'] = [];
  const candidates = force ? [force] : BACKEND_NAMES;
  for (const name of candidates) {
    try {
      await loaders[name](Boolean(force));
      await tf.ready();
      return { name, tfjsName: tf.getBackend(), skipped, forced: Boolean(force), ...(name === 'webgpu' ? { adapter: webgpuAdapter } : {}) };
    } catch (error) {
      const reason = name === 'node-gpu' || name === 'node' ? explainNativeFailure(name, error) : firstLine(error);
      if (force) throw new Error(`backend '${force}' was requested but did not load: ${reason}`);
      skipped.push({ name, reason });
    }
  }
  throw new Error(`no TensorFlow.js backend loaded: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/**
 * Initialises the backend once per thread. Later calls return the same report; asking for a
 * different forced backend after initialisation is an error.
 */
export function initBackend(options: { force?: BackendName } = {}): Promise<BackendReport> {
  registerDilatedConvGradients(); // backend-independent: tfjs's own Conv2D gradient, extended
  const envForce = process.env.DENOISE_STUDIO_BACKEND;
  const force = options.force ?? (envForce ? parseBackendName(envForce, 'DENOISE_STUDIO_BACKEND') : undefined);
  if (current && force && current.name !== force) {
    return Promise.reject(new Error(`backend already initialised as '${current.name}', cannot switch to '${force}'`));
  }
  pending ??= select(force).then((report) => (current = report), (error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}
