/**
 * Series assembly: files (and frames) → ordered stacks of slices. Grouped by Study/Series Instance
 * UID, split by geometry when one series mixes orientations or matrix sizes and by acquisition
 * (echo, time point, b-value; repeated volumes told apart only by Acquisition Number), ordered by Image
 * Position (Patient) projected on the slice normal (falling back to Instance Number, then file
 * name), with spacing computed and every irregularity reported: gaps, duplicates, uneven spacing,
 * missing positions, mosaics. Nothing is hidden or silently fixed.
 */
import type { ImageHeader, Vec3 } from './header.js';

export interface SeriesInput {
  file: string;
  header: ImageHeader;
}

export interface SliceRef {
  file: string;
  /** Frame index inside a multi-frame file (0 for single-frame) */
  frame: number;
  sopInstanceUid: string;
  instanceNumber?: number;
  position?: Vec3;
  /** Position projected on the slice normal, mm */
  location?: number;
}

export type SeriesProblemKind =
  | 'gap'
  | 'duplicate'
  | 'uneven-spacing'
  | 'mixed-geometry'
  | 'missing-position'
  | 'mosaic'
  | 'no-pixels'
  | 'split-acquisition';

export interface SeriesProblem {
  kind: SeriesProblemKind;
  message: string;
}

export interface AssembledSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** 0 unless the series had to be split by geometry or acquisition */
  stack: number;
  /** The acquisition this stack holds when the series has several (echo, time, b-value) */
  acquisition?: string;
  modality: string;
  rows: number;
  columns: number;
  orientation?: ImageHeader['orientation'];
  pixelSpacing?: [number, number];
  /** Median distance between neighbouring slices along the normal, mm */
  sliceSpacing?: number;
  orderedBy: 'position' | 'instance-number' | 'file-name';
  multiFrame: boolean;
  slices: SliceRef[];
  problems: SeriesProblem[];
}

const POSITION_TOLERANCE_MM = 1e-3;

export function assembleSeries(inputs: SeriesInput[]): AssembledSeries[] {
  const bySeries = groupBy(inputs, (i) => `${i.header.studyInstanceUid}|${i.header.seriesInstanceUid}`);
  const result: AssembledSeries[] = [];
  for (const members of bySeries.values()) {
    const geometries = [...groupBy(members, (i) => geometryKey(i.header)).values()];
    // Within a geometry, one stack per acquisition (echo, time, b-value): slices of different
    // contrasts are never one volume, so neighbour-slice training never pairs them.
    const stacks = geometries.flatMap((g) => {
      const acquisitions = [...new Set(g.flatMap((m) => framesOf(m.header).map((f) => acquisitionOf(m.header, f))))];
      return acquisitions.flatMap((acquisition) => splitRepeats(g, acquisition));
    });
    const labels = stacks.map((s) => s.label);
    stacks.forEach(({ members: stackMembers, acquisition, label }, stack) => {
      const series = assembleStack(stackMembers, stacks.length > 1 ? stack : 0, acquisition);
      if (labels.length > 1) {
        series.acquisition = label || undefined;
        series.problems.unshift({ kind: 'split-acquisition', message: `${splitMessage(labels)}; this one is ${label || 'unlabelled'}` });
      }
      if (geometries.length > 1) {
        const h = stackMembers[0].header;
        series.problems.unshift({
          kind: 'mixed-geometry',
          message: `series mixes ${geometries.length} geometries (orientation or matrix size); this stack is ${h.rows}×${h.columns}${h.orientation ? ` oriented ${h.orientation.map((v) => v.toFixed(2)).join('\\')}` : ''}`,
        });
      }
      result.push(series);
    });
  }
  return result;
}

/** Acquisitions named in a split-acquisition message (an fMRI run has hundreds). */
const MAX_LISTED = 6;

/** What a series split by acquisition says of itself, given its stacks' labels (each stack adds which one it is). */
export function splitMessage(labels: (string | undefined)[]): string {
  const listed = labels.length <= MAX_LISTED ? labels : [...labels.slice(0, MAX_LISTED - 1), `… ${labels.length - MAX_LISTED + 1} more`];
  return `series holds ${labels.length} acquisitions (${listed.map((a) => a || 'unlabelled').join('; ')}), shown and processed as separate stacks`;
}

/**
 * A series' problems from its stacks' problems, each said once: every stack of a split series
 * says the series was split and which stack it is (an fMRI run has hundreds of stacks); the
 * series has one such problem.
 */
export function seriesProblems(stacks: AssembledSeries[]): SeriesProblem[] {
  const seen = new Set<string>();
  const split = stacks.some((s) => s.problems.some((p) => p.kind === 'split-acquisition'))
    ? [{ kind: 'split-acquisition' as const, message: splitMessage(stacks.map((s) => s.acquisition)) }] : [];
  return [...split, ...stacks.flatMap((s) => s.problems).filter((p) => p.kind !== 'split-acquisition')]
    .filter((p) => !seen.has(p.message) && seen.add(p.message));
}

