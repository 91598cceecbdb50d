/**
 * The typed view of a parsed data set: geometry and pixel-module fields for decoding and series
 * assembly, and the descriptive tags the study browser shows. Numbers stay floats (a Rescale
 * Slope of 0.01 stays 0.01).
 */
import type { DataSet } from 'dicom-parser';
import { decodeText, encodingOf } from './charset.js';
import { DicomError } from './errors.js';

export type Vec3 = [number, number, number];

export interface ImageHeader {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid?: string;
  modality: string;
  instanceNumber?: number;
  imageType: string[];
  hasPixelData: boolean;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  /** 0 unsigned, 1 two's complement */
  pixelRepresentation: number;
  planarConfiguration: number;
  photometric: string;
  rescaleSlope: number;
  rescaleIntercept: number;
  rescaleType?: string;
  windowCenter?: number;
  windowWidth?: number;
  /** Image Position (Patient) of the first frame, mm */
  position?: Vec3;
  /** Row then column direction cosines */
  orientation?: [number, number, number, number, number, number];
  /** Per-frame positions of enhanced multi-frame objects (Per-Frame Functional Groups) */
  framePositions?: Vec3[];
  /** Enhanced objects: per-frame rescale (Pixel Value Transformation) and window (Frame VOI LUT) */
  frameRescale?: { slope: number; intercept: number }[];
  frameWindows?: ({ center: number; width: number } | undefined)[];
  /**
   * What acquisition a slice belongs to, beyond its geometry: echo time, temporal position,
   * diffusion b-value (and, for enhanced objects, the stack) — e.g. "TE 80 ms · b 1000".
   * Per frame for enhanced objects; slices of different acquisitions are never one stack.
   */
  acquisition?: string;
  frameAcquisitions?: string[];
  /**
   * Acquisition Number: Siemens writes each fMRI volume (a mosaic) and each repeated volume as a
   * new acquisition at the same positions, with no Temporal Position Identifier; series assembly
   * splits such repeats by it.
   */
  acquisitionNumber?: number;
  /** Row spacing then column spacing, mm */
  pixelSpacing?: [number, number];
  sliceThickness?: number;
  spacingBetweenSlices?: number;
  /** In stored-value units, sign taken from Pixel Representation */
  paddingValue?: number;
  paddingRangeLimit?: number;
  /** Siemens mosaic: several slices tiled in one image */
  mosaicImages?: number;
}

export interface DescriptiveTags {
  patientName?: string;
  patientId?: string;
  patientBirthDate?: string;
  patientSex?: string;
  studyDate?: string;
  studyTime?: string;
  studyDescription?: string;
  studyId?: string;
  accessionNumber?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  seriesDate?: string;
  bodyPart?: string;
  manufacturer?: string;
  manufacturerModel?: string;
  kvp?: number;
}

const text = (ds: DataSet, tag: string): string | undefined => {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return undefined;
  const value = ds.string(tag)?.replace(/\0/g, '').trim();
  return value ? value : undefined;
};

/** Backslash-separated decimal/integer strings (DS, IS) as numbers; undefined if any is not finite. */
const numbers = (ds: DataSet, tag: string): number[] | undefined => {
  const raw = text(ds, tag);
  if (!raw) return undefined;
  const values = raw.split('\\').map((v) => Number(v.trim()));
  return values.length > 0 && values.every(Number.isFinite) ? values : undefined;
};

const number = (ds: DataSet, tag: string): number | undefined => numbers(ds, tag)?.[0];

/** US, or a binary value whose VR depends on Pixel Representation (US/SS). */
const uint16 = (ds: DataSet, tag: string): number | undefined => {
  const el = ds.elements[tag];
  if (!el || el.length < 2) return undefined;
  return ds.uint16(tag);
};

const asSigned16 = (value: number | undefined, signed: boolean) =>
  value === undefined || !signed ? value : value >= 0x8000 ? value - 0x10000 : value;

