/**
 * The series pipeline shared by denoising and noise simulation: stream a series' slices, transform
 * each (several in flight so every worker is busy), keep results in their stored type only, and
 * write one derived series per input series (all its stacks) into its own new folder under `outDir`.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { storedFromPhysical } from '../dicom/physical.js';
import type { StoredArray } from '../dicom/pixels.js';
import { seriesProblems, type AssembledSeries } from '../dicom/series.js';
import { writeDerivedSeries } from '../dicom/write.js';
import type { DenoisedSeries } from '../api/contract.js';
import { isInside } from '../shared/fs-paths.js';
import { findSeries, readSeriesSlices, seriesLabel, type SeriesSlice, type UnreadableFile } from './series-source.js';

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export interface SeriesProgress {
  done: number;
  total: number;
  etaSeconds: number;
  message: string;
}

export type ProcessedSeries = DenoisedSeries;

export interface ProcessOptions {
  input: string;
  outDir: string;
  /** Slices transformed concurrently (≥ the number of workers). */
  inFlight: number;
  derivationDescription: string;
  /** Called after `prepare` for each series, when the description depends on the series. */
  describe?: (series: AssembledSeries) => string;
  /** Appended to the source's Series Description: fixed, or per series (method, strength, time). */
  seriesDescriptionSuffix: string | ((series: AssembledSeries) => string);
  /** The derived series' Series Number (default: the source's + 1000). */
  seriesNumber?: (series: AssembledSeries) => number;
  onProgress?: (p: SeriesProgress) => void;
  signal?: AbortSignal;
  /** Only these series (Series Instance UIDs); all when absent. */
  seriesUids?: string[];
  uidRoot?: string;
}

export interface FailedSeries { input: string; seriesInstanceUid: string; error: string }

export interface ProcessedFolder {
  root: string;
  series: ProcessedSeries[];
  /** Series that could not be processed (e.g. a slice that fails to decode); the others still are. */
  failed: FailedSeries[];
  unreadable: UnreadableFile[];
}

export type SliceTransform = (slice: SeriesSlice, series: AssembledSeries) => Promise<Float32Array>;

function folderName(s: AssembledSeries, index: number): string {
  return `${String(index + 1).padStart(2, '0')}-${s.modality || 'OT'}-${s.seriesInstanceUid.slice(-12).replace(/\W/g, '')}`;
}

/** One stack's transformed slices (stored values, in slice order) and what its derived images say was done. */
interface ProcessedStack { series: AssembledSeries; stored: StoredArray[]; derivation: string; clipped: number }

/** The stacks of each series, in the order found: a series split by echo or time point is still one series. */
function bySeries(stacks: AssembledSeries[]): AssembledSeries[][] {
  const groups = new Map<string, AssembledSeries[]>();
  for (const s of stacks) groups.set(s.seriesInstanceUid, [...(groups.get(s.seriesInstanceUid) ?? []), s]);
  return [...groups.values()];
}

/** How a stack is named in messages: its acquisition ("TE 30 ms", "time 2"), else its place. */
const stackName = (s: AssembledSeries) => s.acquisition ?? `stack ${s.stack + 1}`;

/** What a derived series says was done, when its stacks say different things (each its own σ). */
function seriesDerivation(stacks: { series: AssembledSeries; derivation: string }[]): string {
  const distinct = [...new Set(stacks.map((s) => s.derivation))];
  if (distinct.length === 1) return distinct[0]!;
  const shown = stacks.slice(0, 6).map((s) => `${stackName(s.series)}: ${s.derivation}`);
  return `${shown.join('; ')}${stacks.length > 6 ? `; … ${stacks.length - 6} more stacks` : ''}`;
}

