// The preload bridge (CommonJS: sandboxed preloads cannot be ES modules). It exposes the API
// transport the renderer's client is generated over — call a method, start/follow/cancel a job,
// a native dialog — and nothing else: no ipcRenderer, no Node, no way to name another channel.
// The main process checks every method name against the API table and the service every request.
// (TypeScript emits this import as require('electron') in the .cjs output.)
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

type JobEventListener = (jobId: string, event: unknown) => void;
const jobListeners = new Set<JobEventListener>();
ipcRenderer.on('ds:job', (_e: IpcRendererEvent, jobId: string, event: unknown) => {
  for (const l of jobListeners) l(jobId, event);
});

contextBridge.exposeInMainWorld('denoiseStudio', {
  info: () => ipcRenderer.invoke('ds:info'),
  call: (method: string, request: unknown) => ipcRenderer.invoke('ds:call', method, request),
  startJob: (method: string, request: unknown) => ipcRenderer.invoke('ds:startJob', method, request),
  jobs: () => ipcRenderer.invoke('ds:jobs'),
  jobHistory: (jobId: string, afterSeq?: number) => ipcRenderer.invoke('ds:jobHistory', jobId, afterSeq),
  cancel: (jobId: string) => ipcRenderer.invoke('ds:cancel', jobId),
  chooseFolder: (purpose: string) => ipcRenderer.invoke('ds:chooseFolder', purpose),
  onJobEvent(listener: JobEventListener) {
    jobListeners.add(listener);
    return () => { jobListeners.delete(listener); };
  },
  onMenu(handler: (command: string) => void) {
    ipcRenderer.on('ds:menu', (_e: IpcRendererEvent, command: string) => handler(command));
  },
});
