/**
 * The service's side of a compute context (the Electron app's hidden compute window, where the
 * engine runs on Chromium's WebGPU): requests by id over one channel, models sent as artifacts
 * read from their folders here (the context has no file system), and a slice pool over it.
 */
import type { BackendReport } from '../../model/backend-report.js';
import type { ModelSliceInput } from '../../model/model-denoiser.js';
import { readModelArtifacts } from '../../model/model-io.js';
import type { ComputeBackend, ComputeChannel, ComputeReply, ComputeRequest } from '../../compute/protocol.js';
import type { DenoisedSlice, SlicePool } from './denoise-pool.js';

interface Waiter { resolve: (reply: ComputeReply) => void; reject: (error: Error) => void }

export class ComputeClient {
  readonly ready: Promise<BackendReport>;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private failure: Error | undefined;
  private settleReady!: { resolve: (r: BackendReport) => void; reject: (e: Error) => void };

  constructor(private readonly channel: ComputeChannel, force?: ComputeBackend) {
    this.ready = new Promise((resolve, reject) => { this.settleReady = { resolve, reject }; });
    this.ready.catch(() => undefined); // read by whoever uses the context; not "unhandled" before then
    channel.onMessage((message) => this.onReply(message as ComputeReply));
    this.send({ type: 'init', force });
  }

  private send(request: ComputeRequest, transfer?: ArrayBuffer[]): void {
    this.channel.postMessage(request, transfer);
  }

  private onReply(reply: ComputeReply): void {
    if (reply.type === 'ready') return this.settleReady.resolve(reply.backend);
    const id = reply.type === 'loaded' || reply.type === 'result' ? reply.id : reply.id;
    const waiter = id === undefined ? undefined : this.waiters.get(id);
    if (!waiter) {
      // An error without a request: the context failed to start.
      if (reply.type === 'error') this.fail(new Error(`compute context: ${reply.message}`));
      return;
    }
    this.waiters.delete(id!);
    if (reply.type === 'error') waiter.reject(new Error(reply.message));
    else waiter.resolve(reply);
  }

  /** The context is gone (window closed, crashed): every waiting request fails with the reason. */
  fail(error: Error): void {
    this.failure = error;
    this.settleReady.reject(error);
    for (const w of this.waiters.values()) w.reject(error);
    this.waiters.clear();
  }

  private ask(make: (id: number) => ComputeRequest, transfer?: ArrayBuffer[]): Promise<ComputeReply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiters.set(id, { resolve, reject });
      this.send(make(id), transfer);
    });
  }

  async load(folder: string, tile?: number): Promise<{ model: number; name: string }> {
    await this.ready;
    const artifacts = await readModelArtifacts(folder);
    let model = 0;
    const reply = await this.ask((id) => { model = id; return { type: 'load', id, folder, artifacts, tile }; });
    return { model, name: reply.type === 'loaded' ? reply.name : folder };
  }

  async denoise(model: number, slices: ModelSliceInput[]): Promise<DenoisedSlice[]> {
    const reply = await this.ask((id) => ({ type: 'denoise', id, model, slices }), slices.map((s) => s.values.buffer as ArrayBuffer));
    if (reply.type !== 'result' || reply.outputs.length !== slices.length) throw new Error('compute context: malformed result');
    return reply.outputs.map((values, k) => ({ values, keptShare: reply.keptShares?.[k] }));
  }

  unload(model: number): void {
    if (!this.failure) this.send({ type: 'unload', model });
  }
}

/** A real GPU behind the context: worth sending slices to (a software adapter or WASM is not). */
export function isGpuContext(report: BackendReport): boolean {
  return report.name === 'webgpu' && !report.adapter?.software;
}

/** Slices in groups of up to four per request, two requests in flight: the GPU never waits for us. */
const SLICES_PER_REQUEST = 4;
const REQUESTS_IN_FLIGHT = 2;

export class ComputeContextPool implements SlicePool {
  readonly size = 1;
  private readonly waiting: { input: ModelSliceInput; resolve: (v: DenoisedSlice) => void; reject: (e: Error) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  private constructor(private readonly client: ComputeClient, private readonly model: number, readonly backend: string, readonly name: string) {}

  static async start(client: ComputeClient, folder: string, options: { tile?: number } = {}): Promise<ComputeContextPool> {
    const report = await client.ready;
    const { model, name } = await client.load(folder, options.tile);
    return new ComputeContextPool(client, model, report.name, name);
  }

  denoise(input: ModelSliceInput): Promise<DenoisedSlice> {
    // Copy: the caller keeps its input, the copy's buffer moves to the context.
    const copy = { ...input, values: Float32Array.from(input.values) };
    return new Promise((resolve, reject) => {
      this.waiting.push({ input: copy, resolve, reject });
      if (!this.scheduled) { this.scheduled = true; setImmediate(() => { this.scheduled = false; this.pump(); }); }
    });
  }

  private pump(): void {
    while (this.inFlight < REQUESTS_IN_FLIGHT && this.waiting.length) {
      const group = this.waiting.splice(0, SLICES_PER_REQUEST);
      this.inFlight++;
      this.client.denoise(this.model, group.map((g) => g.input)).then(
        (outputs) => group.forEach((g, k) => g.resolve(outputs[k]!)),
        (error: Error) => group.forEach((g) => g.reject(error)),
      ).finally(() => { this.inFlight--; this.pump(); });
    }
  }

  async close(): Promise<void> {
    this.client.unload(this.model);
  }
}
