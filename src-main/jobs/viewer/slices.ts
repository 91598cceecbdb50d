/**
 * One slice of a catalogued series as physical values, for the viewer. Series order comes from
 * the headers stored in the catalogue (no file is re-read to order a series); the decoded file of
 * the last slice asked for is kept, so scrolling a multi-frame object decodes it once.
 */
import type { Database } from 'better-sqlite3';
import type { PreviewResult, SeriesStack, SliceData } from '../../api/contract.js';

export type { PreviewResult, SeriesStack, SliceData } from '../../api/contract.js';
import { instanceLocations, seriesFiles } from '../../catalog/query.js';
import type { ImageHeader } from '../../dicom/header.js';
import { colourFrameToRGB, readDisplayTransforms } from '../../dicom/display.js';
import { physicalFrame } from '../../dicom/physical.js';
import { readDicomImage, type DicomImage } from '../../dicom/read.js';
import { assembleSeries, type AssembledSeries } from '../../dicom/series.js';
import { imputePixels, invalidMask, type PixelImputation } from '../../preprocess/impute.js';
import { fitNormalisation, normalisationScope, normalise, valueStats, volumeSample, type NormalisationSpec, type ValueStats } from '../../preprocess/normalise.js';


const order = new Map<string, AssembledSeries[]>();
let lastImage: { file: string; image: DicomImage } | undefined;

/**
 * A series' stacks in assembly order (one unless it was split by echo, time point, acquisition
 * or geometry), ordered from the headers the catalogue stored.
 */
export function seriesStacks(db: Database, seriesInstanceUid: string): AssembledSeries[] {
  const cached = order.get(seriesInstanceUid);
  if (cached) return cached;
  const files = seriesFiles(db, seriesInstanceUid);
  if (files.length === 0) throw new Error(`series ${seriesInstanceUid} is not in the catalogue (index its folder first)`);
  const stacks = assembleSeries(files.map((f) => ({ file: f.path, header: JSON.parse(f.header) as ImageHeader })))
    .filter((s) => s.seriesInstanceUid === seriesInstanceUid && s.slices.length > 0);
  if (order.size > 64) order.clear();
  order.set(seriesInstanceUid, stacks);
  return stacks;
}

/** What the viewer lists of a series' stacks: each one's label ('' when the series is one stack) and slice count. */
export function stackList(db: Database, seriesInstanceUid: string): SeriesStack[] {
  const stacks = seriesStacks(db, seriesInstanceUid);
  const main = mainStack(stacks);
  const labels = stackLabels(stacks);
  return stacks.map((s, k) => ({ label: labels[k]!, slices: s.slices.length, main: s === main }));
}

/**
 * Each stack's label ('' for a series of one stack), made unique: the viewer asks for a stack by
 * it, so two stacks the headers label alike are told apart by their order (" #2").
 */
export function stackLabels(stacks: Pick<AssembledSeries, 'acquisition'>[]): string[] {
  const seen = new Map<string, number>();
  return stacks.map((s) => {
    const base = s.acquisition ?? '';
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : base ? `${base} #${n}` : `#${n}`;
  });
}

const labelOf = (stacks: AssembledSeries[], stack: AssembledSeries) => stackLabels(stacks)[stacks.indexOf(stack)] ?? '';
/** The stack shown when none is asked for: the largest, the first of equals. */
const mainStack = (stacks: AssembledSeries[]) => stacks.reduce((a, b) => (b.slices.length > a.slices.length ? b : a));

/**
 * One stack of a series, by its label; the largest without one. A label the series does not
 * have is refused, never answered with another stack: a result is compared with its source stack
 * by label, and must not show one echo's pixels beside another's.
 */
export function orderedSeries(db: Database, seriesInstanceUid: string, stack?: string): AssembledSeries {
  const stacks = seriesStacks(db, seriesInstanceUid);
  if (stack === undefined) return mainStack(stacks);
  const labels = stackLabels(stacks);
  const found = stacks[labels.indexOf(stack)];
  if (found) return found;
  const named = labels.filter(Boolean);
  throw new Error(`series …${seriesInstanceUid.slice(-8)} has no stack "${stack}"${named.length ? ` (its stacks: ${named.slice(0, 4).join(', ')}${named.length > 4 ? ', …' : ''})` : ' (it is one stack)'}`);
}

const validWindow = (w: { center: number; width: number } | undefined) => (w && w.width > 0 ? w : undefined);

function luminance(rgb: Uint8Array): Float32Array {
  const out = new Float32Array(rgb.length / 3);
  for (let i = 0; i < out.length; i++) out[i] = 0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!;
  return out;
}

/**
 * Reads an instance from its first location, else from any other copy the catalogue knows (an
 * export re-opened, a CD copied to disk): one unreadable copy does not lose the slice.
 */
