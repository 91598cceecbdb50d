/**
 * Derived series writer (DESIGN.md "Derived DICOM output"), as highdicom and dcmtk's derivation
 * tools do it: every standard attribute of the source's IOD is copied — Type 2 ones even when
 * empty, sequences included — so the derived object has the same modules (CT Image, MR Image,
 * Secondary Capture…) as its source; private attributes are not copied. Then what a derived
 * image must change is set: new Series/SOP Instance UIDs and Series Number, ImageType
 * DERIVED\SECONDARY\<value 3 of the source>, series/content/creation date and time, Derivation
 * Description and Code Sequence, Source Image Sequence with its purpose of reference, the lossy
 * compression history, a valid window, and the pixel module for the new pixels (the source's
 * representation and rescale). Values outside the stored range are clipped and counted. Explicit
 * VR Little Endian, encoded by dcmjs; text re-encoded as UTF-8 (ISO_IR 192). All files go to a
 * temporary sibling folder that is renamed into place, so a crash never leaves half a series; the
 * source folders are never written.
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
/** SH: at most 16 characters. */
export const IMPLEMENTATION_VERSION = 'DENOISESTUDIO_02';

/**
 * Source attributes not copied: what the writer sets itself, what describes the old pixels
 * (their value range, icon, lossy history — rewritten below), group lengths and padding.
 */
const NOT_COPIED = new Set([
  '00080005', '00080008', '00080012', '00080013', '00080016', '00080018', '00080021', '00080023', '00080031', '00080033',
  '0008103E', '00082111', '00082112', '00089215', '0020000E', '00200011',
  '00280002', '00280004', '00280006', '00280008', '00280010', '00280011', '00280100', '00280101', '00280102', '00280103',
  '00280106', '00280107', '00280108', '00280109', '00281052', '00281053', '00282110', '00282112', '00282114',
  '00880200', 'FFFCFFFC',
]);
/** Longest value each text VR allows (PS3.5 6.2); longer source values are cut to fit. */
const MAX_LENGTH: Record<string, number> = { AE: 16, AS: 4, CS: 16, DA: 8, DS: 16, IS: 12, LO: 64, PN: 64, SH: 16, TM: 14, UI: 64, DT: 26 };
const TEXT_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const LOSSY_METHOD: Record<string, string> = { jpeg: 'ISO_10918_1', jpeg2000: 'ISO_15444_1', 'jpeg-ls': 'ISO_14495_1' };
type DcmjsElement = { vr: string; Value: unknown[] };
type DcmjsDict = Record<string, DcmjsElement>;

/** Enhanced CT/MR/PET: four-valued ImageType and a Frame Type per frame (functional groups are copied). */
const ENHANCED_SOP_CLASSES = new Set([
  '1.2.840.10008.5.1.4.1.1.2.1', '1.2.840.10008.5.1.4.1.1.4.1', '1.2.840.10008.5.1.4.1.1.130', // Enhanced CT, MR, PET
  '1.2.840.10008.5.1.4.1.1.2.2', '1.2.840.10008.5.1.4.1.1.4.4', '1.2.840.10008.5.1.4.1.1.128.1', // Legacy Converted Enhanced CT, MR, PET
]);

