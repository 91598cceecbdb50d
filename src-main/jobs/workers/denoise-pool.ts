/**
 * A pool of denoising workers, one backend each, so every core works on a volume (the WASM
 * backend runs one thread per worker in Node). Slices are handed to whichever worker has room:
 * a CPU worker takes one slice at a time, the one GPU worker several (it batches them).
 */
import type { Worker } from 'node:worker_threads';
import os from 'node:os';
import { gpuBackendPossible, type BackendName } from '../../model/backend.js';
import type { ModelSliceInput } from '../../model/model-denoiser.js';
import type { DenoiseWorkerReply, DenoiseWorkerRequest } from './denoise-worker.js';
import type { MethodSpec } from '../methods.js';
import { spawnWorker, watchWorker } from './spawn.js';

interface Pending { resolve: (v: DenoisedSlice) => void; reject: (e: Error) => void }

/** Slices a GPU worker puts through the model together at most (4 × 512² fits any GPU we would use). */
const GPU_SLICES_PER_BATCH = 4;

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
}

/** Waits for a denoising worker's first message: ready (with its backend and method name) or why not. */
function ready(w: Worker): Promise<{ backend: string; name: string }> {
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`denoising worker exited while starting (code ${code})`)));
    w.once('message', (m: DenoiseWorkerReply) => {
      if (m.type === 'ready') resolve(m);
      else reject(new Error(m.type === 'error' ? m.message : 'worker failed to start'));
    });
  });
}

/** A slice as a pool gives it back. */
export interface DenoisedSlice {
  values: Float32Array;
  /** Risk-weighted models: the share of the network's removal kept (see model/risk-estimate.ts). */
  keptShare?: number;
}

/** What a job needs of a pool: worker threads here, or a compute context (compute-client.ts). */
export interface SlicePool {
  readonly backend: string;
  readonly name: string;
  readonly size: number;
  denoise(input: ModelSliceInput): Promise<DenoisedSlice>;
  close(): Promise<void>;
}

export class DenoisePool implements SlicePool {
  /** A worker appears here once per slice it can take now. */
  private readonly idle: Worker[] = [];
  private readonly queue: { msg: DenoiseWorkerRequest & { type: 'slice' }; transfer: ArrayBuffer[] }[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly owner = new Map<number, Worker>();
  private nextId = 1;
  private failure: Error | undefined;
  private readonly closers: (() => void)[] = [];

  private constructor(private readonly workers: Worker[], readonly backend: string, readonly name: string) {
    // Two batches' worth on a GPU: one runs while the next waits, so the device never idles.
    const slots = backend === 'webgpu' || backend === 'node-gpu' ? 2 * GPU_SLICES_PER_BATCH : 1;
    for (const w of workers) {
      w.on('message', (m: DenoiseWorkerReply) => this.onReply(w, m));
      this.closers.push(watchWorker(w, 'denoising', (e) => this.fail(e)));
      for (let k = 0; k < slots; k++) this.idle.push(w);
    }
  }

  static async start(method: MethodSpec, options: { workers?: number; backend?: BackendName } = {}): Promise<DenoisePool> {
    const count = options.workers ?? defaultWorkerCount();
    // One worker per core on CPU backends; where a GPU backend may load, the first worker tells
    // which did, and a GPU backend keeps that one worker (one GPU context, not one per core).
    // Each worker's readiness is awaited from the moment it starts (its first message is never missed).
    const started: { worker: Worker; ready: Promise<{ backend: string; name: string }> }[] = [];
    const spawn = () => {
      const worker = spawnWorker('denoise-worker', { method, backend: options.backend, batchSlices: GPU_SLICES_PER_BATCH });
      const whenReady = ready(worker);
      whenReady.catch(() => undefined); // awaited below; a failure before then is not "unhandled"
      started.push({ worker, ready: whenReady });
    };
    spawn();
    const workers = () => started.map((s) => s.worker);
    try {
      if (!gpuBackendPossible(options.backend)) for (let i = 1; i < count; i++) spawn();
      const head = await started[0]!.ready;
      const onGpu = head.backend === 'webgpu' || head.backend === 'node-gpu';
      while (started.length < (onGpu ? 1 : count)) spawn();
      await Promise.all(started.map((s) => s.ready));
      return new DenoisePool(workers(), head.backend, head.name);
    } catch (error) {
      await Promise.all(workers().map((w) => w.terminate()));
      throw error;
    }
  }


  get size(): number {
    return this.workers.length;
  }

  denoise(input: ModelSliceInput): Promise<DenoisedSlice> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    // Copy: the caller keeps its input, the copy's buffer moves to the worker.
    const values = Float32Array.from(input.values);
    const msg = { type: 'slice' as const, id, ...input, values };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.queue.push({ msg, transfer: [values.buffer] });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const worker = this.idle.pop()!;
      const { msg, transfer } = this.queue.shift()!;
      this.owner.set(msg.id, worker);
      worker.postMessage(msg, transfer);
    }
  }

  private onReply(worker: Worker, m: DenoiseWorkerReply): void {
    if (m.type === 'ready') return;
    const id = m.type === 'result' || m.type === 'error' ? m.id : undefined;
    if (id === undefined) return this.fail(new Error(m.type === 'error' ? m.message : 'worker error'));
    const p = this.pending.get(id);
    this.pending.delete(id);
    this.owner.delete(id);
    this.idle.push(worker);
    if (m.type === 'result') p?.resolve({ values: m.output, keptShare: m.keptShare });
    else p?.reject(new Error(m.message));
    this.pump();
  }

  private fail(error: Error): void {
    this.failure = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    for (const c of this.closers) c();
    for (const w of this.workers) w.postMessage({ type: 'close' } satisfies DenoiseWorkerRequest);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
