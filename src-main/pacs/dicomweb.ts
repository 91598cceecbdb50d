/**
 * DICOMweb through dcmjs-org's dicomweb-client: QIDO-RS search (studies, series), WADO-RS retrieve
 * (a study or series, as DICOM Part 10 instances into a new folder) and STOW-RS store. In Node the
 * client needs an XMLHttpRequest: xhr2 provides it. Credentials go in one Authorization header
 * and nowhere else: the client's own logging (which prints whole requests) is off, and our errors
 * name the server's URL without user or password.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import XHR from 'xhr2';
import * as dicomweb from 'dicomweb-client';
import dcmjs from 'dcmjs';
import dicomParser from 'dicom-parser';
import { checkLevelKeys, type QueryKeys, type QueryLevel } from './dimse.js';

// The client looks XMLHttpRequest up as a global when a request starts.
(globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest ??= XHR;

export interface WebServer {
  /** The DICOMweb root, e.g. http://pacs:8042/dicom-web (no credentials in it) */
  url: string;
  username?: string;
  password?: string;
}

export interface WebOptions {
  /** Per request, ms (default 30 s): a server that is down or silent fails instead of hanging */
  timeoutMs?: number;
}

/** The URL as it may appear in messages: without any user:password@ part. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = ''; u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch { return '(invalid URL)'; }
}

function clientFor(server: WebServer, options: WebOptions): dicomweb.api.DICOMwebClient {
  const url = new URL(server.url);
  if (url.username || url.password) throw new Error('url: put the user name and password in their own fields, not in the URL');
  const headers: Record<string, string> = {};
  if (server.username) headers.Authorization = `Basic ${Buffer.from(`${server.username}:${server.password ?? ''}`).toString('base64')}`;
  const timeout = options.timeoutMs ?? 30_000;
  return new dicomweb.api.DICOMwebClient({
    url: server.url.replace(/\/$/, ''), headers, verbose: false, debug: false, singlepart: false,
    requestHooks: [(request: { timeout: number }, _metadata: unknown) => { request.timeout = timeout; return request; }],
  });
}

/** The client's failure (status 0: no answer) as a sentence naming the server, never its credentials. */
function explain(server: WebServer, what: string, e: unknown): Error {
  const status = (e as { status?: number })?.status;
  const where = displayUrl(server.url);
  if (status === 401 || status === 403) return new Error(`${where} refused our credentials for ${what} (HTTP ${status}: check the user name and password)`);
  if (status === 0 || status === undefined) return new Error(`${where} did not answer ${what} (is it running, and is the address right?)`);
  if (status === 404) return new Error(`${where}: ${what} found nothing there (HTTP 404: is this the DICOMweb root?)`);
  return new Error(`${where} answered ${what} with HTTP ${status}`);
}

/**
 * QIDO-RS: one record per match, by keyword (the same shape as a C-FIND answer). QIDO has no
 * patient resource: a patient search is a study search grouped by patient (name, ID, birth date
 * and sex are among the attributes every study answer carries), with its count of studies.
 */
export async function webFind(server: WebServer, level: QueryLevel, keys: QueryKeys, options: WebOptions = {}): Promise<Record<string, unknown>[]> {
  checkLevelKeys(level, keys);
  if (level === 'patient') return patientsOf(await webFind(server, 'study', keys, options));
  const client = clientFor(server, options);
  // QIDO answers with the level's required attributes (UIDs, date, modalities, counts); the one we
  // add is the description, as one hex tag: Orthanc's plugin ignores 'all' and comma lists.
  const queryParams: Record<string, string> = { includefield: level === 'study' ? '00081030' : '0008103E' };
  for (const [k, v] of Object.entries(keys)) if (v && !(level === 'series' && k === 'StudyInstanceUID')) queryParams[k] = String(v);
  try {
    const found = level === 'study'
      ? await client.searchForStudies({ queryParams })
      : await client.searchForSeries({ studyInstanceUID: keys.StudyInstanceUID!, queryParams });
    return (found as DicomJson[]).map(byKeyword);
  } catch (e) { throw explain(server, `a ${level} search`, e); }
}

