/**
 * Input series for jobs: a folder or DICOMDIR → assembled series (ordered slices, problems), and
 * a stream of each series' slices as physical values, one slice in memory at a time.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { walk } from '../catalog/indexer.js';
import { readDicomdir } from '../dicom/dicomdir.js';
import { DicomError, describeThrown } from '../dicom/errors.js';
import { physicalFrame, type PhysicalSlice } from '../dicom/physical.js';
import { readDicomHeader, readDicomImage, type DicomImage } from '../dicom/read.js';
import { assembleSeries, type AssembledSeries, type SeriesInput, type SliceRef } from '../dicom/series.js';
import type { ImageHeader } from '../dicom/header.js';

import type { UnreadableFile } from '../api/contract.js';

export type { UnreadableFile } from '../api/contract.js';

export interface FoundSeries {
  root: string;
  series: AssembledSeries[];
  unreadable: UnreadableFile[];
}

async function mapPool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

/** Finds the image series under a folder (recursively), a DICOMDIR, or in one file. Bad files are listed, not fatal. */
export async function findSeries(target: string): Promise<FoundSeries> {
  const resolved = path.resolve(target);
  const info = await stat(resolved).catch((e: unknown) => {
    throw new DicomError('unreadable', resolved, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : describeThrown(e));
  });
  const unreadable: UnreadableFile[] = [];
  let files: string[];
  let root = resolved;
  if (info.isDirectory()) {
    files = await walk(resolved);
  } else {
    root = path.dirname(resolved);
    // A DICOMDIR names the files of a CD; any other file is a one-file input.
    const own = await readDicomHeader(resolved);
    if (own.isDicomdir) {
      const entries = await readDicomdir(resolved);
      files = [...new Set(entries.filter((e) => e.exists).map((e) => e.file))];
      for (const e of entries.filter((x) => !x.exists)) unreadable.push({ file: e.file, code: 'unreadable', reason: 'referenced by DICOMDIR but missing' });
    } else {
      files = [resolved];
    }
  }
  const assembled = await seriesOfFiles(files);
  return { root, series: assembled.series, unreadable: [...unreadable, ...assembled.unreadable] };
}

/** Assembles the image series of a list of files (headers only); unreadable files are listed. */
export async function seriesOfFiles(files: string[]): Promise<{ series: AssembledSeries[]; unreadable: UnreadableFile[] }> {
  const unreadable: UnreadableFile[] = [];
  const inputs: SeriesInput[] = [];
  await mapPool(files, 8, async (file) => {
    try {
      const h = await readDicomHeader(file);
      if (h.isDicomdir) return;
      if (!h.header.hasPixelData) return;
      inputs.push({ file, header: h.header });
    } catch (error) {
      const e = error instanceof DicomError ? error : new DicomError('unreadable', file, describeThrown(error));
      unreadable.push({ file: e.file, code: e.code, reason: e.reason });
    }
  });
  const series = assembleSeries(inputs).filter((s) => s.slices.length > 0);
  return { series, unreadable };
}

export interface SeriesSlice extends PhysicalSlice {
  ref: SliceRef;
  index: number;
  header: ImageHeader;
}

/** Streams a series' slices in order; a multi-frame file is decoded once for all its frames. */
export async function* readSeriesSlices(series: AssembledSeries): AsyncGenerator<SeriesSlice> {
  let cached: { file: string; image: DicomImage } | undefined;
  for (let index = 0; index < series.slices.length; index++) {
    const ref = series.slices[index]!;
    if (cached?.file !== ref.file) cached = { file: ref.file, image: await readDicomImage(ref.file) };
    yield { ...physicalFrame(cached.image, ref.frame), ref, index, header: cached.image.header };
  }
}

/** Describes a series for users without patient data: modality, size, slice count, UID tail. */
export function seriesLabel(s: AssembledSeries): string {
  return `${s.modality} ${s.columns}×${s.rows}×${s.slices.length} (series …${s.seriesInstanceUid.slice(-8)}${s.stack ? ` stack ${s.stack}` : ''})`;
}
