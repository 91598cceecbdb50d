/**
 * Long jobs live here, in the service, not in a page: start returns at once, progress events are
 * numbered and buffered per job (a page that reloads re-attaches and replays them), a job can be
 * cancelled, and starting the same request while it runs returns the running job (a double click
 * never starts a job twice). The CLI awaits the service directly instead.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { JobControl, JobEvent, JobInfo, JobMethod } from './contract.js';

interface Job extends JobInfo {
  key: string;
  events: JobEvent[];
  nextSeq: number;
  listeners: Set<(e: JobEvent) => void>;
  controller: AbortController;
}

/** Keep the last progress events only: a long training run emits thousands of batch events. */
const MAX_BUFFERED = 2000;
/** Finished jobs kept for pages that re-attach late. */
const MAX_FINISHED = 50;

type Payload = JobEvent extends infer E ? E extends JobEvent ? Omit<E, 'seq'> : never : never;

export class JobRegistry {
  private readonly jobs = new Map<string, Job>();
  private readonly everyEvent = new Set<(jobId: string, e: JobEvent) => void>();

  start(kind: JobMethod, request: unknown, run: (control: JobControl) => Promise<unknown>): JobInfo {
    const key = createHash('sha256').update(`${kind}\0${JSON.stringify(request)}`).digest('hex');
    for (const j of this.jobs.values()) if (j.state === 'running' && j.key === key) return this.info(j);
    const job: Job = {
      id: randomUUID(), kind, state: 'running', started: new Date().toISOString(), request, key,
      events: [], nextSeq: 0, listeners: new Set(), controller: new AbortController(),
    };
    this.jobs.set(job.id, job);
    this.forgetOldJobs();
    const push = (payload: Payload) => {
      const e = { ...payload, seq: job.nextSeq++ } as JobEvent;
      if (e.type === 'progress') {
        job.last = e.event;
        if (job.events.length >= MAX_BUFFERED) {
          // Drop old batch events but keep epoch records and messages: curves need them all.
          const i = job.events.findIndex((x) => x.type === 'progress' && !x.event.record && !x.event.message);
          if (i >= 0) job.events.splice(i, 1);
        }
      }
      job.events.push(e);
      for (const l of job.listeners) l(e);
      for (const l of this.everyEvent) l(job.id, e);
    };
    // A job may throw synchronously; it still ends as 'failed', never as an unhandled rejection.
    Promise.resolve().then(() => run({ signal: job.controller.signal, onProgress: (event) => push({ type: 'progress', event }) })).then(
      (result) => { job.state = 'done'; push({ type: 'done', result }); },
      (error: unknown) => {
        const cancelled = (error as Error).name === 'CancelledError' || job.controller.signal.aborted;
        job.state = cancelled ? 'cancelled' : 'failed';
        push(cancelled ? { type: 'cancelled' } : { type: 'failed', error: (error as Error).message });
      },
    );
    return this.info(job);
  }

  private forgetOldJobs(): void {
    const finished = [...this.jobs.values()].filter((j) => j.state !== 'running');
    for (const j of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED))) this.jobs.delete(j.id);
  }

  private info(job: Job): JobInfo {
    return { id: job.id, kind: job.kind, state: job.state, started: job.started, request: withoutSecrets(job.request), last: job.last };
  }

  private get(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw Object.assign(new Error(`no such job: ${id}`), { status: 404 });
    return job;
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => this.info(j));
  }

  /** The events kept so far with a sequence number above `afterSeq`. */
  history(id: string, afterSeq = -1): JobEvent[] {
    return this.get(id).events.filter((e) => e.seq > afterSeq);
  }

  /** Replays the job's events so far, then follows it; returns an unsubscribe function. */
  subscribe(id: string, listener: (e: JobEvent) => void): () => void {
    const job = this.get(id);
    for (const e of job.events) listener(e);
    job.listeners.add(listener);
    return () => job.listeners.delete(listener);
  }

  /** Every event of every job, live (the process host forwards them to Electron's main process). */
  onEvent(listener: (jobId: string, e: JobEvent) => void): () => void {
    this.everyEvent.add(listener);
    return () => this.everyEvent.delete(listener);
  }

  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job || job.state !== 'running') return false;
    job.controller.abort();
    return true;
  }
}

/** A request as a job listing may show it: any `password` (a DICOMweb server's) replaced by ***. */
export function withoutSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSecrets);
  if (!value || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'password' && v ? '***' : withoutSecrets(v)]));
}
