/**
 * Electron main process: one secure window on the app:// scheme, the menu, native dialogs, and
 * the IPC relay of the API. The service runs in its own utility process (api/process-host.ts):
 * no indexing, decoding, SQLite or compute ever runs on this thread. Everything decided here is
 * configured in security.ts and ipc.ts, which are tested in Node.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, MessageChannelMain, Menu, net, protocol, session, shell, utilityProcess, type MenuItemConstructorOptions, type UtilityProcess } from 'electron';
import { COMPUTE_PORT_MESSAGE } from '../compute/protocol.js';
import { RemoteEndpoint } from '../api/remote.js';
import { isInside } from '../shared/fs-paths.js';
import { defaultDataDir } from '../api/data-dir.js';
import { createIpcHandlers, type DialogPurpose } from './ipc.js';
import {
  APP_ORIGIN, APP_SCHEME, computeWebPreferences, contentSecurityPolicyFor, isAllowedNavigation, isAllowedRequest, permissionDecision,
  sanitiseWindowState, secureWebPreferences,
} from './security.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const appRoot = path.resolve(here, '../../..'); // dist/src-main/electron → project or app root
const resources = app.isPackaged ? process.resourcesPath : appRoot;
const rendererDir = path.join(appRoot, 'dist-renderer');
const modelsDir = path.join(resources, 'models');
process.env.DENOISE_STUDIO_MODELS ??= modelsDir;

// Chromium enables WebGPU by default on Linux only from 147 (Electron 41 is 146); Windows and
// macOS have it on. The compute window falls back to WASM by itself where no adapter answers.
if (process.platform === 'linux') app.commandLine.appendSwitch('enable-unsafe-webgpu');

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

const dataDir = defaultDataDir();
mkdirSync(dataDir, { recursive: true });
const stateFile = path.join(dataDir, 'window.json');
const recentFile = path.join(dataDir, 'recent.json');
const sampleStudy = path.join(modelsDir, 'sample-study');
let window: BrowserWindow | undefined;

/** The service process; the window's main process only relays to it (utility processes start after 'ready'). */
function startService(): { endpoint: RemoteEndpoint; child: UtilityProcess } {
  const child = utilityProcess.fork(path.join(here, '..', 'api', 'process-host.js'), [JSON.stringify({ roots: [dataDir, sampleStudy] })], {
    serviceName: 'Denoise Studio service', env: { ...process.env, DENOISE_STUDIO_MODELS: modelsDir },
  });
  const endpoint = new RemoteEndpoint({
    postMessage: (m) => child.postMessage(m),
    onMessage: (l) => child.on('message', l),
    onExit: (l) => child.once('exit', (code) => l(`exit code ${code}`)),
  });
  return { endpoint, child };
}

/**
 * The compute context: a hidden window whose page runs the engine in a worker on Chromium's own
 * WebGPU (Dawn's Node binding cannot run inside Electron). The service process and that worker
 * get the two ends of one MessagePort; this process only introduces them. Reloaded if it crashes.
 */
