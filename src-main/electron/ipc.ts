/**
 * The IPC surface, as plain handlers (no `electron` import) so every input check is tested in
 * Node: each channel validates its arguments and confines paths to folders the user chose in a
 * native dialog or the app's data folder. main.ts registers these with ipcMain.handle.
 */
import type { DenoiseStudioApi, ProgressEvent } from '../api/contract.js';
import { JobRegistry, type JobEvent } from '../api/jobs.js';
import { PathGuard } from '../api/path-guard.js';

export type JobKind = 'denoise' | 'train' | 'export';

export interface IpcContext {
  service: DenoiseStudioApi;
  guard: PathGuard;
  jobs: JobRegistry;
  dataDir: string;
  sampleStudy: string;
  /** Shows a native folder (or DICOMDIR) dialog; resolves undefined when cancelled. */
  chooseFolder: (kind: 'folder' | 'dicomdir') => Promise<string | undefined>;
  /** Sends a job event to the window. */
  sendJobEvent: (jobId: string, event: JobEvent) => void;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requireRecord(v: unknown, channel: string): Record<string, unknown> {
  if (!isRecord(v)) throw new Error(`${channel}: expected an object argument`);
  return v;
}

const UID = /^[0-9.]{1,64}$/;

export function createIpcHandlers(ctx: IpcContext): Record<string, (...args: unknown[]) => Promise<unknown>> {
  const { service, guard, jobs } = ctx;
  const follow = (id: string) => jobs.subscribe(id, (e) => ctx.sendJobEvent(id, e));
  return {
    'ds:info': async () => ({ dataDir: ctx.dataDir, roots: guard.list(), sampleStudy: ctx.sampleStudy, mode: 'electron' }),
    'ds:openFolder': async (what) => {
      // 'folder' / 'dicomdir' open a native dialog; a path is accepted only if already allowed
      // (the sample study, a recent folder re-chosen from the menu, a result folder).
      if (what === undefined || what === 'folder' || what === 'dicomdir') {
        const chosen = await ctx.chooseFolder(what === 'dicomdir' ? 'dicomdir' : 'folder');
        if (!chosen) return undefined;
        guard.allow(chosen);
        return service.index({ path: chosen });
      }
      if (typeof what !== 'string') throw new Error('ds:openFolder: expected a path');
      return service.index({ path: guard.check(what, 'path') });
    },
    'ds:chooseFolder': async (purpose) => {
      // A native dialog for an export destination or a model folder to import; what the user
      // picks becomes an allowed folder for the request that follows.
      if (purpose !== 'export' && purpose !== 'import') throw new Error("ds:chooseFolder: purpose must be 'export' or 'import'");
      const chosen = await ctx.chooseFolder('folder');
      if (chosen) guard.allow(chosen);
      return chosen;
    },
    'ds:catalog': async () => service.catalog(),
    'ds:slice': async (uid, index) => {
      if (typeof uid !== 'string' || !UID.test(uid)) throw new Error('ds:slice: series UID must be a DICOM UID');
      if (!Number.isInteger(index) || (index as number) < 0) throw new Error('ds:slice: index must be a non-negative integer');
      return service.slice({ seriesInstanceUid: uid, index: index as number });
    },
    'ds:backend': async () => service.backend(),
    'ds:preview': async (request) => service.preview(requireRecord(request, 'ds:preview') as never),
    'ds:models': async () => service.models(),
    'ds:checkTrainConfig': async (config) => service.checkTrainConfig(config), // the schema validates it
    'ds:importModel': async (folder) => {
      if (typeof folder !== 'string') throw new Error('ds:importModel: folder must be a path');
      return service.importModel({ folder: guard.check(folder, 'folder') });
    },
    'ds:deleteModel': async (id) => {
      if (typeof id !== 'string') throw new Error('ds:deleteModel: id must be a string');
      return service.deleteModel({ id });
    },
    'ds:startJob': async (kind, request) => {
      const r = requireRecord(request, 'ds:startJob');
      const run: Record<JobKind, { fields: string[]; start: (c: { signal?: AbortSignal; onProgress?: (e: ProgressEvent) => void }) => Promise<unknown> }> = {
        denoise: { fields: ['input', 'out', 'model'], start: (c) => service.denoise(r as never, c) },
        train: { fields: ['data', 'out', 'checkpoint'], start: (c) => service.train(r as never, c) },
        export: { fields: ['out'], start: () => service.exportSeries(r as never) },
      };
      if (typeof kind !== 'string' || !(kind in run)) throw new Error(`ds:startJob: unknown job kind ${String(kind)}`);
      const job = run[kind as JobKind];
      guard.checkRequest(r, job.fields);
      const info = jobs.start(kind, async (control) => {
        const result = await job.start(control);
        if (kind === 'denoise') for (const s of (result as { series: { output: string }[] }).series) guard.allow(s.output);
        if (kind === 'export') guard.allow((result as { folder: string }).folder);
        return result;
      });
      follow(info.id);
      return info.id;
    },
    'ds:cancel': async (id) => {
      if (typeof id !== 'string') throw new Error('ds:cancel: job id must be a string');
      return jobs.cancel(id);
    },
  };
}
