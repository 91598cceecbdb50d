/**
 * Training volumes from folders: every series becomes a volume of physical slices; slices missing
 * from a series (gaps along the normal) are imputed as the card asks, and flagged so the trainer
 * never uses an invented slice as a target.
 */
import path from 'node:path';
import { imputeMissingSlices, type SliceImputation } from '../preprocess/impute.js';
import type { TrainingVolume } from '../model/train.js';
import type { AssembledSeries } from '../dicom/series.js';
import { readSeriesSlices, seriesLabel, seriesOfFiles, type UnreadableFile } from './series-source.js';

/** One series of a dataset, as the catalogue resolved it: its UID and one file per instance. */
export interface DatasetSource { seriesInstanceUid: string; modality: string; files: string[] }

export interface LoadedTrainingData {
  volumes: TrainingVolume[];
  unreadable: UnreadableFile[];
  skipped: string[];
}

/** Every series in a list of files as a dataset (recipes and tests that train on fixture files). */
export async function datasetOfFiles(files: string[]): Promise<DatasetSource[]> {
  const { series } = await seriesOfFiles(files);
  const byUid = new Map<string, DatasetSource>();
  for (const s of series) {
    const entry = byUid.get(s.seriesInstanceUid) ?? { seriesInstanceUid: s.seriesInstanceUid, modality: s.modality, files: [] };
    entry.files.push(...new Set(s.slices.map((x) => x.file)));
    byUid.set(s.seriesInstanceUid, entry);
  }
  return [...byUid.values()];
}

/** Where slices are missing: for each gap after slice i, how many are missing. */
function missingAfter(series: AssembledSeries): number[] {
  const gaps = new Array<number>(series.slices.length).fill(0);
  const spacing = series.sliceSpacing;
  if (!spacing) return gaps;
  for (let i = 0; i + 1 < series.slices.length; i++) {
    const a = series.slices[i]!.location, b = series.slices[i + 1]!.location;
    if (a === undefined || b === undefined) continue;
    const missing = Math.round(Math.abs(b - a) / spacing) - 1;
    if (missing > 0 && missing <= 20) gaps[i] = missing;
  }
  return gaps;
}

/** Exactly the given series (never their neighbours in the same folder) as training volumes. */
export async function loadTrainingData(sources: DatasetSource[], sliceImputation: SliceImputation,
  onMessage?: (text: string) => void): Promise<LoadedTrainingData> {
  const volumes: TrainingVolume[] = [];
  const unreadable: UnreadableFile[] = [];
  const skipped: string[] = [];
  for (const source of sources) {
    const found = await seriesOfFiles(source.files);
    unreadable.push(...found.unreadable);
    const stacks = found.series.filter((s) => s.seriesInstanceUid === source.seriesInstanceUid);
    if (stacks.length === 0) { skipped.push(`series …${source.seriesInstanceUid.slice(-8)}: no readable slices`); continue; }
    for (const series of stacks) {
      if (series.multiFrame && series.slices.length === 1) { skipped.push(`${seriesLabel(series)}: single frame`); continue; }
      const physical = [];
      try {
        for await (const s of readSeriesSlices(series)) physical.push(s);
      } catch (error) {
        skipped.push(`${seriesLabel(series)}: ${(error as Error).message}`);
        continue;
      }
      const gaps = missingAfter(series);
      const withHoles: (Float32Array | null)[] = [];
      const padding: (Uint8Array | undefined)[] = [];
      physical.forEach((s, i) => {
        withHoles.push(s.values);
        padding.push(s.padding);
        for (let k = 0; k < gaps[i]!; k++) { withHoles.push(null); padding.push(undefined); }
      });
      const filled = imputeMissingSlices(withHoles, sliceImputation);
      const missing = withHoles.filter((s) => s === null).length;
      if (missing) onMessage?.(`${seriesLabel(series)}: ${missing} missing slice(s) ${sliceImputation === 'skip' ? 'left out' : `imputed (${sliceImputation})`}`);
      const { width, height } = physical[0]!;
      volumes.push({
        seriesId: series.seriesInstanceUid, modality: series.modality, source: path.dirname(series.slices[0]!.file),
        slices: filled.map((f) => ({ values: f.values, width, height, padding: padding[f.index], imputed: f.imputed })),
      });
    }
  }
  if (volumes.length === 0) throw new Error(`none of the ${sources.length} series has usable slices (${skipped.join('; ')})`);
  return { volumes, unreadable, skipped };
}