export function readImageHeader(ds: DataSet, file: string): ImageHeader {
  const required = (tag: string, name: string) => {
    const value = text(ds, tag);
    if (!value) throw new DicomError('malformed', file, `missing ${name} (${tag.slice(1, 5).toUpperCase()},${tag.slice(5).toUpperCase()})`);
    return value;
  };
  const hasPixelData = ds.elements.x7fe00010 !== undefined;
  const pixelRepresentation = uint16(ds, 'x00280103') ?? 0;
  const bitsAllocated = uint16(ds, 'x00280100') ?? 0;
  const imageType = (text(ds, 'x00080008') ?? '').split('\\').map((s) => s.trim().toUpperCase()).filter(Boolean);
  const orientation = numbers(ds, 'x00200037');
  const position = numbers(ds, 'x00200032');
  const spacing = numbers(ds, 'x00280030');
  const header: ImageHeader = {
    sopClassUid: text(ds, 'x00080016') ?? text(ds, 'x00020002') ?? '',
    sopInstanceUid: required('x00080018', 'SOP Instance UID'),
    studyInstanceUid: required('x0020000d', 'Study Instance UID'),
    seriesInstanceUid: required('x0020000e', 'Series Instance UID'),
    frameOfReferenceUid: text(ds, 'x00200052'),
    modality: text(ds, 'x00080060') ?? 'OT',
    instanceNumber: number(ds, 'x00200013'),
    imageType,
    hasPixelData,
    rows: uint16(ds, 'x00280010') ?? 0,
    columns: uint16(ds, 'x00280011') ?? 0,
    frames: Math.max(1, Math.trunc(number(ds, 'x00280008') ?? 1)),
    samplesPerPixel: uint16(ds, 'x00280002') ?? 1,
    bitsAllocated,
    bitsStored: uint16(ds, 'x00280101') ?? bitsAllocated,
    highBit: uint16(ds, 'x00280102') ?? Math.max(0, (uint16(ds, 'x00280101') ?? bitsAllocated) - 1),
    pixelRepresentation,
    planarConfiguration: uint16(ds, 'x00280006') ?? 0,
    photometric: (text(ds, 'x00280004') ?? 'MONOCHROME2').toUpperCase(),
    rescaleSlope: number(ds, 'x00281053') ?? 1,
    rescaleIntercept: number(ds, 'x00281052') ?? 0,
    rescaleType: text(ds, 'x00281054'),
    windowCenter: number(ds, 'x00281050'),
    windowWidth: number(ds, 'x00281051'),
    position: position?.length === 3 ? (position as Vec3) : undefined,
    orientation: orientation?.length === 6 ? (orientation as ImageHeader['orientation']) : undefined,
    pixelSpacing: spacing?.length === 2 ? (spacing as [number, number]) : undefined,
    sliceThickness: number(ds, 'x00180050'),
    spacingBetweenSlices: number(ds, 'x00180088'),
    paddingValue: asSigned16(uint16(ds, 'x00280120'), pixelRepresentation === 1),
    paddingRangeLimit: asSigned16(uint16(ds, 'x00280121'), pixelRepresentation === 1),
    acquisitionNumber: number(ds, 'x00200012'),
  };
  if (header.rescaleSlope === 0) header.rescaleSlope = 1; // a zero slope would erase the image
  readEnhancedGeometry(ds, header);
  readEnhancedFrames(ds, header);
  header.acquisition = acquisitionLabel({ te: number(ds, 'x00180081'), t: number(ds, 'x00200100'), b: float64(ds, 'x00189087') });
  readMosaic(ds, header);
  return header;
}

