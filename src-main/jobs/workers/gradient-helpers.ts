/** Worker-thread GradientHelpers for data-parallel training on CPU backends. */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { GradientHelper } from '../../model/train.js';
import { spawnWorker, watchWorker } from './spawn.js';

type Reply = { type: 'ready' } | { type: 'result'; id: number; grads: Float32Array[]; lossSum: number } | { type: 'error'; id?: number; message: string };

class WorkerGradientHelper implements GradientHelper {
  private nextId = 1;
  private readonly pending = new Map<number | 'init', { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => {
      const key = m.type === 'ready' ? 'init' : m.id ?? 'init';
      const p = this.pending.get(key);
      this.pending.delete(key);
      if (m.type === 'error') p?.reject(new Error(`gradient helper: ${m.message}`));
      else p?.resolve(m);
    });
    this.closing = watchWorker(worker, 'gradient helper', (e) => { for (const p of this.pending.values()) p.reject(e); this.pending.clear(); });
  }

  private readonly closing: () => void;

  private request(key: number | 'init', message: unknown, transfer: ArrayBuffer[] = []): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.pending.set(key, { resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  async init(modelTopology: string): Promise<void> {
    await this.request('init', { type: 'init', modelTopology });
  }

  async compute(weights: Float32Array[], shard: { x: Float32Array; y: Float32Array; w: Float32Array; n: number; size: number; levels?: Float32Array }) {
    const id = this.nextId++;
    // Shards are views into the batch: copy them so their buffers can move to the worker.
    const copy = { x: shard.x.slice(), y: shard.y.slice(), w: shard.w.slice(), n: shard.n, size: shard.size, ...(shard.levels ? { levels: shard.levels.slice() } : {}) };
    const reply = await this.request(id, { type: 'compute', id, weights, shard: copy },
      [...weights.map((w) => w.buffer as ArrayBuffer), copy.x.buffer, copy.y.buffer, copy.w.buffer, ...(copy.levels ? [copy.levels.buffer as ArrayBuffer] : [])]);
    if (reply.type !== 'result') throw new Error('gradient helper: unexpected reply');
    return { grads: reply.grads, lossSum: reply.lossSum };
  }

  async dispose(): Promise<void> {
    this.closing();
    await this.worker.terminate();
  }
}

/**
 * Helpers for a backend: on CPU backends (one core each) one per spare core, up to 3; none on
 * native TensorFlow or the GPU, which already use every core.
 */
export function gradientHelpersFor(backend: string, requested?: number): GradientHelper[] {
  const cpuBound = backend === 'wasm' || backend === 'cpu';
  const count = requested ?? (cpuBound ? Math.min(3, Math.max(0, (os.availableParallelism?.() ?? os.cpus().length) - 1)) : 0);
  return Array.from({ length: count }, () => new WorkerGradientHelper(spawnWorker('gradient-worker', { backend })));
}