async function readAnyCopy(db: Database, file: string, sopInstanceUid: string): Promise<DicomImage> {
  try {
    return await readDicomImage(file);
  } catch (error) {
    for (const other of instanceLocations(db, sopInstanceUid).filter((p) => p !== file)) {
      const image = await readDicomImage(other).catch(() => undefined);
      if (image) return image;
    }
    throw error;
  }
}

/** Forget cached ordering (after re-indexing a folder). */
export function forgetSeriesOrder(): void {
  order.clear();
  lastImage = undefined;
}

export async function readCatalogSlice(db: Database, seriesInstanceUid: string, index: number, stack?: string): Promise<SliceData> {
  const series = orderedSeries(db, seriesInstanceUid, stack);
  if (!Number.isInteger(index) || index < 0 || index >= series.slices.length) {
    throw new Error(`slice ${index} is outside the series (0–${series.slices.length - 1})`);
  }
  const ref = series.slices[index]!;
  if (lastImage?.file !== ref.file) lastImage = { file: ref.file, image: await readAnyCopy(db, ref.file, ref.sopInstanceUid) };
  const { image } = lastImage;
  const h = image.header;
  // Colour (RGB, YBR, palette: ultrasound, secondary captures) is shown as it is; its luminance
  // stands in for values (readout, ROI). Denoising needs greyscale and says so.
  const colour = image.samplesPerPixel === 3 || image.photometric === 'PALETTE COLOR';
  const rgb = colour ? colourFrameToRGB(image, ref.frame) : undefined;
  const slice = rgb ? { width: image.columns, height: image.rows, values: luminance(rgb), padding: undefined } : physicalFrame(image, ref.frame);
  return {
    rgb,
    seriesInstanceUid, stack: labelOf(seriesStacks(db, seriesInstanceUid), series), index, count: series.slices.length, width: slice.width, height: slice.height,
    values: slice.values, padding: slice.padding, modality: series.modality, pixelSpacing: series.pixelSpacing,
    // A window of width 0 (seen in real MR files) is no window: the viewer picks one.
    window: validWindow(h.frameWindows?.[ref.frame]) ?? validWindow(h.windowCenter !== undefined && h.windowWidth !== undefined ? { center: h.windowCenter, width: h.windowWidth } : undefined),
    location: ref.location,
    position: (h.framePositions?.[ref.frame] ?? h.position) as number[] | undefined,
    orientation: h.orientation as number[] | undefined,
    sliceThickness: h.sliceThickness,
    derived: h.imageType[0] === 'DERIVED',
    display: colour ? undefined : readDisplayTransforms(image.parsed.dataSet, h.pixelRepresentation),
  };
}


/** What a normalisation + imputation choice does to one slice (the Settings preview). */
const volumeStats = new Map<string, ValueStats>();

/** Volume statistics as training and inference fit them (every slice, volumeSample), cached per series. */
async function seriesStats(db: Database, seriesInstanceUid: string, stack: string, count: number, imputation: PixelImputation): Promise<ValueStats> {
  const key = `${seriesInstanceUid}|${stack}|${count}|${JSON.stringify(imputation)}`;
  const cached = volumeStats.get(key);
  if (cached) return cached;
  const samples: { values: Float32Array; mask: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const s = await readCatalogSlice(db, seriesInstanceUid, i, stack);
    const mask = invalidMask(s.values, s.padding);
    samples.push(volumeSample(imputePixels(s.values, s.width, s.height, mask, imputation).values, mask));
  }
  const stats = valueStats(samples);
  volumeStats.clear(); // one series at a time is what a preview needs
  volumeStats.set(key, stats);
  return stats;
}

export async function previewPreprocessing(db: Database, seriesInstanceUid: string, index: number,
  normalisation: NormalisationSpec, imputation: PixelImputation, stack?: string): Promise<PreviewResult> {
  const slice = await readCatalogSlice(db, seriesInstanceUid, index, stack);
  const mask = invalidMask(slice.values, slice.padding);
  const imputed = imputePixels(slice.values, slice.width, slice.height, mask, imputation);
  // A window needs no statistics; 'volume' (and 'dataset', whose dataset here is the series) fit
  // over the series, as training and inference do; 'slice' over this slice.
  const scope = normalisationScope(normalisation);
  const stats = normalisation.kind === 'window' ? undefined
    : scope === 'slice' ? valueStats([{ values: imputed.values, mask }])
      : await seriesStats(db, seriesInstanceUid, slice.stack, slice.count, imputation);
  const params = fitNormalisation(normalisation, stats);
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  return {
    width: slice.width, height: slice.height, normalised: normalise(imputed.values, params), mask, filled: imputed.filled,
    params: { offset: params.offset, scale: params.scale, clipLow: finite(params.clipLow), clipHigh: finite(params.clipHigh) },
  };
}