interface StackPlan {
  members: SeriesInput[];
  /** The acquisition label that selects this stack's frames */
  acquisition: string;
  /** What the stack is called: the acquisition, with its Acquisition Number when repeats were split by it */
  label: string;
}

/**
 * The stacks of one acquisition label in one geometry: one, unless it repeats positions and
 * Acquisition Number tells the repeats apart — Siemens fMRI volumes (mosaics) and repeated volumes
 * carry no Temporal Position Identifier, and would otherwise be interleaved in one stack, a slice
 * of one volume beside the same slice of the next. Split only when every file has a number and no
 * number repeats a position: anything else stays one stack with its duplicates reported.
 */
function splitRepeats(members: SeriesInput[], acquisition: string): StackPlan[] {
  const single: StackPlan[] = [{ members, acquisition, label: acquisition }];
  const own = members.filter((m) => framesOf(m.header).some((f) => acquisitionOf(m.header, f) === acquisition));
  // Enhanced multi-frame objects label their frames' time themselves.
  if (own.some((m) => m.header.frames > 1 || m.header.acquisitionNumber === undefined)) return single;
  const byNumber = groupBy(own, (m) => String(m.header.acquisitionNumber));
  if (byNumber.size < 2) return single;
  const locationKey = (m: SeriesInput) => m.header.position && m.header.orientation
    ? (Math.round(dot(m.header.position, sliceNormal(m.header.orientation)) / POSITION_TOLERANCE_MM)).toString() : undefined;
  const keys = own.map(locationKey);
  if (keys.some((k) => k === undefined) || new Set(keys).size === keys.length) return single;
  for (const group of byNumber.values()) {
    const groupKeys = group.map(locationKey);
    if (new Set(groupKeys).size !== groupKeys.length) return single;
  }
  return [...byNumber.entries()]
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([number, group]) => ({ members: group, acquisition, label: [acquisition, `acquisition ${number}`].filter(Boolean).join(' · ') }));
}

const framesOf = (h: ImageHeader) => Array.from({ length: Math.max(h.hasPixelData ? h.frames : 0, 1) }, (_, f) => f);
const acquisitionOf = (h: ImageHeader, frame: number) => h.frameAcquisitions?.[frame] ?? h.acquisition ?? '';

function assembleStack(members: SeriesInput[], stack: number, acquisition: string): AssembledSeries {
  const first = members[0].header;
  const problems: SeriesProblem[] = [];
  const normal = first.orientation ? sliceNormal(first.orientation) : undefined;
  const slices: SliceRef[] = [];
  for (const { file, header } of members) {
    const frames = header.hasPixelData ? header.frames : 0;
    for (let frame = 0; frame < Math.max(frames, 1); frame++) {
      if (acquisitionOf(header, frame) !== acquisition) continue;
      const position = header.framePositions?.[frame] ?? (frame === 0 || frames === 1 ? header.position : undefined);
      slices.push({
        file,
        frame,
        sopInstanceUid: header.sopInstanceUid,
        instanceNumber: header.instanceNumber,
        position,
        location: position && normal ? dot(position, normal) : undefined,
      });
    }
  }
  const multiFrame = members.some((m) => m.header.frames > 1);
  if (members.some((m) => !m.header.hasPixelData)) problems.push({ kind: 'no-pixels', message: `${members.filter((m) => !m.header.hasPixelData).length} object(s) have no Pixel Data` });

  let orderedBy: AssembledSeries['orderedBy'];
  if (slices.every((s) => s.location !== undefined)) {
    orderedBy = 'position';
    slices.sort((a, b) => a.location! - b.location! || a.frame - b.frame);
  } else if (slices.every((s) => s.instanceNumber !== undefined)) {
    orderedBy = 'instance-number';
    slices.sort((a, b) => a.instanceNumber! - b.instanceNumber! || a.frame - b.frame || a.file.localeCompare(b.file));
  } else {
    orderedBy = 'file-name';
    slices.sort((a, b) => a.file.localeCompare(b.file, undefined, { numeric: true }) || a.frame - b.frame);
  }
  if (orderedBy !== 'position' && slices.length > 1) {
    const missing = slices.filter((s) => s.location === undefined).length;
    problems.push({
      kind: 'missing-position',
      message: `${missing} of ${slices.length} slices lack Image Position/Orientation (Patient); ordered by ${orderedBy === 'instance-number' ? 'Instance Number' : 'file name'}`,
    });
  }

  problems.push(...findDuplicates(slices));
  const sliceSpacing = orderedBy === 'position' ? checkSpacing(slices, problems) : undefined;
  if (orderedBy === 'instance-number') problems.push(...instanceNumberGaps(slices));
  const mosaic = members.find((m) => m.header.mosaicImages !== undefined);
  if (mosaic) {
    problems.push({
      kind: 'mosaic',
      message: `Siemens mosaic: each image tiles ${mosaic.header.mosaicImages || 'an unknown number of'} slices; shown and processed as tiled 2-D images`,
    });
  }

  return {
    studyInstanceUid: first.studyInstanceUid,
    seriesInstanceUid: first.seriesInstanceUid,
    stack,
    modality: first.modality,
    rows: first.rows,
    columns: first.columns,
    orientation: first.orientation,
    pixelSpacing: first.pixelSpacing,
    sliceSpacing: sliceSpacing ?? (multiFrame && !first.framePositions ? first.spacingBetweenSlices : undefined),
    orderedBy,
    multiFrame,
    slices,
    problems,
  };
}