function startComputeWindow(service: UtilityProcess): void {
  const compute = new BrowserWindow({ show: false, width: 64, height: 64, webPreferences: computeWebPreferences(path.join(here, 'compute-preload.cjs')) });
  const contents = compute.webContents;
  contents.on('will-navigate', (e) => e.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('did-finish-load', () => {
    const { port1, port2 } = new MessageChannelMain();
    contents.postMessage(COMPUTE_PORT_MESSAGE, null, [port1]);
    service.postMessage({ type: COMPUTE_PORT_MESSAGE }, [port2]);
  });
  contents.on('render-process-gone', () => { if (!compute.isDestroyed()) void compute.loadURL(`${APP_ORIGIN}/compute.html`); });
  void compute.loadURL(`${APP_ORIGIN}/compute.html`);
}
let service: RemoteEndpoint;

function readJson(file: string): unknown {
  try { return JSON.parse(readFileSync(file, 'utf8')); } catch { return undefined; }
}

function recentFolders(): string[] {
  const list = readJson(recentFile);
  return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string' && existsSync(x)).slice(0, 8) : [];
}

function remember(folder: string): void {
  writeFileSync(recentFile, JSON.stringify([folder, ...recentFolders().filter((f) => f !== folder)].slice(0, 8)));
  buildMenu();
}

const DIALOG_TITLES: Record<DialogPurpose, string> = {
  open: 'Open folder', dicomdir: 'Open DICOMDIR', export: 'Export to a new folder', import: 'Import a tfjs model folder',
};

async function chooseFolder(purpose: DialogPurpose): Promise<string | undefined> {
  const result = await dialog.showOpenDialog(window!, purpose === 'dicomdir'
    ? { title: DIALOG_TITLES.dicomdir, properties: ['openFile'], filters: [{ name: 'DICOMDIR', extensions: ['*'] }] }
    : { title: DIALOG_TITLES[purpose], properties: ['openDirectory', 'createDirectory'] });
  const chosen = result.canceled ? undefined : result.filePaths[0];
  if (chosen && (purpose === 'open' || purpose === 'dicomdir')) remember(chosen);
  return chosen;
}

function buildMenu(): void {
  const send = (command: string) => window?.webContents.send('ds:menu', command);
  const template: MenuItemConstructorOptions[] = [
    {
      label: 'File', submenu: [
        { label: 'Open Folder…', accelerator: 'CmdOrCtrl+O', click: () => send('open-folder') },
        { label: 'Open DICOMDIR…', click: () => send('open-dicomdir') },
        { label: 'Open Recent', submenu: recentFolders().map((f) => ({ label: f, click: () => { void service.allow(f).then(() => send(`open:${f}`)); } })) },
        { type: 'separator' },
        { label: 'Export Denoised Series…', accelerator: 'CmdOrCtrl+E', click: () => send('export') },
        { type: 'separator' },
        { role: 'quit' },
      ],
    },
    { label: 'View', submenu: [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }] },
    { label: 'Help', submenu: [{ label: 'Data folder', click: () => void shell.openPath(dataDir) }] },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function createWindow(): void {
  const state = sanitiseWindowState(readJson(stateFile));
  window = new BrowserWindow({
    width: state.width, height: state.height, x: state.x, y: state.y, show: false, backgroundColor: '#101214',
    title: 'Denoise Studio', webPreferences: secureWebPreferences(path.join(here, 'preload.cjs')),
  });
  if (state.maximized) window.maximize();
  window.once('ready-to-show', () => window?.show());
  window.on('close', () => {
    if (!window) return;
    writeFileSync(stateFile, JSON.stringify({ ...window.getNormalBounds(), maximized: window.isMaximized() }));
  });
  window.on('closed', () => app.quit()); // the hidden compute window would otherwise keep the app alive
  const contents = window.webContents;
  contents.on('will-navigate', (e, url) => { if (!isAllowedNavigation(url)) e.preventDefault(); });
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  void window.loadURL(`${APP_ORIGIN}/index.html`);
}

app.whenReady().then(() => {
  const started = startService();
  service = started.endpoint;
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_wc, permission, callback) => callback(permissionDecision(permission)));
  ses.setPermissionCheckHandler((_wc, permission) => permissionDecision(permission));
  ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedRequest(details.url) }));
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const file = path.resolve(rendererDir, '.' + decodeURIComponent(url.pathname));
    if (!isInside(rendererDir, file)) return new Response('not found', { status: 404 });
    const response = await net.fetch(`file://${file}`);
    const headers = new Headers(response.headers);
    headers.set('Content-Security-Policy', contentSecurityPolicyFor(url.pathname));
    headers.set('X-Content-Type-Options', 'nosniff');
    return new Response(response.body, { status: response.status, headers });
  });
  const handlers = createIpcHandlers({ endpoint: service, dataDir, sampleStudy, chooseFolder });
  service.onJobEvent((id, event) => window?.webContents.send('ds:job', id, event));
  for (const [channel, handler] of Object.entries(handlers)) {
    ipcMain.handle(channel, (event, ...args) => {
      // Only our own page may call in.
      if (!isAllowedNavigation(event.senderFrame?.url ?? '')) throw new Error('IPC refused: unknown sender');
      return handler(...args);
    });
  }
  buildMenu();
  createWindow();
  startComputeWindow(started.child);
}).catch((error: unknown) => {
  dialog.showErrorBox('Denoise Studio could not start', (error as Error).message);
  app.quit();
});

// The hidden compute window never closes by itself: the app ends with its one visible window.
app.on('window-all-closed', () => app.quit());
