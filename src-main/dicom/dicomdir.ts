/**
 * DICOMDIR (PS3.10 media directory): the records of a CD/DVD, resolved to the files they reference
 * (Referenced File ID components are relative to the DICOMDIR's folder). Records whose file is
 * missing are reported, not dropped silently.
 */
import { readFile } from 'node:fs/promises';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { DicomError } from './errors.js';
import { parseDicomBytes } from './parse.js';

export interface DicomdirEntry {
  recordType: string;
  /** Absolute path of the referenced file */
  file: string;
  exists: boolean;
  patientId?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
}

export async function readDicomdir(dicomdirPath: string): Promise<DicomdirEntry[]> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(dicomdirPath));
  } catch (thrown) {
    throw new DicomError('unreadable', dicomdirPath, `cannot read DICOMDIR (${(thrown as Error).message})`);
  }
  const { dataSet } = parseDicomBytes(bytes, dicomdirPath);
  const records = dataSet.elements.x00041220?.items;
  if (!records) throw new DicomError('malformed', dicomdirPath, 'not a DICOMDIR: no Directory Record Sequence (0004,1220)');
  const root = path.dirname(dicomdirPath);
  const entries: DicomdirEntry[] = [];
  // Records are listed depth-first (patient, study, series, image…), so the current ancestors
  // give each image its patient/study/series even where the image record lacks those tags.
  let patientId: string | undefined;
  let studyUid: string | undefined;
  let seriesUid: string | undefined;
  for (const item of records) {
    const ds = item.dataSet;
    if (!ds) continue;
    const type = (ds.string('x00041430') ?? '').trim().toUpperCase();
    if (type === 'PATIENT') patientId = ds.string('x00100020')?.trim();
    if (type === 'STUDY') studyUid = ds.string('x0020000d')?.trim();
    if (type === 'SERIES') seriesUid = ds.string('x0020000e')?.trim();
    const fileId = ds.string('x00041500');
    if (!fileId) continue;
    const parts = fileId.replace(/\0/g, '').trim().split('\\').filter(Boolean);
    if (parts.some((p) => p === '..' || p.includes('/'))) continue; // never leave the medium
    const file = await resolveCaseInsensitive(root, parts);
    entries.push({
      recordType: type,
      file,
      exists: await exists(file),
      patientId,
      studyInstanceUid: studyUid,
      seriesInstanceUid: seriesUid,
      sopInstanceUid: ds.string('x00041511')?.replace(/\0/g, '').trim(),
    });
  }
  return entries;
}

/** CD file systems upper-case names; copies to disk may have lowered them. */
async function resolveCaseInsensitive(root: string, parts: string[]): Promise<string> {
  const direct = path.join(root, ...parts);
  if (await exists(direct)) return direct;
  const lower = path.join(root, ...parts.map((p) => p.toLowerCase()));
  return (await exists(lower)) ? lower : direct;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
