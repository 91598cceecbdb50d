/** The real DICOM fixtures the benchmarks score on (test/fixtures/dicom), read as the app reads them. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findSeries, readSeriesSlices, type SeriesSlice } from '../../src-main/jobs/series-source.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'dicom');

/** Every slice of every series found at `relative` (a file or folder under FIXTURES). */
export async function loadSeries(relative: string): Promise<SeriesSlice[]> {
  const found = await findSeries(path.join(FIXTURES, relative));
  if (found.series.length === 0) throw new Error(`${relative}: no readable DICOM series under ${FIXTURES}`);
  const out: SeriesSlice[] = [];
  for (const series of found.series) for await (const s of readSeriesSlices(series) as AsyncGenerator<SeriesSlice>) out.push(s);
  return out;
}

/** max − min of the values (1 for a constant image): the PSNR data range of a clean reference. */
export function valueRange(values: Float32Array): number {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return hi > lo ? hi - lo : 1;
}
