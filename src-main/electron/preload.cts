// The preload bridge (CommonJS: sandboxed preloads cannot be ES modules). It exposes the typed
// client and nothing else: no ipcRenderer, no Node, no way to name an arbitrary channel.
// (TypeScript emits this import as require('electron') in the .cjs output.)
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

type JobEvent = { type: string };
const buffered = new Map<string, JobEvent[]>();
const listeners = new Map<string, Set<(e: JobEvent) => void>>();

// Job events can arrive before the page subscribes: keep them per job and replay on follow().
ipcRenderer.on('ds:job', (_e: IpcRendererEvent, jobId: string, event: JobEvent) => {
  const list = buffered.get(jobId) ?? [];
  list.push(event);
  if (list.length > 5000) list.splice(0, list.length - 5000);
  buffered.set(jobId, list);
  for (const l of listeners.get(jobId) ?? []) l(event);
});

contextBridge.exposeInMainWorld('denoiseStudio', {
  info: () => ipcRenderer.invoke('ds:info'),
  openFolder: (typed?: string) => ipcRenderer.invoke('ds:openFolder', typed),
  catalog: () => ipcRenderer.invoke('ds:catalog'),
  chooseFolder: (purpose: string) => ipcRenderer.invoke('ds:chooseFolder', purpose),
  slice: (uid: string, index: number) => ipcRenderer.invoke('ds:slice', uid, index),
  backend: () => ipcRenderer.invoke('ds:backend'),
  preview: (request: unknown) => ipcRenderer.invoke('ds:preview', request),
  models: () => ipcRenderer.invoke('ds:models'),
  checkTrainConfig: (config: unknown) => ipcRenderer.invoke('ds:checkTrainConfig', config),
  importModel: (folder: string) => ipcRenderer.invoke('ds:importModel', folder),
  deleteModel: (id: string) => ipcRenderer.invoke('ds:deleteModel', id),
  startJob: (kind: string, request: unknown) => ipcRenderer.invoke('ds:startJob', kind, request),
  cancel: (id: string) => ipcRenderer.invoke('ds:cancel', id),
  follow(jobId: string, onEvent: (e: JobEvent) => void) {
    for (const e of buffered.get(jobId) ?? []) onEvent(e);
    const set = listeners.get(jobId) ?? new Set();
    set.add(onEvent);
    listeners.set(jobId, set);
    return () => set.delete(onEvent);
  },
  onMenu(handler: (command: string) => void) {
    ipcRenderer.on('ds:menu', (_e: IpcRendererEvent, command: string) => handler(command));
  },
});