export interface DerivedImage {
  /** The source file this image was derived from */
  source: string;
  /** New stored values (before rescale) for every frame written: frames × rows × columns */
  values: ArrayLike<number>;
  /**
   * The source frames these values are (0-based, ascending), when not all of them: an Enhanced
   * object whose frames were not all processed keeps only those written.
   */
  frames?: number[];
  /** This image's own Derivation Description, when its stack's differs from the series' (its own noise σ) */
  derivation?: string;
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
      const { bytes, clipped, description: d } = await encodeDerived(images[i]!, { seriesInstanceUid, uidRoot, suffix, derivation: images[i]!.derivation ?? options.derivationDescription, seriesNumber: options.seriesNumber });
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
  if (h.bitsAllocated === 1) {
    throw new DicomError('malformed', source, 'a 1-bit object (a segmentation or a bitmap) is not an image to denoise');
  }
  const frames = image.frames ?? Array.from({ length: h.frames }, (_, f) => f);
  if (frames.some((f, i) => !Number.isInteger(f) || f < 0 || f >= h.frames || (i > 0 && f <= frames[i - 1]!))) {
    throw new Error(`${source}: frames must be ascending indices below ${h.frames}`);
  }
  const expected = h.rows * h.columns * frames.length;
  if (image.values.length !== expected) {
    throw new Error(`${source}: derived image has ${image.values.length} values, the source needs ${expected} (${frames.length}×${h.rows}×${h.columns})`);
  }
  const { pixels, clipped } = toStoredRange(image.values, h);
  const sopInstanceUid = newUid(ctx.uidRoot);
  const encoding = encodingOf(ds);
  const dict: DcmjsDict = copyDataSet(ds, encoding, parsed.syntax?.littleEndian ?? true, true);
  // A subset of frames keeps exactly their per-frame functional groups.
  if (frames.length !== h.frames && dict['52009230']) dict['52009230'].Value = frames.map((f) => dict['52009230']!.Value[f]);
  const now = new Date();
  const date = now.toISOString().slice(0, 10).replace(/-/g, '');
  const time = now.toISOString().slice(11, 19).replace(/:/g, '');
  const sourceDescription = decodeText(ds, 'x0008103e', encoding) ?? '';
  const set = (tag: string, vr: string, ...Value: unknown[]) => (dict[tag] = { vr, Value });
  set('00080005', 'CS', 'ISO_IR 192');
  // ImageType value 3 is required for CT and MR images: the source's, else OTHER; Enhanced
  // images have four values, and each frame's Frame Type says DERIVED too.
  const imageType = (decodeText(ds, 'x00080008', encoding) ?? '').split('\\').map((v) => v.trim());
  const enhanced = ENHANCED_SOP_CLASSES.has(h.sopClassUid);
  // (Enhanced IODs allow only PRIMARY as value 2: it names the examination, not the processing.)
  set('00080008', 'CS', 'DERIVED', enhanced ? 'PRIMARY' : 'SECONDARY', imageType[2] || 'OTHER', ...(enhanced ? [imageType[3] || 'NONE'] : imageType.slice(3)));
  if (enhanced) markFramesDerived(dict);
  set('00080012', 'DA', date);
  set('00080013', 'TM', time);
  set('00080021', 'DA', date);
  set('00080031', 'TM', time);
  set('00080023', 'DA', date);
  set('00080033', 'TM', time);
  set('00080016', 'UI', h.sopClassUid);
  set('00080018', 'UI', sopInstanceUid);
  // The suffix (what made this series) always fits; the source's description gives way.
  const description = `${truncate(sourceDescription, Math.max(0, 64 - ctx.suffix.length))}${ctx.suffix}`.trim().slice(0, 64);
  set('0008103E', 'LO', description);
  set('00082111', 'ST', truncate(ctx.derivation, 1024));
  // CID 7203 "Image Derivation": noise reduction is a smoothing operation.
  set('00089215', 'SQ', code('113087', 'DCM', 'Smoothing'));
  set('00082112', 'SQ', {
    '00081150': { vr: 'UI', Value: [h.sopClassUid] }, '00081155': { vr: 'UI', Value: [h.sopInstanceUid] },
    // CID 7202: the source is the input of an image processing operation.
    '0040A170': { vr: 'SQ', Value: [code('121322', 'DCM', 'Source image for image processing operation')] },
  });
  // Lossy compression history: once lossy, always lossy, with every step's ratio and method.
  const sourceLossy = decodeText(ds, 'x00282110', encoding) === '01' || Boolean(parsed.syntax?.lossy);
  if (sourceLossy) {
    const ratios = (decodeText(ds, 'x00282112', encoding) ?? '').split('\\').filter(Boolean);
    const methods = (decodeText(ds, 'x00282114', encoding) ?? '').split('\\').filter(Boolean);
    const method = parsed.syntax?.lossy ? LOSSY_METHOD[parsed.syntax.pixels] : undefined;
    if (method) {
      // The source's own compression step: its ratio may be recorded without its method.
      if (ratios.length > methods.length) methods.push(method);
      else if (ratios.length === methods.length) { methods.push(method); ratios.push(formatDS(lossyRatio(ds, h))); }
    }
    set('00282110', 'CS', '01');
    if (ratios.length) set('00282112', 'DS', ...ratios);
    if (methods.length) set('00282114', 'CS', ...methods);
  } else if (ds.elements.x00282110) {
    set('00282110', 'CS', '00');
  }
  set('0020000E', 'UI', ctx.seriesInstanceUid);
  // A result is its own series: its own number (never the source's), told apart in every viewer.
  set('00200011', 'IS', String(ctx.seriesNumber ?? (Number(decodeText(ds, 'x00200011', encoding)) || 0) + 1000));
  if (h.frameOfReferenceUid) set('00200052', 'UI', h.frameOfReferenceUid);
  set('00280002', 'US', 1);
  set('00280004', 'CS', h.photometric);
  if (h.frames > 1) set('00280008', 'IS', String(frames.length));
  set('00280010', 'US', h.rows);
  set('00280011', 'US', h.columns);
  set('00280100', 'US', h.bitsAllocated);
  set('00280101', 'US', h.bitsStored);
  set('00280102', 'US', h.bitsStored - 1);
  set('00280103', 'US', h.pixelRepresentation);
  // Rescale only where the source has it (a Secondary Capture with one would also need RescaleType).
  if (ds.elements.x00281052 || ds.elements.x00281053) {
    set('00281052', 'DS', formatDS(h.rescaleIntercept));
    set('00281053', 'DS', formatDS(h.rescaleSlope));
  }
  // A window of width < 1 (copied from some sources) is invalid: one that spans the new pixels.
  const widths = dict['00281051']?.Value.map(Number) ?? [];
  if (widths.length && widths.some((w) => !(w >= 1))) {
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < pixels.length; i++) { const v = pixels[i]!; if (v < lo) lo = v; if (v > hi) hi = v; }
    const a = lo * h.rescaleSlope + h.rescaleIntercept, b = hi * h.rescaleSlope + h.rescaleIntercept;
    set('00281050', 'DS', formatDS((a + b) / 2));
    set('00281051', 'DS', formatDS(Math.max(1, b - a)));
    delete dict['00281055'];
  }
  set('7FE00010', h.bitsAllocated > 8 ? 'OW' : 'OB', pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength));

  const out = new DicomDict(fileMeta(h.sopClassUid, sopInstanceUid));
  out.dict = dict;
  return { bytes: new Uint8Array(out.write()), clipped, description };
}