/** FD (binary double) values such as Effective Echo Time and Diffusion b-value. */
function float64(ds: DataSet | undefined, tag: string): number | undefined {
  const el = ds?.elements[tag];
  if (!ds || !el || el.length < 8) return undefined;
  const v = ds.double(tag);
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/**
 * Repeats of one acquisition — time points of an fMRI run, repeated b-values — have labels that
 * differ only in their time part ("time 3" from a Temporal Position Identifier, or "acquisition 3"
 * where series assembly split repeats by Acquisition Number): this key is the label with that
 * part's number left out ('' for no label), so that the two kinds are never paired with each other.
 */
export function repeatKey(label: string | undefined): string {
  return (label ?? '').split(' · ').map((part) => TIME_PART.exec(part)?.[1] ?? part).join(' · ');
}

/** The temporal position (or repeat's acquisition number) in an acquisition label, if it has one. */
export function acquisitionTime(label: string | undefined): number | undefined {
  const part = (label ?? '').split(' · ').find((p) => TIME_PART.test(p));
  return part === undefined ? undefined : Number(part.slice(part.indexOf(' ') + 1));
}

/** How a label's repeats are told apart: a Temporal Position Identifier ('time') or an Acquisition Number. */
export function repeatKind(label: string | undefined): 'time' | 'acquisition' | undefined {
  for (const part of (label ?? '').split(' · ')) {
    const kind = TIME_PART.exec(part)?.[1];
    if (kind) return kind as 'time' | 'acquisition';
  }
  return undefined;
}

/** The label part that orders repeats in time: the kind (group 1), then its number. */
const TIME_PART = /^(time|acquisition) -?\d+(\.\d+)?$/;

function acquisitionLabel(a: { te?: number; t?: number; b?: number; stack?: string }): string | undefined {
  const parts = [
    a.stack !== undefined ? `stack ${a.stack}` : '',
    a.te !== undefined ? `TE ${Number(a.te.toPrecision(6))} ms` : '',
    a.t !== undefined ? `time ${a.t}` : '',
    a.b !== undefined ? `b ${Number(a.b.toPrecision(6))}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : undefined;
}

/**
 * Enhanced multi-frame objects: each frame's rescale, window and acquisition come from its
 * Per-Frame Functional Group, else the Shared one (PS3.3 C.7.6.16).
 */
function readEnhancedFrames(ds: DataSet, header: ImageHeader): void {
  const shared = ds.elements.x52009229?.items?.[0]?.dataSet;
  const perFrame = ds.elements.x52009230?.items;
  if (!shared && !perFrame) return;
  const item = (group: DataSet | undefined, seq: string) => group?.elements[seq]?.items?.[0]?.dataSet;
  const pick = (frame: DataSet | undefined, seq: string) => item(frame, seq) ?? item(shared, seq);
  const frames = perFrame && perFrame.length === header.frames ? perFrame.map((f) => f.dataSet) : Array.from({ length: header.frames }, () => undefined);
  const rescale = frames.map((f) => {
    const r = pick(f, 'x00289145');
    return r ? { slope: number(r, 'x00281053') || 1, intercept: number(r, 'x00281052') ?? 0 } : undefined;
  });
  if (rescale.every((r) => r)) {
    header.frameRescale = rescale as { slope: number; intercept: number }[];
    header.rescaleSlope = header.frameRescale[0]!.slope;
    header.rescaleIntercept = header.frameRescale[0]!.intercept;
  }
  const windows = frames.map((f) => {
    const v = pick(f, 'x00289132');
    const center = v && number(v, 'x00281050'), width = v && number(v, 'x00281051');
    return center !== undefined && width !== undefined ? { center, width } : undefined;
  });
  if (windows.some((w) => w)) {
    header.frameWindows = windows;
    header.windowCenter ??= windows[0]?.center;
    header.windowWidth ??= windows[0]?.width;
  }
  const acquisitions = frames.map((f) => {
    const content = pick(f, 'x00209111');
    const stack = content ? text(content, 'x00209056') : undefined;
    const temporal = content?.elements.x00209128 && content.elements.x00209128.length >= 4 ? content.uint32('x00209128') : undefined;
    return acquisitionLabel({ stack, te: float64(pick(f, 'x00189114'), 'x00189082'), t: temporal, b: float64(pick(f, 'x00189117'), 'x00189087') }) ?? '';
  });
  if (new Set(acquisitions).size > 1) header.frameAcquisitions = acquisitions;
}

/** Enhanced multi-frame objects keep geometry in functional group sequences. */
function readEnhancedGeometry(ds: DataSet, header: ImageHeader): void {
  const shared = ds.elements.x52009229?.items?.[0]?.dataSet;
  const perFrame = ds.elements.x52009230?.items;
  const fromGroup = (group: DataSet | undefined, seq: string, tag: string) => {
    const inner = group?.elements[seq]?.items?.[0]?.dataSet;
    return inner ? numbers(inner, tag) : undefined;
  };
  if (!header.orientation) {
    const o = fromGroup(shared, 'x00209116', 'x00200037') ?? fromGroup(perFrame?.[0]?.dataSet, 'x00209116', 'x00200037');
    if (o?.length === 6) header.orientation = o as ImageHeader['orientation'];
  }
  if (!header.pixelSpacing) {
    const s = fromGroup(shared, 'x00289110', 'x00280030') ?? fromGroup(perFrame?.[0]?.dataSet, 'x00289110', 'x00280030');
    if (s?.length === 2) header.pixelSpacing = s as [number, number];
  }
  if (perFrame && perFrame.length === header.frames) {
    const positions = perFrame.map((item) => fromGroup(item.dataSet, 'x00209113', 'x00200032'));
    if (positions.every((p) => p?.length === 3)) {
      header.framePositions = positions as Vec3[];
      header.position ??= header.framePositions[0];
    }
  }
}

/** Siemens mosaics: ImageType contains MOSAIC; the CSA tag (0019,100A) gives the slice count. */
function readMosaic(ds: DataSet, header: ImageHeader): void {
  if (!header.imageType.includes('MOSAIC')) return;
  const el = ds.elements.x0019100a;
  const count = el && el.length >= 2 ? ds.uint16('x0019100a') : undefined;
  header.mosaicImages = count && count > 1 ? count : 0;
}

export function readDescriptiveTags(ds: DataSet): DescriptiveTags {
  const encoding = encodingOf(ds);
  const t = (tag: string) => decodeText(ds, tag, encoding);
  return {
    patientName: t('x00100010')?.replace(/\^+/g, ' ').trim(),
    patientId: t('x00100020'),
    patientBirthDate: text(ds, 'x00100030'),
    patientSex: text(ds, 'x00100040'),
    studyDate: text(ds, 'x00080020'),
    studyTime: text(ds, 'x00080030'),
    studyDescription: t('x00081030'),
    studyId: t('x00200010'),
    accessionNumber: t('x00080050'),
    seriesNumber: number(ds, 'x00200011'),
    seriesDescription: t('x0008103e'),
    seriesDate: text(ds, 'x00080021'),
    bodyPart: text(ds, 'x00180015'),
    manufacturer: t('x00080070'),
    manufacturerModel: t('x00081090'),
    kvp: number(ds, 'x00180060'),
  };
}
