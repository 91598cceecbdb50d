/**
 * The compute context's messages. The Electron app runs its GPU work on Chromium's WebGPU in a
 * hidden compute window (Dawn's Node binding cannot run inside Electron); the service process
 * talks to the worker in that window over one MessagePort, with these messages. The same
 * engine code answers them in Node (tests, and any Node host that wants a separate context).
 */
import type { BackendReport } from '../model/backend-report.js';
import type { ModelArtifacts } from '../model/model-artifacts.js';
import type { ModelSliceInput } from '../model/model-denoiser.js';

/**
 * The one message that carries the compute window's port: main process → service process, and
 * main process → compute window (its preload forwards it to the page under the same name).
 */
export const COMPUTE_PORT_MESSAGE = 'ds:compute-port';

export type ComputeBackend = 'webgpu' | 'wasm' | 'cpu';

export type ComputeRequest =
  | { type: 'init'; force?: ComputeBackend }
  | { type: 'load'; id: number; folder: string; artifacts: ModelArtifacts; tile?: number }
  | { type: 'denoise'; id: number; model: number; slices: ModelSliceInput[] }
  | { type: 'unload'; model: number };

export type ComputeReply =
  | { type: 'ready'; backend: BackendReport }
  | { type: 'loaded'; id: number; name: string }
  | { type: 'result'; id: number; outputs: Float32Array[]; keptShares?: (number | undefined)[] }
  | { type: 'error'; id?: number; message: string };

/** One end of a message channel: a DOM MessagePort, Node's worker_threads port, Electron's MessagePortMain. */
export interface ComputeChannel {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  onMessage(listener: (message: unknown) => void): void;
  close(): void;
}
