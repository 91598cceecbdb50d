/** One loopback server over a fresh data folder per spec file: real fixtures, real service. */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { ApiHost } from '../../src-main/api/host.js';
import { PathGuard } from '../../src-main/api/path-guard.js';
import { DenoiseStudioService } from '../../src-main/api/service.js';
import { ROOT_HINT, startLoopbackServer, type LoopbackServer } from '../../src-main/server/server.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const SHOTS = path.join(ROOT, 'test-results', 'screenshots');
export const SAMPLE = path.join(ROOT, 'models', 'sample-study');

export interface TestApp { server: LoopbackServer; service: DenoiseStudioService; home: string; data: string; close(): Promise<void> }

/** `copies`: fixture folders (relative to the repository) copied into the data folder under a name. */
export async function startTestApp(copies: Record<string, string>): Promise<TestApp> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'ds-e2e-'));
  const data = path.join(home, 'data');
  for (const [name, from] of Object.entries(copies)) {
    mkdirSync(path.dirname(path.join(data, name)), { recursive: true });
    cpSync(path.join(ROOT, from), path.join(data, name), { recursive: true });
  }
  const service = new DenoiseStudioService({ database: path.join(home, 'app', 'catalog.sqlite') });
  const host = new ApiHost(service, new PathGuard([data, path.join(home, 'app'), SAMPLE], ROOT_HINT));
  const server = await startLoopbackServer({ host, staticDir: path.join(ROOT, 'dist-renderer'), dataDir: path.join(home, 'app'), sampleStudy: SAMPLE });
  return {
    server, service, home, data,
    async close() { await server.close(); service.close(); rmSync(home, { recursive: true, force: true }); },
  };
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}
