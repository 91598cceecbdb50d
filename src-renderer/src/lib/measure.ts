/**
 * The viewer's geometry, as pure functions (tested in Node): region statistics for rectangle and
 * ellipse ROIs, areas and lengths in mm, orientation markers from Image Orientation (Patient), and
 * a scale bar of a round length. Coordinates are image pixels (x: column, y: row, pixel centres at
 * integer + 0.5).
 */
export type ShapeKind = 'rect' | 'ellipse' | 'length';
export interface Shape { id: number; kind: ShapeKind; x0: number; y0: number; x1: number; y1: number }
export interface RegionStats { n: number; mean: number; std: number; min: number; max: number }
interface Plane { values: Float32Array; width: number; height: number }

/** Pixels whose centres lie inside the rectangle or the inscribed ellipse. */
export function regionStats(slice: Plane, shape: Shape): RegionStats | undefined {
  if (shape.kind === 'length') return undefined;
  const left = Math.min(shape.x0, shape.x1), right = Math.max(shape.x0, shape.x1);
  const top = Math.min(shape.y0, shape.y1), bottom = Math.max(shape.y0, shape.y1);
  const cx = (left + right) / 2, cy = (top + bottom) / 2, rx = (right - left) / 2, ry = (bottom - top) / 2;
  let n = 0, sum = 0, sq = 0, min = Infinity, max = -Infinity;
  for (let y = Math.max(0, Math.floor(top)); y < Math.min(slice.height, Math.ceil(bottom)); y++) {
    for (let x = Math.max(0, Math.floor(left)); x < Math.min(slice.width, Math.ceil(right)); x++) {
      const px = x + 0.5, py = y + 0.5;
      if (px < left || px > right || py < top || py > bottom) continue;
      if (shape.kind === 'ellipse' && (rx === 0 || ry === 0 || ((px - cx) / rx) ** 2 + ((py - cy) / ry) ** 2 > 1)) continue;
      const v = slice.values[y * slice.width + x]!;
      n++; sum += v; sq += v * v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!n) return undefined;
  const mean = sum / n;
  return { n, mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)), min, max };
}

/** Area of a rectangle or ellipse in mm² (pixel spacing: row, column), or in pixels without it. */
export function shapeArea(shape: Shape, spacing?: [number, number]): { value: number; unit: 'mm²' | 'px²' } {
  const w = Math.abs(shape.x1 - shape.x0), h = Math.abs(shape.y1 - shape.y0);
  const px = shape.kind === 'ellipse' ? (Math.PI * w * h) / 4 : w * h;
  return spacing ? { value: px * spacing[0] * spacing[1], unit: 'mm²' } : { value: px, unit: 'px²' };
}

export function shapeLength(shape: Shape, spacing?: [number, number]): { value: number; unit: 'mm' | 'px' } {
  const dx = (shape.x1 - shape.x0) * (spacing?.[1] ?? 1), dy = (shape.y1 - shape.y0) * (spacing?.[0] ?? 1);
  return { value: Math.hypot(dx, dy), unit: spacing ? 'mm' : 'px' };
}

/** The patient direction a vector points to (LPS: +x left, +y posterior, +z head), strongest first. */
export function directionLabel(v: readonly number[]): string {
  const letters: [string, string][] = [['L', 'R'], ['P', 'A'], ['H', 'F']];
  return [0, 1, 2]
    .filter((i) => Math.abs(v[i]!) > 0.25)
    .sort((a, b) => Math.abs(v[b]!) - Math.abs(v[a]!))
    .map((i) => letters[i]![v[i]! > 0 ? 0 : 1])
    .join('');
}

/** Labels for the four image edges from Image Orientation (Patient): row then column cosines. */
export function orientationMarkers(iop?: readonly number[]): { left: string; right: string; top: string; bottom: string } | undefined {
  if (!iop || iop.length !== 6 || iop.some((v) => !Number.isFinite(v))) return undefined;
  const row = iop.slice(0, 3), col = iop.slice(3, 6);
  const neg = (v: number[]) => v.map((x) => -x);
  return { right: directionLabel(row), left: directionLabel(neg(row)), bottom: directionLabel(col), top: directionLabel(neg(col)) };
}

/** A scale bar of a round length about a quarter of the view wide: its length in mm and on screen. */
export function scaleBar(screenPxPerMm: number, viewWidthPx: number): { mm: number; px: number } | undefined {
  if (!(screenPxPerMm > 0) || !(viewWidthPx > 0)) return undefined;
  const target = viewWidthPx / 4 / screenPxPerMm;
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500];
  const mm = steps.reduce((best, s) => (Math.abs(Math.log(s / target)) < Math.abs(Math.log(best / target)) ? s : best), steps[0]!);
  return { mm, px: mm * screenPxPerMm };
}

/** Units of a slice's values: HU for CT only; other modalities show their stored units. */
export function unitOf(modality: string | undefined): string {
  return modality === 'CT' ? 'HU' : '';
}
