/**
 * Derived series writer (DESIGN.md "Derived DICOM output"): for each source image, a new object
 * with new Series/SOP Instance UIDs, the same Study UID, Frame of Reference, patient and study
 * modules, ImageType DERIVED\SECONDARY, Derivation Description, Source Image Sequence, a Series
 * Description suffix, and the source's pixel representation and rescale. Values outside the
 * stored range are clipped and counted. Explicit VR Little Endian, encoded by dcmjs; text is
 * re-encoded as UTF-8 (ISO_IR 192). All files go to a temporary sibling folder that is renamed
 * into place, so a crash never leaves half a series; the source folders are never written.
 */
import { mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import dcmjs from 'dcmjs';
import type { DataSet } from 'dicom-parser';
import { decodeText, encodingOf } from './charset.js';
import { DicomError } from './errors.js';
import { readImageHeader, type ImageHeader } from './header.js';
import { parseDicomBytes } from './parse.js';
import type { StoredArray } from './pixels.js';
import { EXPLICIT_LE } from './transfer-syntax.js';
import { DEFAULT_UID_ROOT, newUid } from './uid.js';
import { isInside } from '../shared/fs-paths.js';

const { DicomDict, DicomMetaDictionary } = dcmjs.data;

export const IMPLEMENTATION_CLASS_UID = '2.25.186434302146209718062297853016316420631';
export const IMPLEMENTATION_VERSION = 'DENOISE_STUDIO_01';

/** Attributes copied unchanged from the source (patient, study, series, frame of reference, equipment, image plane, acquisition). */
const COPIED_TAGS = [
  'x00080020', 'x00080021', 'x00080022', 'x00080023', 'x00080030', 'x00080031', 'x00080032', 'x00080033',
  'x00080050', 'x00080060', 'x00080070', 'x00080080', 'x00080090', 'x00081010', 'x00081030', 'x00081090',
  'x00100010', 'x00100020', 'x00100021', 'x00100030', 'x00100040', 'x00101010', 'x00101020', 'x00101030',
  'x00180015', 'x00180050', 'x00180060', 'x00180080', 'x00180081', 'x00180087', 'x00180088', 'x00181030',
  'x00181150', 'x00181151', 'x00181152', 'x00181210', 'x00185100',
  'x0020000d', 'x00200010', 'x00200011', 'x00200012', 'x00200013', 'x00200032', 'x00200037', 'x00200052',
  'x00200060', 'x00201040', 'x00201041',
  'x00280030', 'x00281050', 'x00281051', 'x00281054',
] as const;

/** Multi-frame objects whose geometry lives in functional groups we do not rewrite. */
const ENHANCED_SOP_CLASSES = new Set(['1.2.840.10008.5.1.4.1.1.2.1', '1.2.840.10008.5.1.4.1.1.4.1', '1.2.840.10008.5.1.4.1.1.4.4', '1.2.840.10008.5.1.4.1.1.2.2']);

export interface DerivedImage {
  /** The source file this image was derived from */
  source: string;
  /** New stored values (before rescale) for every frame of the source: frames × rows × columns */
  values: ArrayLike<number>;
}

export interface DerivedSeriesOptions {
  /** Folder to create; must not exist yet */
  outDir: string;
  /** Folders the sources came from: writing inside any of them is refused */
  sourceFolders: string[];
  /** e.g. "Denoised by ct-default 1.0.0 (DnCNN), strength 0.80" (≤ 1024 characters) */
  derivationDescription: string;
  seriesDescriptionSuffix?: string;
  /** The derived series' own Series Number (default: the source's + 1000) */
  seriesNumber?: number;
  uidRoot?: string;
}

export interface DerivedSeriesResult {
  outDir: string;
  seriesInstanceUid: string;
  /** The derived series' Series Description */
  description: string;
  files: string[];
  /** Values that fell outside the stored range and were clipped to it */
  clippedPixels: number;
}

export async function writeDerivedSeries(images: DerivedImage[], options: DerivedSeriesOptions): Promise<DerivedSeriesResult> {
  if (images.length === 0) throw new Error('writeDerivedSeries: no images to write');
  const outDir = path.resolve(options.outDir);
  await refuseUnsafeTarget(outDir, [...options.sourceFolders, ...images.map((i) => path.dirname(i.source))]);
  const uidRoot = options.uidRoot ?? DEFAULT_UID_ROOT;
  const seriesInstanceUid = newUid(uidRoot);
  const suffix = options.seriesDescriptionSuffix ?? ' [denoised]';
  const parent = path.dirname(outDir);
  await mkdir(parent, { recursive: true });
  const staging = path.join(parent, `.${path.basename(outDir)}.partial-${process.pid}-${Date.now()}`);
  await mkdir(staging);
  const files: string[] = [];
  let clippedPixels = 0;
  let description = '';
  try {
    for (let i = 0; i < images.length; i++) {
      const { bytes, clipped, description: d } = await encodeDerived(images[i], { seriesInstanceUid, uidRoot, suffix, derivation: options.derivationDescription, seriesNumber: options.seriesNumber });
      const name = `IM${String(i + 1).padStart(6, '0')}.dcm`;
      await writeFile(path.join(staging, name), bytes, { flag: 'wx' });
      files.push(path.join(outDir, name));
      clippedPixels += clipped;
      description ||= d;
    }
    await rename(staging, outDir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { outDir, seriesInstanceUid, description, files, clippedPixels };
}

async function refuseUnsafeTarget(outDir: string, sourceFolders: string[]): Promise<void> {
  const exists = await stat(outDir).then(() => true, () => false);
  if (exists) throw new DicomError('write-refused', outDir, 'output folder already exists; choose a new folder (nothing is overwritten)');
  const target = await realParent(outDir);
  for (const folder of sourceFolders) {
    const source = await realpath(path.resolve(folder)).catch(() => path.resolve(folder));
    if (isInside(source, target)) {
      throw new DicomError('write-refused', outDir, `output folder is inside the source folder ${folder}; derived series are never written next to the originals`);
    }
  }
}

/** realpath of the nearest existing ancestor, plus the rest of the path. */
async function realParent(p: string): Promise<string> {
  const rest: string[] = [];
  let current = p;
  for (;;) {
    try {
      return path.join(await realpath(current), ...rest.reverse());
    } catch {
      const up = path.dirname(current);
      if (up === current) return p;
      rest.push(path.basename(current));
      current = up;
    }
  }
}

interface EncodeContext {
  seriesInstanceUid: string;
  uidRoot: string;
  suffix: string;
  derivation: string;
  seriesNumber?: number;
}

async function encodeDerived(image: DerivedImage, ctx: EncodeContext): Promise<{ bytes: Uint8Array; clipped: number; description: string }> {
  const source = image.source;
  const parsed = parseDicomBytes(new Uint8Array(await readFile(source)), source, { headerOnly: true });
  const ds = parsed.dataSet;
  const h = readImageHeader(ds, source);
  if (h.samplesPerPixel !== 1 || !h.photometric.startsWith('MONOCHROME')) {
    throw new DicomError('malformed', source, `derived series are written for monochrome images only (this one is ${h.photometric})`);
  }
  if (h.frames > 1 && ENHANCED_SOP_CLASSES.has(h.sopClassUid)) {
    throw new DicomError('malformed', source, 'enhanced multi-frame sources are not supported for export yet');
  }
  const expected = h.rows * h.columns * h.frames;
  if (image.values.length !== expected) {
    throw new Error(`${source}: derived image has ${image.values.length} values, the source needs ${expected} (${h.frames}×${h.rows}×${h.columns})`);
  }
  const { pixels, clipped } = toStoredRange(image.values, h);
  const sopInstanceUid = newUid(ctx.uidRoot);
  const dict: Record<string, { vr: string; Value: unknown[] }> = {};
  const encoding = encodingOf(ds);
  for (const tag of COPIED_TAGS) {
    const element = copyElement(ds, tag, encoding);
    if (element) dict[tag.slice(1).toUpperCase()] = element;
  }
  const now = new Date();
  const date = now.toISOString().slice(0, 10).replace(/-/g, '');
  const time = now.toISOString().slice(11, 19).replace(/:/g, '');
  const sourceDescription = decodeText(ds, 'x0008103e', encoding) ?? '';
  const set = (tag: string, vr: string, ...Value: unknown[]) => (dict[tag] = { vr, Value });
  set('00080005', 'CS', 'ISO_IR 192');
  set('00080008', 'CS', 'DERIVED', 'SECONDARY');
  set('00080012', 'DA', date);
  set('00080013', 'TM', time);
  set('00080016', 'UI', h.sopClassUid);
  set('00080018', 'UI', sopInstanceUid);
  // The suffix (what made this series) always fits; the source's description gives way.
  const description = `${truncate(sourceDescription, Math.max(0, 64 - ctx.suffix.length))}${ctx.suffix}`.trim().slice(0, 64);
  set('0008103E', 'LO', description);
  set('00082111', 'ST', truncate(ctx.derivation, 1024));
  set('00082112', 'SQ', { '00081150': { vr: 'UI', Value: [h.sopClassUid] }, '00081155': { vr: 'UI', Value: [h.sopInstanceUid] } });
  set('0020000E', 'UI', ctx.seriesInstanceUid);
  // A result is its own series: its own number (never the source's), told apart in every viewer.
  set('00200011', 'IS', String(ctx.seriesNumber ?? (Number(decodeText(ds, 'x00200011', encoding)) || 0) + 1000));
  if (h.frameOfReferenceUid) set('00200052', 'UI', h.frameOfReferenceUid);
  set('00280002', 'US', 1);
  set('00280004', 'CS', h.photometric);
  if (h.frames > 1) set('00280008', 'IS', String(h.frames));
  set('00280010', 'US', h.rows);
  set('00280011', 'US', h.columns);
  set('00280100', 'US', h.bitsAllocated);
  set('00280101', 'US', h.bitsStored);
  set('00280102', 'US', h.bitsStored - 1);
  set('00280103', 'US', h.pixelRepresentation);
  set('00281052', 'DS', formatDS(h.rescaleIntercept));
  set('00281053', 'DS', formatDS(h.rescaleSlope));
  set('7FE00010', h.bitsAllocated > 8 ? 'OW' : 'OB', pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength));

  const out = new DicomDict(fileMeta(h.sopClassUid, sopInstanceUid));
  out.dict = dict;
  return { bytes: new Uint8Array(out.write()), clipped, description };
}

/** One source element in dcmjs's form, text decoded from the source's character set. */
function copyElement(ds: DataSet, tag: string, encoding: string): { vr: string; Value: unknown[] } | undefined {
  const el = ds.elements[tag];
  if (!el || !el.length) return undefined;
  const key = `(${tag.slice(1, 5)},${tag.slice(5)})`.toUpperCase();
  const vr = el.vr ?? DicomMetaDictionary.dictionary[key]?.vr;
  if (!vr || vr === 'SQ' || vr.length !== 2 || /^(O.|U[NLS]|S[LS]|F[LD]|AT|xs)$/.test(vr)) return undefined;
  const value = decodeText(ds, tag, encoding);
  if (value === undefined) return undefined;
  if (vr === 'PN') return { vr, Value: [{ Alphabetic: value }] };
  if (['LT', 'ST', 'UT'].includes(vr)) return { vr, Value: [value] };
  return { vr, Value: value.split('\\').map((v) => v.trim()) };
}

/** File Meta Information of every file we write: Explicit VR Little Endian, our implementation UID. */
export function fileMeta(sopClassUid: string, sopInstanceUid: string): Record<string, { vr: string; Value: unknown[] }> {
  return {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [sopClassUid] },
    '00020003': { vr: 'UI', Value: [sopInstanceUid] },
    '00020010': { vr: 'UI', Value: [EXPLICIT_LE] },
    '00020012': { vr: 'UI', Value: [IMPLEMENTATION_CLASS_UID] },
    '00020013': { vr: 'SH', Value: [IMPLEMENTATION_VERSION] },
  };
}

/** Round to integers and clip into the range Bits Stored and Pixel Representation allow. */
export function toStoredRange(values: ArrayLike<number>, h: Pick<ImageHeader, 'bitsAllocated' | 'bitsStored' | 'pixelRepresentation'>): { pixels: StoredArray; clipped: number } {
  const signed = h.pixelRepresentation === 1;
  const min = signed ? -(2 ** (h.bitsStored - 1)) : 0;
  const max = signed ? 2 ** (h.bitsStored - 1) - 1 : 2 ** h.bitsStored - 1;
  const n = values.length;
  const pixels: StoredArray =
    h.bitsAllocated === 8 ? (signed ? new Int8Array(n) : new Uint8Array(n))
      : h.bitsAllocated === 32 ? (signed ? new Int32Array(n) : new Uint32Array(n))
        : signed ? new Int16Array(n) : new Uint16Array(n);
  let clipped = 0;
  for (let i = 0; i < n; i++) {
    let v = Math.round(values[i]);
    if (!(v >= min)) {
      // NaN lands here too: it becomes the minimum and counts as clipped.
      v = min;
      clipped++;
    } else if (v > max) {
      v = max;
      clipped++;
    }
    pixels[i] = v;
  }
  return { pixels, clipped };
}

/** DS is at most 16 characters. */
function formatDS(value: number): string {
  if (Number.isInteger(value)) return String(value);
  for (let digits = 10; digits > 0; digits--) {
    const s = String(Number(value.toPrecision(digits)));
    if (s.length <= 16) return s;
  }
  return value.toExponential(6);
}

const truncate = (s: string, max: number) => (s.length > max ? s.slice(0, max) : s);
