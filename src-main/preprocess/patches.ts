/**
 * Training patches: random crops with the eight flips/rotations of the square, skipping patches
 * that are mostly padding or air, and a validation split made by series so that no validation
 * patch shares a slice (or a patient's series) with a training patch.
 */

/** Any seeded generator (the noise layer's Rng fits); preprocessing owns no randomness itself. */
export interface RandomSource {
  next(): number;
  int(n: number): number;
}

export interface TrainingSlice {
  /** Normalised values, row-major. */
  values: Float32Array;
  width: number;
  height: number;
  /** 1 where the pixel was imputed or is invalid: excluded from losses. */
  mask: Uint8Array;
  /** Identifies the series the slice came from (for the split). */
  seriesId: string;
  /** Position in its series, for neighbouring-slice pairs. */
  sliceIndex: number;
  /** This slice's own air level in its normalised units (else `PatchOptions.airLevel`). */
  airLevel?: number;
}

export interface PatchOptions {
  size: number;
  /** Apply a random one of the 8 dihedral transforms. */
  augment: boolean;
  /** Skip patches where more than this fraction is masked or at or below `airLevel`. */
  maxEmptyFraction: number;
  /** Normalised value at or below which a pixel counts as air/background. */
  airLevel: number;
  /** Attempts per patch before accepting an empty-ish one (keeps tiny datasets usable). */
  maxAttempts?: number;
}

export interface Patch {
  values: Float32Array;
  mask: Uint8Array;
  /** Top-left corner and transform, so a paired slice can be cropped the same way. */
  x: number;
  y: number;
  transform: number;
  slice: TrainingSlice;
}

/** Copies a size×size crop at (x0, y0) through dihedral transform t (0..7). */
export function cropTransformed<T extends Float32Array | Uint8Array>(src: T, width: number, x0: number, y0: number,
  size: number, t: number, out: T): T {
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // t bit 0: transpose, bit 1: flip x, bit 2: flip y → all 8 symmetries of the square.
      let u = t & 1 ? y : x;
      let v = t & 1 ? x : y;
      if (t & 2) u = size - 1 - u;
      if (t & 4) v = size - 1 - v;
      out[y * size + x] = src[(y0 + v) * width + (x0 + u)]!;
    }
  }
  return out;
}

function emptyFraction(values: Float32Array, mask: Uint8Array, airLevel: number): number {
  let empty = 0;
  for (let i = 0; i < values.length; i++) if (mask[i] || values[i]! <= airLevel) empty++;
  return empty / values.length;
}

export function samplePatch(slices: TrainingSlice[], options: PatchOptions, rng: RandomSource): Patch {
  const { size } = options;
  const usable = slices.filter((s) => s.width >= size && s.height >= size);
  if (usable.length === 0) throw new Error(`patch sampling: no slice is at least ${size}×${size}`);
  const attempts = options.maxAttempts ?? 20;
  let patch: Patch | undefined;
  for (let a = 0; a < attempts; a++) {
    const slice = usable[rng.int(usable.length)]!;
    const x = rng.int(slice.width - size + 1);
    const y = rng.int(slice.height - size + 1);
    const transform = options.augment ? rng.int(8) : 0;
    const values = cropTransformed(slice.values, slice.width, x, y, size, transform, new Float32Array(size * size));
    const mask = cropTransformed(slice.mask, slice.width, x, y, size, transform, new Uint8Array(size * size));
    patch = { values, mask, x, y, transform, slice };
    if (emptyFraction(values, mask, slice.airLevel ?? options.airLevel) <= options.maxEmptyFraction) return patch;
  }
  return patch!;
}

/**
 * Splits series ids into training and validation sets. With one series there is nothing to hold
 * out: the split is then by slice ranges (top vs bottom of the volume), never by patches.
 */
export function splitBySeries(seriesIds: string[], validationFraction: number, rng: RandomSource):
  { train: Set<string>; validation: Set<string> } {
  const unique = [...new Set(seriesIds)].sort();
  for (let i = unique.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [unique[i], unique[j]] = [unique[j]!, unique[i]!];
  }
  const nVal = unique.length < 2 || validationFraction <= 0 ? 0
    : Math.min(unique.length - 1, Math.max(1, Math.round(unique.length * validationFraction)));
  return { validation: new Set(unique.slice(0, nVal)), train: new Set(unique.slice(nVal)) };
}
