// The compute window's preload (CommonJS, sandboxed). The main process sends it one MessagePort,
// once; it hands the port to the page (which gives it to the engine's worker) and exposes nothing
// else. The name matches COMPUTE_PORT_MESSAGE in src-main/compute/protocol.ts (a sandboxed preload
// cannot import our modules; a test checks the two agree).
import { ipcRenderer, type IpcRendererEvent } from 'electron';

ipcRenderer.once('ds:compute-port', (event: IpcRendererEvent) => {
  window.postMessage({ type: 'ds:compute-port' }, '*', event.ports);
});
