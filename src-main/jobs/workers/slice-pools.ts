/**
 * Which pool denoises a job's slices. In the Electron app, a compute context with a real GPU
 * (Chromium's WebGPU in the hidden compute window) takes learned models; otherwise, and for the
 * classical filters, worker threads here (one per core on CPU, one on a GPU backend in Node).
 * A forced backend always means worker threads on that backend.
 */
import type { ComputeChannel } from '../../compute/protocol.js';
import type { MethodSpec } from '../methods.js';
import type { BackendName, BackendReport } from '../../model/backend-report.js';
import { ComputeClient, ComputeContextPool, isGpuContext } from './compute-client.js';
import { DenoisePool, type SlicePool } from './denoise-pool.js';

let attached: ComputeClient | undefined;
/** How long a compute context may take to say which backend it has before jobs go without it. */
const READY_TIMEOUT_MS = 15_000;

export function attachComputeContext(channel: ComputeChannel): ComputeClient {
  attached?.fail(new Error('replaced by a new compute context'));
  attached = new ComputeClient(channel);
  return attached;
}

export function detachComputeContext(reason: string): void {
  attached?.fail(new Error(`compute context closed: ${reason}`));
  attached = undefined;
}

/** The attached context, if it answered in time with a real GPU. */
async function gpuContext(): Promise<ComputeClient | undefined> {
  const client = attached;
  if (!client) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), READY_TIMEOUT_MS); });
  try {
    const report = await Promise.race([client.ready, timeout]);
    return report && isGpuContext(report) ? client : undefined;
  } catch {
    return undefined;
  } finally { clearTimeout(timer); }
}

/** The attached compute context's backend when jobs will use it (a real GPU), for the backend report. */
export async function gpuContextReport(): Promise<BackendReport | undefined> {
  const context = await gpuContext();
  return context ? context.ready : undefined;
}

export async function startSlicePool(method: MethodSpec, options: { workers?: number; backend?: BackendName } = {}): Promise<SlicePool> {
  if (method.kind === 'model' && !options.backend) {
    const context = await gpuContext();
    if (context) return ComputeContextPool.start(context, method.folder, { tile: method.tile });
  }
  return DenoisePool.start(method, options);
}
