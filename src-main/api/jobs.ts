/**
 * Long jobs for the transports that cannot hold a promise open (HTTP, IPC): start returns an id,
 * progress events are buffered per job (late listeners get them from the start), and a job can be
 * cancelled. The CLI awaits the service directly instead.
 */
import { randomUUID } from 'node:crypto';
import type { JobControl, ProgressEvent } from './contract.js';

export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

export type JobEvent =
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'done'; result: unknown }
  | { type: 'failed'; error: string }
  | { type: 'cancelled' };

export interface JobInfo { id: string; kind: string; state: JobState; started: string }

interface Job extends JobInfo {
  events: JobEvent[];
  listeners: Set<(e: JobEvent) => void>;
  controller: AbortController;
}

/** Keep the last progress events only: a long training run emits thousands of batch events. */
const MAX_BUFFERED = 2000;

export class JobRegistry {
  private readonly jobs = new Map<string, Job>();

  start(kind: string, run: (control: JobControl) => Promise<unknown>): JobInfo {
    const job: Job = {
      id: randomUUID(), kind, state: 'running', started: new Date().toISOString(),
      events: [], listeners: new Set(), controller: new AbortController(),
    };
    this.jobs.set(job.id, job);
    const push = (e: JobEvent) => {
      if (e.type === 'progress' && job.events.length >= MAX_BUFFERED) {
        // Drop old batch events but keep epoch records and messages: curves need them all.
        const i = job.events.findIndex((x) => x.type === 'progress' && !x.event.record && !x.event.message);
        if (i >= 0) job.events.splice(i, 1);
      }
      job.events.push(e);
      for (const l of job.listeners) l(e);
    };
    run({ signal: job.controller.signal, onProgress: (event) => push({ type: 'progress', event }) }).then(
      (result) => { job.state = 'done'; push({ type: 'done', result }); },
      (error: unknown) => {
        const cancelled = (error as Error).name === 'CancelledError' || job.controller.signal.aborted;
        job.state = cancelled ? 'cancelled' : 'failed';
        push(cancelled ? { type: 'cancelled' } : { type: 'failed', error: (error as Error).message });
      },
    );
    return this.info(job);
  }

  private info(job: Job): JobInfo {
    return { id: job.id, kind: job.kind, state: job.state, started: job.started };
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => this.info(j));
  }

  /** Replays the job's events so far, then follows it; returns an unsubscribe function. */
  subscribe(id: string, listener: (e: JobEvent) => void): () => void {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`no such job: ${id}`);
    for (const e of job.events) listener(e);
    job.listeners.add(listener);
    return () => job.listeners.delete(listener);
  }

  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job || job.state !== 'running') return false;
    job.controller.abort();
    return true;
  }
}