/** Frame Type (0008,9007) in the MR/CT Image Frame Type groups, shared and per frame: DERIVED\\PRIMARY\\… */
function markFramesDerived(dict: DcmjsDict): void {
  for (const groups of ['52009229', '52009230']) {
    for (const group of (dict[groups]?.Value ?? []) as DcmjsDict[]) {
      for (const macro of ['00189226', '00189329']) {
        for (const item of (group[macro]?.Value ?? []) as DcmjsDict[]) {
          const type = item['00089007'];
          if (type) type.Value = ['DERIVED', 'PRIMARY', ...type.Value.slice(2)];
        }
      }
    }
  }
}

/** A code sequence item (Code Value, Coding Scheme Designator, Code Meaning). */
/** Binary number VRs: value size and how to read one. */
const NUMBER_READERS: Record<string, [number, (v: DataView, o: number, little: boolean) => number]> = {
  US: [2, (v, o, l) => v.getUint16(o, l)], SS: [2, (v, o, l) => v.getInt16(o, l)], UL: [4, (v, o, l) => v.getUint32(o, l)],
  SL: [4, (v, o, l) => v.getInt32(o, l)], FL: [4, (v, o, l) => v.getFloat32(o, l)], FD: [8, (v, o, l) => v.getFloat64(o, l)],
};

