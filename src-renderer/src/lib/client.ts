/**
 * The renderer's one way to the API, generated from the method list in contract.ts: `api.<method>`
 * for every call, `startJob(<method>, …)` for every job. Under it, one of two transports: the
 * Electron preload bridge, or the loopback server (same-origin fetch with the session cookie;
 * pixels as one binary body, job events over Server-Sent Events).
 */
import {
  API_METHODS, type AppInfo, type CallMethod, type JobEvent, type JobInfo, type JobMethod, type RequestOf, type ResultOf,
} from '../../../src-main/api/contract';
import { decodeWire, WIRE_HEADER } from '../../../src-main/api/wire';

export type { AppInfo, JobEvent, JobInfo } from '../../../src-main/api/contract';
export type DialogPurpose = 'open' | 'dicomdir' | 'export' | 'import';

/** What the preload exposes in Electron (src-main/electron/preload.cts). */
interface Bridge {
  info(): Promise<AppInfo>;
  call(method: string, request: unknown): Promise<unknown>;
  startJob(method: string, request: unknown): Promise<JobInfo>;
  jobs(): Promise<JobInfo[]>;
  jobHistory(jobId: string, afterSeq?: number): Promise<JobEvent[]>;
  cancel(jobId: string): Promise<boolean>;
  chooseFolder(purpose: DialogPurpose): Promise<string | undefined>;
  onJobEvent(listener: (jobId: string, event: JobEvent) => void): () => void;
  onMenu(handler: (command: string) => void): void;
}

declare global {
  interface Window { denoiseStudio?: Bridge }
}

interface Transport {
  info(): Promise<AppInfo>;
  call(method: CallMethod, request: unknown): Promise<unknown>;
  startJob(method: JobMethod, request: unknown): Promise<JobInfo>;
  jobs(): Promise<JobInfo[]>;
  cancel(jobId: string): Promise<boolean>;
  /** Replays the job's events, then follows it live; each event once, in order. */
  follow(jobId: string, onEvent: (e: JobEvent) => void): () => void;
  /** Electron only: a native dialog (browser mode types paths instead). */
  chooseFolder?(purpose: DialogPurpose): Promise<string | undefined>;
  onMenu?(handler: (command: string) => void): void;
}

async function check(response: Response): Promise<unknown> {
  if (!response.ok) {
    const body = await response.json().catch(() => ({ error: response.statusText })) as { error?: string };
    throw new Error(body.error ?? `HTTP ${response.status}`);
  }
  const wire = response.headers.get(WIRE_HEADER);
  return wire ? decodeWire(wire, await response.arrayBuffer()) : response.json();
}

/** fetch, with a plain message when the server is gone (stopped, or the machine slept). */
function request(path: string, init?: RequestInit): Promise<Response> {
  return fetch(path, init).catch(() => {
    throw new Error('The Denoise Studio server is not answering: it may have been stopped. Start it again (npm start) and reload this page.');
  });
}

const post = (path: string, body: unknown) =>
  request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) }).then(check);

const httpTransport: Transport = {
  info: () => request('api/info').then(check) as Promise<AppInfo>,
  call: (method, request) => post(`api/${method}`, request),
  startJob: (method, request) => post(`api/jobs/${method}`, request) as Promise<JobInfo>,
  jobs: () => request('api/jobs').then(check) as Promise<JobInfo[]>,
  cancel: async (jobId) => ((await post(`api/jobs/${jobId}/cancel`, {})) as { cancelled: boolean }).cancelled,
  follow(jobId, onEvent) {
    // The server replays what the job emitted so far, then streams; EventSource resumes after
    // a dropped connection from the last event id it saw.
    const source = new EventSource(`api/jobs/${jobId}/events`);
    let last = -1;
    for (const type of ['progress', 'done', 'failed', 'cancelled']) {
      source.addEventListener(type, (e) => {
        const event = JSON.parse((e as MessageEvent<string>).data) as JobEvent;
        if (event.seq <= last) return;
        last = event.seq;
        onEvent(event);
        if (event.type !== 'progress') source.close();
      });
    }
    return () => source.close();
  },
};

function bridgeTransport(bridge: Bridge): Transport {
  return {
    info: () => bridge.info(),
    call: (method, request) => bridge.call(method, request),
    startJob: (method, request) => bridge.startJob(method, request),
    jobs: () => bridge.jobs(),
    cancel: (jobId) => bridge.cancel(jobId),
    follow(jobId, onEvent) {
      // Live events that arrive while the history is fetched are held, then de-duplicated by seq.
      let last = -1;
      let held: JobEvent[] | undefined = [];
      const deliver = (e: JobEvent) => { if (e.seq > last) { last = e.seq; onEvent(e); } };
      const stop = bridge.onJobEvent((id, e) => { if (id === jobId) { if (held) held.push(e); else deliver(e); } });
      void bridge.jobHistory(jobId).then((events) => {
        events.forEach(deliver);
        const pending = held!;
        held = undefined;
        pending.sort((a, b) => a.seq - b.seq).forEach(deliver);
      });
      return stop;
    },
    chooseFolder: (purpose) => bridge.chooseFolder(purpose),
    onMenu: (handler) => bridge.onMenu(handler),
  };
}

export const transport: Transport = window.denoiseStudio ? bridgeTransport(window.denoiseStudio) : httpTransport;

/** One typed function per API call, generated from the method list. */
export const api = Object.fromEntries(
  Object.entries(API_METHODS).filter(([, kind]) => kind === 'call')
    .map(([method]) => [method, (request?: unknown) => transport.call(method as CallMethod, request ?? {})]),
) as { [K in CallMethod]: (request: RequestOf<K>) => Promise<ResultOf<K>> };

export function startJob<K extends JobMethod>(method: K, request: RequestOf<K>): Promise<JobInfo> {
  return transport.startJob(method, request);
}