export async function processSeriesFolder(options: ProcessOptions, transform: SliceTransform,
  prepare?: (series: AssembledSeries, all: AssembledSeries[]) => Promise<void>): Promise<ProcessedFolder> {
  const found = await findSeries(options.input);
  const outDir = path.resolve(options.outDir);
  if (isInside(found.root, outDir)) throw new Error(`--out ${outDir} lies inside the input folder ${found.root}; choose a folder outside it`);
  const chosen = found.series.filter((s) => !options.seriesUids || options.seriesUids.includes(s.seriesInstanceUid));
  if (chosen.length === 0) {
    throw new Error(`${found.root}: no image series found${found.unreadable.length ? ` (${found.unreadable.length} unreadable files)` : ''}`);
  }
  const total = chosen.reduce((a, s) => a + s.slices.length, 0);
  let done = 0;
  const started = performance.now();
  await mkdir(outDir, { recursive: true });
  const results: ProcessedSeries[] = [];
  const failed: FailedSeries[] = [];
  // One derived series per source series: its stacks (echoes, time points) are processed each
  // with its own context and written together, as the source holds them — one series to compare,
  // send or export, never one per echo.
  for (const [index, stacks] of bySeries(chosen).entries()) {
    const processed: ProcessedStack[] = [];
    const seriesStart = performance.now();
    for (const series of stacks) {
      try {
        processed.push(await processStack(series));
      } catch (error) {
        if (error instanceof CancelledError) throw error;
        // One stack that cannot be read or processed: the others are still written, and the
        // failure names the stack.
        const message = (error as Error).message;
        failed.push({ input: path.dirname(series.slices[0]!.file), seriesInstanceUid: series.seriesInstanceUid, error: stacks.length > 1 ? `${stackName(series)}: ${message}` : message });
      }
    }
    if (processed.length === 0) continue;
    try {
      results.push(await writeSeries(stacks, processed, index, seriesStart));
    } catch (error) {
      failed.push({ input: path.dirname(stacks[0]!.slices[0]!.file), seriesInstanceUid: stacks[0]!.seriesInstanceUid, error: (error as Error).message });
    }
  }
  return { series: results, failed, unreadable: found.unreadable, root: found.root };

  async function processStack(series: AssembledSeries): Promise<ProcessedStack> {
    await prepare?.(series, found.series);
    const stored = new Array<StoredArray>(series.slices.length);
    let clipped = 0;
    const inFlight = new Set<Promise<void>>();
    for await (const slice of readSeriesSlices(series)) {
      if (options.signal?.aborted) break;
      const job = transform(slice, series).then((out) => {
        const s = storedFromPhysical(out, slice.header, slice.ref.frame);
        stored[slice.index] = s.pixels;
        clipped += s.clipped;
        done++;
        const elapsed = (performance.now() - started) / 1000;
        options.onProgress?.({ done, total, etaSeconds: (elapsed / done) * (total - done), message: seriesLabel(series) });
      });
      const tracked = job.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= options.inFlight) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (options.signal?.aborted) throw new CancelledError();
    const derivation = options.describe?.(series) ?? options.derivationDescription;
    return { series, stored, derivation, clipped };
  }

  async function writeSeries(all: AssembledSeries[], stacks: ProcessedStack[], index: number, seriesStart: number): Promise<ProcessedSeries> {
    const first = stacks[0]!.series;
    // Multi-frame sources: their frames go back into one file, in frame order — the frames of
    // every stack processed (an Enhanced object holding two echoes stays one object).
    const byFile = new Map<string, { frame: number; pixels: StoredArray; derivation: string }[]>();
    for (const { series, stored, derivation } of stacks) {
      series.slices.forEach((ref, i) => {
        const list = byFile.get(ref.file) ?? [];
        list.push({ frame: ref.frame, pixels: stored[i]!, derivation });
        byFile.set(ref.file, list);
      });
    }
    const images = [...byFile].map(([source, frames]) => {
      frames.sort((a, b) => a.frame - b.frame);
      const ids = frames.map((f) => f.frame);
      const derivation = [...new Set(frames.map((f) => f.derivation))].join('; ');
      if (frames.length === 1) return { source, values: frames[0]!.pixels, frames: ids, derivation };
      const n = frames[0]!.pixels.length;
      const all = new (frames[0]!.pixels.constructor as new (n: number) => StoredArray)(n * frames.length);
      frames.forEach((f, k) => all.set(f.pixels, k * n));
      // A file may hold frames of a stack that was not processed (one that failed): those are left out.
      return { source, values: all, frames: ids, derivation };
    });
    const suffix = typeof options.seriesDescriptionSuffix === 'string' ? options.seriesDescriptionSuffix : options.seriesDescriptionSuffix(first);
    const derivation = seriesDerivation(stacks);
    const written = await writeDerivedSeries(images, {
      outDir: path.join(outDir, folderName(first, index)), sourceFolders: [found.root],
      derivationDescription: derivation, seriesDescriptionSuffix: suffix,
      seriesNumber: options.seriesNumber?.(first), uidRoot: options.uidRoot,
    });
    return {
      input: path.dirname(first.slices[0]!.file), seriesInstanceUid: first.seriesInstanceUid,
      output: written.outDir, outputSeriesInstanceUid: written.seriesInstanceUid, description: written.description, derivation,
      slices: stacks.reduce((n, s) => n + s.series.slices.length, 0),
      seconds: (performance.now() - seriesStart) / 1000, clippedPixels: written.clippedPixels + stacks.reduce((n, s) => n + s.clipped, 0),
      // The source series' problems as the catalogue states them (a split said once).
      problems: seriesProblems(all).map((p) => p.message),
    };
  }
}