/** Studies grouped by patient (ID, then name where a PACS leaves the ID empty), in the order first seen. */
function patientsOf(studies: Record<string, unknown>[]): Record<string, unknown>[] {
  const patients = new Map<string, Record<string, unknown>>();
  for (const s of studies) {
    const name = s.PatientName as { Alphabetic?: string } | string | undefined;
    const key = `${String(s.PatientID ?? '')}\u0000${typeof name === 'object' ? name.Alphabetic ?? '' : name ?? ''}`;
    const seen = patients.get(key);
    if (seen) { seen.NumberOfPatientRelatedStudies = Number(seen.NumberOfPatientRelatedStudies) + 1; continue; }
    patients.set(key, { PatientName: s.PatientName, PatientID: s.PatientID, PatientBirthDate: s.PatientBirthDate, PatientSex: s.PatientSex, NumberOfPatientRelatedStudies: 1 });
  }
  return [...patients.values()];
}

type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

/** A DICOM JSON record (tags) as keyword → first value (a person name stays { Alphabetic }). */
function byKeyword(json: DicomJson): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [tag, element] of Object.entries(json)) {
    const keyword = dcmjs.data.DicomMetaDictionary.dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`]?.name;
    if (keyword && element.Value?.length) out[keyword] = element.Value[0];
  }
  return out;
}

/** The SOP Instance UID of a Part 10 instance (its file name when stored). */
function sopInstanceUid(buffer: ArrayBuffer): string {
  const dataset = dicomParser.parseDicom(new Uint8Array(buffer), { untilTag: 'x00080018' });
  return (dataset.string('x00080018') ?? '').replace(/[^\d.]/g, '');
}

/**
 * WADO-RS of a study or one series into `folder` (created; must not exist): one file per
 * instance, named by its SOP Instance UID, written exclusively (never over anything).
 */
export async function webRetrieve(server: WebServer, what: { studyInstanceUid: string; seriesInstanceUid?: string }, folder: string,
  options: WebOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<{ files: string[]; failed: number }> {
  const dir = path.resolve(folder);
  if (existsSync(dir)) throw new Error(`${dir} already exists; retrieve into a new folder`);
  const client = clientFor(server, options);
  let instances: ArrayBuffer[];
  try {
    instances = what.seriesInstanceUid
      ? await client.retrieveSeries({ studyInstanceUID: what.studyInstanceUid, seriesInstanceUID: what.seriesInstanceUid } as Parameters<typeof client.retrieveSeries>[0])
      : await client.retrieveStudy({ studyInstanceUID: what.studyInstanceUid } as Parameters<typeof client.retrieveStudy>[0]);
  } catch (e) { throw explain(server, 'a retrieve', e); }
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  let failed = 0;
  for (const [k, buffer] of instances.entries()) {
    let sop = '';
    try { sop = sopInstanceUid(buffer); } catch { /* not a DICOM instance: counted as failed */ }
    const file = path.join(dir, `${sop}.dcm`);
    if (!sop) failed++;
    else if (!existsSync(file)) {
      await writeFile(file, new Uint8Array(buffer), { flag: 'wx' });
      files.push(file);
    }
    options.onProgress?.(k + 1, instances.length);
  }
  return { files, failed };
}

/** STOW-RS of files, in batches of 20: how many the server took. */
export async function webSend(server: WebServer, files: string[], options: WebOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<{ sent: number; failed: { file: string; status: string }[] }> {
  if (!files.length) throw new Error('nothing to send');
  const client = clientFor(server, options);
  const failed: { file: string; status: string }[] = [];
  let done = 0;
  for (let i = 0; i < files.length; i += 20) {
    const batch = files.slice(i, i + 20);
    const datasets = await Promise.all(batch.map(async (f) => { const b = await readFile(f); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer; }));
    try {
      await client.storeInstances({ datasets });
    } catch (e) {
      const reason = explain(server, 'a store', e).message;
      failed.push(...batch.map((file) => ({ file, status: reason })));
    }
    done += batch.length;
    options.onProgress?.(done, files.length);
  }
  return { sent: files.length - failed.length, failed };
}
