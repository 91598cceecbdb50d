/**
 * Writes a new (not derived) single-frame CT or MR series from values the project generated
 * itself: phantoms for the bundled sample study, training data and benchmarks. The patient is
 * always the fictitious "PHANTOM"; nothing here ever comes from a real person.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import dcmjs from 'dcmjs';
import { DicomError } from './errors.js';
import { newUid } from './uid.js';
import { fileMeta, toStoredRange } from './write.js';

const { DicomDict } = dcmjs.data;
const SOP_CLASS = { CT: '1.2.840.10008.5.1.4.1.1.2', MR: '1.2.840.10008.5.1.4.1.1.4' } as const;

export interface SyntheticSeriesOptions {
  outDir: string;
  modality: 'CT' | 'MR';
  rows: number;
  columns: number;
  /** In-plane pixel spacing and slice spacing, mm */
  pixelSpacing: number;
  sliceSpacing: number;
  seriesDescription: string;
  /** CT: −1024 so HU fit signed 16-bit; MR: 0 */
  rescaleIntercept?: number;
  studyInstanceUid?: string;
  seriesNumber?: number;
  /** Who "made" it (default: the phantom generator); tests of the bias report vary it */
  manufacturer?: string;
  /**
   * Repeats of the whole volume (an fMRI run's time points): each slice position is written this
   * many times with its Temporal Position Identifier; default 1 (none written).
   */
  timePoints?: number;
  /**
   * How the time points are told apart: a Temporal Position Identifier (default, as Philips and
   * enhanced objects do) or only an Acquisition Number per volume (as Siemens does).
   */
  repeatTag?: 'temporal-position' | 'acquisition-number';
}

/**
 * Writes `count` slices produced one at a time by `slice(i)` (physical values: HU for CT),
 * so even a 300-slice volume never sits in memory as float32. With `timePoints`, `slice(i, t)`
 * gives slice i at time point t.
 */
export async function writeSyntheticSeries(count: number, slice: (index: number, timePoint: number) => Float32Array,
  options: SyntheticSeriesOptions): Promise<{ outDir: string; files: string[]; seriesInstanceUid: string; studyInstanceUid: string }> {
  const outDir = path.resolve(options.outDir);
  if (await stat(outDir).then(() => true, () => false)) throw new DicomError('write-refused', outDir, 'output folder already exists');
  const staging = `${outDir}.partial-${process.pid}`;
  await mkdir(staging, { recursive: true });
  const signed = options.modality === 'CT';
  const intercept = options.rescaleIntercept ?? (signed ? -1024 : 0);
  const studyInstanceUid = options.studyInstanceUid ?? newUid();
  const seriesInstanceUid = newUid();
  const frameOfReferenceUid = newUid();
  const files: string[] = [];
  try {
    const timePoints = options.timePoints ?? 1;
    for (let k = 0; k < count * timePoints; k++) {
      const i = k % count, t = Math.floor(k / count);
      const values = slice(i, t);
      if (values.length !== options.rows * options.columns) throw new Error(`synthetic slice ${i} has ${values.length} values, expected ${options.rows * options.columns}`);
      const stored = new Float64Array(values.length);
      for (let k = 0; k < values.length; k++) stored[k] = values[k]! - intercept;
      const { pixels } = toStoredRange(stored, { bitsAllocated: 16, bitsStored: 16, pixelRepresentation: signed ? 1 : 0 });
      const sop = newUid();
      const set = (vr: string, ...Value: unknown[]) => ({ vr, Value });
      const dict: Record<string, { vr: string; Value: unknown[] }> = {
        '00080005': set('CS', 'ISO_IR 192'),
        '00080008': set('CS', 'ORIGINAL', 'PRIMARY', 'AXIAL'),
        '00080016': set('UI', SOP_CLASS[options.modality]),
        '00080018': set('UI', sop),
        '00080020': set('DA', '20260101'),
        '00080060': set('CS', options.modality),
        '00080070': set('LO', (options.manufacturer ?? 'Denoise Studio phantom generator').slice(0, 64)),
        '0008103E': set('LO', options.seriesDescription.slice(0, 64)),
        '00100010': set('PN', { Alphabetic: 'PHANTOM^DENOISE STUDIO' }),
        '00100020': set('LO', 'PHANTOM-0001'),
        '00180050': set('DS', String(options.sliceSpacing)),
        '0020000D': set('UI', studyInstanceUid),
        '0020000E': set('UI', seriesInstanceUid),
        '00200011': set('IS', String(options.seriesNumber ?? 1)),
        '00200013': set('IS', String(k + 1)),
        '00200032': set('DS', decimal(-(options.columns * options.pixelSpacing) / 2), decimal(-(options.rows * options.pixelSpacing) / 2), decimal(i * options.sliceSpacing)),
        '00200037': set('DS', '1', '0', '0', '0', '1', '0'),
        '00200052': set('UI', frameOfReferenceUid),
        '00280002': set('US', 1),
        '00280004': set('CS', 'MONOCHROME2'),
        '00280010': set('US', options.rows),
        '00280011': set('US', options.columns),
        '00280030': set('DS', String(options.pixelSpacing), String(options.pixelSpacing)),
        '00280100': set('US', 16),
        '00280101': set('US', 16),
        '00280102': set('US', 15),
        '00280103': set('US', signed ? 1 : 0),
        '00281052': set('DS', String(intercept)),
        '00281053': set('DS', '1'),
        '7FE00010': set('OW', pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength)),
      };
      if (options.modality === 'CT') dict['00281054'] = set('LO', 'HU');
      if (timePoints > 1 && options.repeatTag === 'acquisition-number') dict['00200012'] = set('IS', String(t + 1));
      else if (timePoints > 1) {
        dict['00200100'] = set('IS', String(t + 1));
        dict['00200105'] = set('IS', String(timePoints));
      }
      const out = new DicomDict(fileMeta(SOP_CLASS[options.modality], sop));
      out.dict = dict;
      const name = `IM${String(k + 1).padStart(6, '0')}.dcm`;
      await writeFile(path.join(staging, name), new Uint8Array(out.write()), { flag: 'wx' });
      files.push(path.join(outDir, name));
    }
    await rename(staging, outDir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { outDir, files, seriesInstanceUid, studyInstanceUid };
}

/** A DS value within its 16 characters: 3 × 2.2 is 6.6000000000000005 in binary, 6.6 in DICOM. */
function decimal(value: number): string {
  return String(Number(value.toPrecision(10)));
}
