/**
 * Picks the fastest TensorFlow.js backend that loads here, and says why the better ones didn't.
 *
 * Order: tfjs-node-gpu (CUDA) → tfjs-node (native CPU) → WASM (XNNPACK, SIMD) → plain JS.
 * The plain JS backend is last resort only: it needs ~40 s per 512² slice for a small DnCNN.
 * `DENOISE_STUDIO_BACKEND` (or the `force` option) pins one backend; a forced backend that does
 * not load is an error rather than a silent fallback.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
// The full bundle: tfjs-core alone registers no gradient functions.
import * as tf from '@tensorflow/tfjs';
import { registerWasmConvGradients } from './wasm-gradients.js';

export const BACKEND_NAMES = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendReport {
  /** The backend in use. */
  name: BackendName;
  /** tfjs' own name for it ('tensorflow', 'wasm', 'cpu'). */
  tfjsName: string;
  /** Why each better backend was not used, in preference order. */
  skipped: { name: BackendName; reason: string }[];
  forced: boolean;
}

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

const loaders: Record<BackendName, () => Promise<void>> = {
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
      await loaders[name]();
      await tf.ready();
      return { name, tfjsName: tf.getBackend(), skipped, forced: Boolean(force) };
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

/** One line for logs and the status bar. */
export function describeBackend(report: BackendReport): string {
  const why = report.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  return `backend ${report.name}${report.forced ? ' (forced)' : ''}${why ? ` — skipped ${why}` : ''}`;
}
