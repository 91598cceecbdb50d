/**
 * DICOM networking with a PACS or modality, through dcmjs-dimse (no PDU code of ours):
 * verification (C-ECHO), query (C-FIND), retrieve (C-GET into a new folder) and send (C-STORE).
 * Every association has timeouts, so a node that is down or silent fails with a clear message
 * instead of hanging. dcmjs-dimse's own logging is silenced: it could print patient data.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { dimse } from './quiet.js';

const { Client } = dimse;
const { CEchoRequest, CFindRequest, CGetRequest, CMoveRequest, CStoreRequest } = dimse.requests;
const { CStoreResponse } = dimse.responses;
const { Status } = dimse.constants;
const { Dataset } = dimse;
/** Patient Root Query/Retrieve Information Model – FIND: the model that has a patient level. */
const PATIENT_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.1.1';

export interface PacsNode { host: string; port: number; aet: string }
export interface DimseOptions {
  /** Our AE title (the calling AE title) */
  callingAet?: string;
  /** Connect and association timeouts, ms */
  timeoutMs?: number;
}

export const DEFAULT_AET = 'DENOISESTUDIO';

/** DICOM warning statuses (0xB000, 0xB006, 0xB007…): the instance was taken, with a remark. */
const isWarning = (status: number) => (status & 0xf000) === 0xb000;
const where = (node: PacsNode) => `${node.aet}@${node.host}:${node.port}`;

type Request = InstanceType<typeof CEchoRequest> | InstanceType<typeof CFindRequest> | InstanceType<typeof CGetRequest> | InstanceType<typeof CMoveRequest> | InstanceType<typeof CStoreRequest>;

/** One association: the requests in order; resolves when it is released, rejects with the reason otherwise. */
function associate(node: PacsNode, requests: Request[], options: DimseOptions,
  onStore?: (request: InstanceType<typeof CStoreRequest>) => Promise<number>): Promise<void> {
  const timeout = options.timeoutMs ?? 10_000;
  const client = new Client();
  for (const r of requests) client.addRequest(r);
  return new Promise<void>((resolve, reject) => {
    let failed: Error | undefined;
    client.on('associationRejected', (result: { reason?: number; source?: number }) => {
      failed = new Error(`${where(node)} refused the association (reason ${result?.reason ?? '?'}: check that it knows our AE title ${options.callingAet ?? DEFAULT_AET})`);
    });
    client.on('networkError', (e: Error) => { failed ??= new Error(`${where(node)}: ${e.message || 'network error'} (is it running, and is the port right?)`); });
    client.on('closed', () => (failed ? reject(failed) : resolve()));
    if (onStore) {
      client.on('cStoreRequest', (request: InstanceType<typeof CStoreRequest>, callback: (r: InstanceType<typeof CStoreResponse>) => void) => {
        onStore(request).then((status) => {
          const response = CStoreResponse.fromRequest(request);
          response.setStatus(status);
          callback(response);
        }, () => {
          const response = CStoreResponse.fromRequest(request);
          response.setStatus(Status.ProcessingFailure);
          callback(response);
        });
      });
    }
    client.send(node.host, node.port, options.callingAet ?? DEFAULT_AET, node.aet, {
      connectTimeout: timeout, associationTimeout: timeout, pduTimeout: Math.max(timeout, 30_000),
    });
  });
}

/** C-ECHO: round-trip milliseconds, or an error saying why not. */
export async function echo(node: PacsNode, options: DimseOptions = {}): Promise<{ ms: number }> {
  const started = performance.now();
  const request = new CEchoRequest();
  let status: number | undefined;
  request.on('response', (r: { getStatus(): number }) => { status = r.getStatus(); });
  await associate(node, [request], options);
  if (status !== Status.Success) throw new Error(`${where(node)} answered C-ECHO with status 0x${(status ?? 0).toString(16)}`);
  return { ms: performance.now() - started };
}

export type QueryLevel = 'patient' | 'study' | 'series';

