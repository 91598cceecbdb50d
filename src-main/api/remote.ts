/**
 * The API in another process (Electron's utilityProcess, or a forked Node process in tests): the
 * window's main process only relays. `RemoteEndpoint` is the main-process side, `serveEndpoint`
 * the service side; both speak the small message protocol below over any message channel.
 */
import type { ApiEndpoint, CallMethod, JobEvent, JobInfo, JobMethod, ResultOf } from './contract.js';

type Op = 'call' | 'startJob' | 'jobs' | 'history' | 'cancel' | 'allow' | 'roots';
export type HostRequest = { id: number; op: Op; args: unknown[] };
export type HostMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string; status: number }
  | { jobId: string; event: JobEvent }
  | { ready: true };

/** One end of a message channel (utilityProcess, child_process, MessagePort). */
export interface Channel {
  postMessage(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called when the other side goes away: pending requests fail instead of hanging. */
  onExit(listener: (reason: string) => void): void;
}

export class RemoteError extends Error {
  constructor(message: string, readonly status: number) { super(message); }
}

export class RemoteEndpoint implements ApiEndpoint {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly jobListeners = new Set<(jobId: string, e: JobEvent) => void>();
  private dead: string | undefined;
  readonly ready: Promise<void>;

  constructor(private readonly channel: Channel) {
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => { markReady = resolve; });
    channel.onMessage((raw) => {
      const m = raw as HostMessage;
      if ('ready' in m) return markReady();
      if ('jobId' in m) { for (const l of this.jobListeners) l(m.jobId, m.event); return; }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new RemoteError(m.message, m.status));
    });
    channel.onExit((reason) => {
      this.dead = `the service process stopped (${reason})`;
      for (const p of this.pending.values()) p.reject(new RemoteError(this.dead, 500));
      this.pending.clear();
    });
  }

  private request<T>(op: Op, ...args: unknown[]): Promise<T> {
    if (this.dead) return Promise.reject(new RemoteError(this.dead, 500));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.channel.postMessage({ id, op, args } satisfies HostRequest);
    });
  }

  call<K extends CallMethod>(method: K, request: unknown): Promise<ResultOf<K>> { return this.request('call', method, request); }
  startJob(method: JobMethod, request: unknown): Promise<JobInfo> { return this.request('startJob', method, request); }
  jobs(): Promise<JobInfo[]> { return this.request('jobs'); }
  history(jobId: string, afterSeq?: number): Promise<JobEvent[]> { return this.request('history', jobId, afterSeq); }
  cancel(jobId: string): Promise<boolean> { return this.request('cancel', jobId); }
  allow(folder: string): Promise<void> { return this.request('allow', folder); }
  roots(): Promise<string[]> { return this.request('roots'); }

  /** Every job event, live. */
  onJobEvent(listener: (jobId: string, e: JobEvent) => void): () => void {
    this.jobListeners.add(listener);
    return () => this.jobListeners.delete(listener);
  }
}

/** The service side: answers requests from the channel with an in-process endpoint, forwards job events. */
export function serveEndpoint(endpoint: ApiEndpoint & { onJobEvent(l: (jobId: string, e: JobEvent) => void): unknown }, channel: Pick<Channel, 'postMessage' | 'onMessage'>): void {
  endpoint.onJobEvent((jobId, event) => channel.postMessage({ jobId, event } satisfies HostMessage));
  channel.onMessage((raw) => {
    const m = raw as HostRequest;
    if (typeof m?.id !== 'number' || typeof m.op !== 'string' || !Array.isArray(m.args)) return;
    const ops: Record<Op, (...a: unknown[]) => Promise<unknown>> = {
      call: (method, request) => endpoint.call(method as CallMethod, request),
      startJob: (method, request) => endpoint.startJob(method as JobMethod, request),
      jobs: () => endpoint.jobs(),
      history: (jobId, after) => endpoint.history(String(jobId), typeof after === 'number' ? after : undefined),
      cancel: (jobId) => endpoint.cancel(String(jobId)),
      allow: (folder) => endpoint.allow(String(folder)),
      roots: () => endpoint.roots(),
    };
    const op = Object.hasOwn(ops, m.op) ? ops[m.op] : undefined;
    const run = op ? Promise.resolve().then(() => op(...m.args)) : Promise.reject(new RemoteError(`unknown operation ${m.op}`, 404));
    run.then(
      (value) => channel.postMessage({ id: m.id, ok: true, value } satisfies HostMessage),
      (error: unknown) => channel.postMessage({ id: m.id, ok: false, message: (error as Error).message, status: (error as { status?: number }).status ?? 400 } satisfies HostMessage),
    );
  });
  channel.postMessage({ ready: true } satisfies HostMessage);
}
