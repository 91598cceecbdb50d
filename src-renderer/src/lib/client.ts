/**
 * The renderer's one way to the API: the Electron preload bridge when present, else the loopback
 * server (same-origin fetch with the session cookie; job progress over Server-Sent Events).
 */
import type { BackendInfo, CatalogPatient, IndexResult, ModelSummary, PreviewResult, ProgressEvent, Slice, TrainConfigCheck } from './types';

export type JobEvent =
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'done'; result: unknown }
  | { type: 'failed'; error: string }
  | { type: 'cancelled' };

export interface AppInfo { dataDir: string; roots: string[]; sampleStudy: string; mode: 'electron' | 'browser' }

export interface Client {
  info(): Promise<AppInfo>;
  /** Electron: a native folder dialog; browser: the typed path (must lie under the server's roots). */
  openFolder(typed?: string): Promise<IndexResult | undefined>;
  catalog(): Promise<CatalogPatient[]>;
  /** Electron only: a native folder dialog (browser mode types paths instead). */
  chooseFolder?(purpose: 'export' | 'import'): Promise<string | undefined>;
  slice(seriesInstanceUid: string, index: number): Promise<Slice>;
  backend(): Promise<BackendInfo>;
  preview(request: { seriesInstanceUid: string; index: number; normalisation: unknown; imputation: unknown }): Promise<PreviewResult>;
  models(): Promise<ModelSummary[]>;
  checkTrainConfig(config: unknown): Promise<TrainConfigCheck>;
  importModel(folder: string): Promise<ModelSummary>;
  deleteModel(id: string): Promise<void>;
  startJob(kind: 'denoise' | 'train' | 'export', request: unknown): Promise<string>;
  follow(jobId: string, onEvent: (e: JobEvent) => void): () => void;
  cancel(jobId: string): Promise<void>;
}

declare global {
  interface Window { denoiseStudio?: Client }
}

async function check<T>(response: Response): Promise<T> {
  if (!response.ok) {
    const body = await response.json().catch(() => ({ error: response.statusText })) as { error?: string };
    throw new Error(body.error ?? `HTTP ${response.status}`);
  }
  return response.json() as Promise<T>;
}

const post = <T>(path: string, body: unknown) =>
  fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => check<T>(r));
const get = <T>(path: string) => fetch(path).then((r) => check<T>(r));

const httpClient: Client = {
  info: () => get<AppInfo>('api/info'),
  openFolder: async (typed) => (typed ? post<IndexResult>('api/open', { path: typed }) : undefined),
  catalog: () => get<CatalogPatient[]>('api/catalog'),
  async slice(uid, index) {
    const response = await fetch(`api/series/${uid}/slices/${index}`);
    if (!response.ok) throw new Error((await response.json() as { error: string }).error);
    const info = JSON.parse(response.headers.get('x-slice')!) as Omit<Slice, 'values'>;
    return { ...info, values: new Float32Array(await response.arrayBuffer()) };
  },
  backend: () => get<BackendInfo>('api/backend'),
  async preview(request) {
    const response = await fetch('api/preview', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    if (!response.ok) throw new Error((await response.json() as { error: string }).error);
    const info = JSON.parse(response.headers.get('x-preview')!) as Omit<PreviewResult, 'normalised' | 'mask'>;
    const bytes = await response.arrayBuffer();
    const n = info.width * info.height;
    return { ...info, normalised: new Float32Array(bytes, 0, n), mask: new Uint8Array(bytes, 4 * n, n) };
  },
  models: () => get<ModelSummary[]>('api/models'),
  checkTrainConfig: (config) => post<TrainConfigCheck>('api/train/check', { config }),
  importModel: (folder) => post<ModelSummary>('api/models/import', { folder }),
  deleteModel: async (id) => { await post('api/models/delete', { id }); },
  startJob: async (kind, request) => (await post<{ id: string }>(`api/jobs/${kind}`, request)).id,
  follow(jobId, onEvent) {
    const source = new EventSource(`api/jobs/${jobId}/events`);
    for (const type of ['progress', 'done', 'failed', 'cancelled']) {
      source.addEventListener(type, (e) => {
        const event = JSON.parse((e as MessageEvent<string>).data) as JobEvent;
        onEvent(event);
        if (event.type !== 'progress') source.close();
      });
    }
    return () => source.close();
  },
  cancel: async (jobId) => { await post(`api/jobs/${jobId}/cancel`, {}); },
};

export const client: Client = window.denoiseStudio ?? httpClient;