export interface QueryKeys {
  PatientName?: string;
  PatientID?: string;
  /** A DICOM date range, e.g. 20240101-20241231 */
  StudyDate?: string;
  ModalitiesInStudy?: string;
  Modality?: string;
  StudyInstanceUID?: string;
  SeriesInstanceUID?: string;
  AccessionNumber?: string;
}

/** What each level asks back (empty = return it). */
const RETURN_KEYS: Record<QueryLevel, string[]> = {
  patient: ['PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'NumberOfPatientRelatedStudies'],
  study: ['PatientName', 'PatientID', 'StudyInstanceUID', 'StudyDate', 'StudyTime', 'StudyDescription', 'AccessionNumber', 'ModalitiesInStudy', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances'],
  series: ['StudyInstanceUID', 'SeriesInstanceUID', 'Modality', 'SeriesNumber', 'SeriesDescription', 'BodyPartExamined', 'NumberOfSeriesRelatedInstances'],
};

/** A patient-level C-FIND: Patient Root (the Study Root model has no patient level). */
function patientFindRequest(elements: Record<string, unknown>): InstanceType<typeof CFindRequest> {
  const request = new CFindRequest();
  request.setAffectedSopClassUid(PATIENT_ROOT_FIND);
  request.setDataset(new Dataset({ ...elements, QueryRetrieveLevel: 'PATIENT' }));
  return request;
}

/**
 * C-FIND: patients (Patient Root, by name or ID), studies or the series of one study (Study Root):
 * one plain record per match, by keyword.
 */
export async function find(node: PacsNode, level: QueryLevel, keys: QueryKeys, options: DimseOptions = {}): Promise<Record<string, unknown>[]> {
  checkLevelKeys(level, keys);
  const elements: Record<string, unknown> = Object.fromEntries(RETURN_KEYS[level].map((k) => [k, '']));
  for (const [k, v] of Object.entries(keys)) if (v !== undefined && v !== '') elements[k] = v;
  if (level === 'series') delete elements.ModalitiesInStudy;
  const request = level === 'patient' ? patientFindRequest(elements)
    : level === 'study' ? CFindRequest.createStudyFindRequest(elements) : CFindRequest.createSeriesFindRequest(elements);
  const rows: Record<string, unknown>[] = [];
  let final: number | undefined;
  request.on('response', (r: { getStatus(): number; hasDataset(): boolean; getDataset(): { getElements(): Record<string, unknown> } }) => {
    if (r.getStatus() === Status.Pending && r.hasDataset()) rows.push(r.getDataset().getElements());
    else final = r.getStatus();
  });
  await associate(node, [request], options);
  if (final !== undefined && final !== Status.Success) throw new Error(`${where(node)} answered C-FIND with status 0x${final.toString(16)}`);
  return rows;
}

/** What a level can be asked: a series query needs its study; a patient query knows no study keys. */
export function checkLevelKeys(level: QueryLevel, keys: QueryKeys): void {
  if (level === 'series' && !keys.StudyInstanceUID) throw new Error('a series query needs the study (StudyInstanceUID)');
  if (level === 'patient') {
    const studyKeys = (['StudyDate', 'ModalitiesInStudy', 'Modality', 'StudyInstanceUID', 'SeriesInstanceUID', 'AccessionNumber'] as const).filter((k) => keys[k]);
    if (studyKeys.length) throw new Error(`a patient query matches name and ID only, not ${studyKeys.join(', ')} (search studies for those)`);
  }
}

/**
 * C-GET of a study or one series into `folder` (created; must not exist): one file per instance,
 * named by its SOP Instance UID, written exclusively (never over anything). Returns the files.
 */
export async function retrieve(node: PacsNode, what: { studyInstanceUid: string; seriesInstanceUid?: string }, folder: string,
  options: DimseOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<{ files: string[]; failed: number }> {
  const dir = path.resolve(folder);
  if (existsSync(dir)) throw new Error(`${dir} already exists; retrieve into a new folder`);
  await mkdir(dir, { recursive: true });
  const request = what.seriesInstanceUid
    ? CGetRequest.createSeriesGetRequest(what.studyInstanceUid, what.seriesInstanceUid)
    : CGetRequest.createStudyGetRequest(what.studyInstanceUid);
  const files: string[] = [];
  let failed = 0, final: number | undefined;
  request.on('response', (r: { getStatus(): number; getCompleted(): number; getRemaining(): number; getFailures(): number }) => {
    if (r.getStatus() === Status.Pending) options.onProgress?.(r.getCompleted(), r.getCompleted() + r.getRemaining());
    else { final = r.getStatus(); failed = r.getFailures() ?? 0; }
  });
  await associate(node, [request], options, async (store) => {
    const dataset = store.getDataset();
    if (!dataset) return Status.ProcessingFailure;
    const sop = String(dataset.getElement('SOPInstanceUID') ?? '').replace(/[^\d.]/g, '');
    if (!sop) return Status.ProcessingFailure;
    const file = path.join(dir, `${sop}.dcm`);
    if (existsSync(file)) return Status.Success; // the same instance twice: keep the first
    await new Promise<void>((resolve, reject) => dataset.toFile(file, (e?: Error) => (e ? reject(e) : resolve())));
    files.push(file);
    return Status.Success;
  });
  if (final !== undefined && final !== Status.Success && !isWarning(final) && !files.length) {
    throw new Error(`${where(node)} answered C-GET with status 0x${final.toString(16)} and sent nothing`);
  }
  return { files, failed };
}

/**
 * C-MOVE of a study or series to `destinationAet` (our storage SCP, which the node must know by
 * that AE title with our host and port): what the node reports as completed and failed.
 */
export async function move(node: PacsNode, what: { studyInstanceUid: string; seriesInstanceUid?: string }, destinationAet: string,
  options: DimseOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<{ completed: number; failed: number }> {
  const request = what.seriesInstanceUid
    ? CMoveRequest.createSeriesMoveRequest(destinationAet, what.studyInstanceUid, what.seriesInstanceUid)
    : CMoveRequest.createStudyMoveRequest(destinationAet, what.studyInstanceUid);
  let completed = 0, failed = 0, final: number | undefined;
  request.on('response', (r: { getStatus(): number; getCompleted(): number; getRemaining(): number; getFailures(): number }) => {
    completed = r.getCompleted() ?? completed;
    failed = r.getFailures() ?? failed;
    if (r.getStatus() === Status.Pending) options.onProgress?.(completed, completed + (r.getRemaining() ?? 0));
    else final = r.getStatus();
  });
  await associate(node, [request], options);
  if (final !== undefined && final !== Status.Success && !isWarning(final)) {
    throw new Error(`${where(node)} answered C-MOVE to ${destinationAet} with status 0x${final.toString(16)}${final === 0xa801 ? ' (it does not know that destination AE title)' : ''}`);
  }
  return { completed, failed };
}

/** C-STORE of files to a node: each instance's status; instances left unanswered get one more association. */
export async function send(node: PacsNode, files: string[], options: DimseOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<{ sent: number; failed: { file: string; status: string }[] }> {
  if (!files.length) throw new Error('nothing to send');
  const answered = new Map<string, number>();
  const attempt = async (batch: string[]) => {
    const requests = batch.map((file) => {
      const request = new CStoreRequest(file);
      request.on('response', (r: { getStatus(): number }) => {
        answered.set(file, r.getStatus());
        options.onProgress?.(answered.size, files.length);
      });
      return request;
    });
    await associate(node, requests, options);
  };
  await attempt(files);
  const unanswered = files.filter((f) => !answered.has(f));
  if (unanswered.length) await attempt(unanswered);
  const failed = files.flatMap((file) => {
    const status = answered.get(file);
    if (status === undefined) return [{ file, status: 'no answer' }];
    return status === Status.Success || isWarning(status) ? [] : [{ file, status: `0x${status.toString(16)}` }];
  });
  return { sent: files.length - failed.length, failed };
}