/** A source text value made valid for its VR: ACR-NEMA dates (1995.06.26) and times (10:20:30) in today's form, cut to the VR's length. */
function fitText(vr: string, value: string): string {
  let v = value;
  if (vr === 'DA' && /^\d{4}[.-]\d{2}[.-]\d{2}$/.test(v)) v = v.replace(/[.-]/g, '');
  if (vr === 'TM' && /^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(v)) v = v.replace(/:/g, '');
  const max = MAX_LENGTH[vr];
  return max && v.length > max ? v.slice(0, max).trim() : v;
}

function code(value: string, scheme: string, meaning: string): DcmjsDict {
  return { '00080100': { vr: 'SH', Value: [value] }, '00080102': { vr: 'SH', Value: [scheme] }, '00080104': { vr: 'LO', Value: [meaning] } };
}

/** Compression ratio of a lossy source: the uncompressed size over the encoded frames' size. */
function lossyRatio(ds: DataSet, h: ImageHeader): number {
  const encoded = ds.elements.x7fe00010?.length ?? 0;
  const raw = h.rows * h.columns * h.frames * (h.bitsAllocated / 8) * h.samplesPerPixel;
  return encoded > 0 ? Math.round((raw / encoded) * 100) / 100 : 1;
}

/**
 * Every standard element of a data set in dcmjs's form: text decoded from the source's character
 * set, numbers by VR and byte order, sequences item by item; empty elements stay (Type 2).
 * Private elements, group lengths, File Meta and (at the top level) what NOT_COPIED names are left out.
 */
function copyDataSet(ds: DataSet, encoding: string, littleEndian: boolean, top: boolean): DcmjsDict {
  const out: DcmjsDict = {};
  const view = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset, ds.byteArray.byteLength);
  for (const [key, el] of Object.entries(ds.elements)) {
    const tag = key.slice(1).toUpperCase();
    const group = parseInt(tag.slice(0, 4), 16);
    // Overlays (60xx) and curves (50xx) annotate the source's pixels: a derived image leaves them out.
    const repeating = (group & 0xff00) === 0x6000 || (group & 0xff00) === 0x5000;
    if (group % 2 === 1 || group === 0x0002 || tag.endsWith('0000') || group === 0x7fe0 || repeating || (top && NOT_COPIED.has(tag))) continue;
    const vr = el.vr ?? DicomMetaDictionary.dictionary[`(${tag.slice(0, 4)},${tag.slice(4)})`]?.vr;
    if (!vr || vr.length !== 2) continue;
    if (el.items || vr === 'SQ') {
      out[tag] = { vr: 'SQ', Value: (el.items ?? []).map((item) => (item.dataSet ? copyDataSet(item.dataSet, encoding, littleEndian, false) : {})) };
      continue;
    }
    const little = littleEndian || group === 0x0002;
    if (TEXT_VRS.has(vr)) {
      const value = el.length ? decodeText(ds, key, encoding) : undefined;
      if (value === undefined) { out[tag] = { vr, Value: [] }; continue; }
      if (['LT', 'ST', 'UT', 'UR'].includes(vr)) { out[tag] = { vr, Value: [value] }; continue; }
      const values = value.split('\\').map((v) => fitText(vr, v.trim()));
      out[tag] = { vr, Value: vr === 'PN' ? values.map((v) => ({ Alphabetic: v })) : values };
      continue;
    }
    if (vr === 'AT') {
      out[tag] = { vr, Value: Array.from({ length: Math.floor(el.length / 4) }, (_, i) => ((view.getUint16(el.dataOffset + 4 * i, little) << 16) | view.getUint16(el.dataOffset + 4 * i + 2, little)) >>> 0) };
      continue;
    }
    const reader = NUMBER_READERS[vr];
    if (reader) {
      const [size, get] = reader;
      out[tag] = { vr, Value: Array.from({ length: Math.floor(el.length / size) }, (_, i) => get(view, el.dataOffset + i * size, little)) };
    } else if (vr === 'OB' && el.length) {
      out[tag] = { vr, Value: [ds.byteArray.slice(el.dataOffset, el.dataOffset + el.length).buffer] };
    }
    // AT, OW/OF/OD/OL/OV, UN and US/SS multi-byte LUTs in other byte orders are left out: none of
    // them belongs to the modules a derived image must carry.
  }
  return out;
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