function findDuplicates(slices: SliceRef[]): SeriesProblem[] {
  const problems: SeriesProblem[] = [];
  const seen = new Map<string, SliceRef>();
  for (const s of slices) {
    const key = `${s.sopInstanceUid}#${s.frame}`;
    const earlier = seen.get(key);
    if (earlier) problems.push({ kind: 'duplicate', message: `SOP Instance ${s.sopInstanceUid}${s.frame ? ` frame ${s.frame + 1}` : ''} appears twice (${earlier.file} and ${s.file})` });
    else seen.set(key, s);
  }
  for (let i = 1; i < slices.length; i++) {
    const a = slices[i - 1];
    const b = slices[i];
    if (a.location !== undefined && b.location !== undefined && Math.abs(a.location - b.location) < POSITION_TOLERANCE_MM && a.sopInstanceUid !== b.sopInstanceUid) {
      problems.push({ kind: 'duplicate', message: `two slices at the same position ${b.location.toFixed(2)} mm (${a.file} and ${b.file})` });
    }
  }
  return problems;
}

/** Median neighbour distance; gaps (a step ≥ 1.5× the median) and uneven spacing are reported. */
function checkSpacing(slices: SliceRef[], problems: SeriesProblem[]): number | undefined {
  const steps: number[] = [];
  for (let i = 1; i < slices.length; i++) {
    const step = slices[i].location! - slices[i - 1].location!;
    if (step > POSITION_TOLERANCE_MM) steps.push(step);
  }
  if (steps.length === 0) return undefined;
  const spacing = median(steps);
  let uneven = 0;
  for (let i = 1; i < slices.length; i++) {
    const step = slices[i].location! - slices[i - 1].location!;
    if (step <= POSITION_TOLERANCE_MM) continue;
    if (step >= 1.5 * spacing) {
      const missing = Math.round(step / spacing) - 1;
      problems.push({
        kind: 'gap',
        message: `gap of ${step.toFixed(2)} mm between slices at ${slices[i - 1].location!.toFixed(2)} and ${slices[i].location!.toFixed(2)} mm: about ${missing} slice(s) missing (spacing ${spacing.toFixed(2)} mm)`,
      });
    } else if (Math.abs(step - spacing) > Math.max(0.01, 0.05 * spacing)) {
      uneven++;
    }
  }
  if (uneven > 0) problems.push({ kind: 'uneven-spacing', message: `${uneven} step(s) differ from the ${spacing.toFixed(2)} mm spacing by more than 5 %` });
  return spacing;
}

function instanceNumberGaps(slices: SliceRef[]): SeriesProblem[] {
  const numbers = [...new Set(slices.map((s) => s.instanceNumber!))].sort((a, b) => a - b);
  const problems: SeriesProblem[] = [];
  for (let i = 1; i < numbers.length; i++) {
    if (numbers[i] - numbers[i - 1] > 1) {
      problems.push({ kind: 'gap', message: `Instance Numbers jump from ${numbers[i - 1]} to ${numbers[i]}: ${numbers[i] - numbers[i - 1] - 1} slice(s) may be missing` });
    }
  }
  return problems;
}

function geometryKey(h: ImageHeader): string {
  const o = h.orientation ? h.orientation.map((v) => v.toFixed(3)).join(',') : 'none';
  return `${h.rows}x${h.columns}|${o}`;
}

export function sliceNormal(o: NonNullable<ImageHeader['orientation']>): Vec3 {
  const n: Vec3 = [o[1] * o[5] - o[2] * o[4], o[2] * o[3] - o[0] * o[5], o[0] * o[4] - o[1] * o[3]];
  const length = Math.hypot(...n) || 1;
  return [n[0] / length, n[1] / length, n[2] / length];
}

const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
