/**
 * Whole slices of any size through a model in overlapping tiles, with seams that cannot show:
 * each tile's output is trusted only where its receptive field lay inside the tile (a `margin`
 * is discarded at inner edges), and neighbouring tiles cross-fade over a further `blend` band.
 * For a convolutional model the tiled result therefore equals the untiled one up to float error.
 */
import * as tf from '@tensorflow/tfjs';
import type { TilingNeeds } from './architectures.js';
import { noiseLevelMaps } from './noise-level-input.js';

export interface TilingOptions extends TilingNeeds {
  /** Largest tile side; an image that fits is run in one pass. */
  tile: number;
  /** Cross-fade width between tiles, beyond the margin. */
  blend?: number;
  /** Tiles per predict call. */
  batch?: number;
  /** Noise-level models: each image's levels (noise-level-input.ts), given to every tile of it. */
  levels?: Float32Array[];
}

/** Replicates the last row/column so the size becomes a multiple of `align`. */
function padToMultiple(values: Float32Array, width: number, height: number, align: number) {
  const w = Math.ceil(width / align) * align, h = Math.ceil(height / align) * align;
  if (w === width && h === height) return { values, width: w, height: h };
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(y, height - 1);
    for (let x = 0; x < w; x++) out[y * w + x] = values[sy * width + Math.min(x, width - 1)]!;
  }
  return { values: out, width: w, height: h };
}

/** Tile origins along one axis: stride `step`, last tile flush with the end. */
function origins(length: number, tile: number, step: number, align: number): number[] {
  if (length <= tile) return [0];
  const out: number[] = [];
  for (let o = 0; o + tile < length; o += step) out.push(o);
  out.push(Math.floor((length - tile) / align) * align);
  return [...new Set(out)];
}

/** 1-D weights of a tile: 0 in the margin at inner edges, a linear ramp over `blend`, then 1. */
function edgeWeights(size: number, start: number, end: number, total: number, margin: number, blend: number): Float32Array {
  const w = new Float32Array(size).fill(1);
  const atStart = start === 0, atEnd = end === total;
  for (let i = 0; i < size; i++) {
    let v = 1;
    if (!atStart) v = Math.min(v, ramp(i, margin, blend));
    if (!atEnd) v = Math.min(v, ramp(size - 1 - i, margin, blend));
    w[i] = v;
  }
  return w;
}

function ramp(distance: number, margin: number, blend: number): number {
  if (distance < margin) return 0;
  return blend > 0 ? Math.min(1, (distance - margin + 1) / (blend + 1)) : 1;
}

/**
 * Runs `model` over a normalised slice and returns the normalised output.
 * Tensors are created per batch of tiles and disposed before returning.
 */
export async function predictTiled(model: tf.LayersModel, values: Float32Array, width: number, height: number,
  options: TilingOptions): Promise<Float32Array> {
  return (await predictTiledMany(model, [values], width, height, options))[0]!;
}

/**
 * Several slices of one size through `model`: their tiles share batches (on a GPU one dispatch
 * chain serves several slices), and each batch is submitted before the previous one is read
 * back, so the device works while the readback of the last batch waits. On the CPU backends
 * predict runs synchronously and this is the plain loop.
 */
export async function predictTiledMany(model: tf.LayersModel, images: Float32Array[], width: number, height: number,
  options: TilingOptions): Promise<Float32Array[]> {
  const { margin, align } = options;
  const tile = options.fixedSize ?? Math.max(align, Math.floor(options.tile / align) * align);
  const blend = options.blend ?? (options.fixedSize ? Math.floor(options.fixedSize / 4) : 16);
  const batch = options.batch ?? 4;
  // Dense models need exactly their patch size: pad small images up to it.
  const padAlign = options.fixedSize ? 1 : align;
  const padOne = (values: Float32Array) => {
    let padded = padToMultiple(values, width, height, padAlign);
    if (options.fixedSize && (padded.width < tile || padded.height < tile)) padded = padToMultiple(values, width, height, tile);
    return padded;
  };
  const padded = images.map(padOne);
  const W = padded[0]!.width, H = padded[0]!.height;
  const tw = Math.min(tile, W), th = Math.min(tile, H);
  if (options.fixedSize && (tw !== tile || th !== tile)) throw new Error('tiling: image smaller than the model patch');
  if (tile <= 2 * margin + blend && (W > tile || H > tile)) {
    throw new Error(`tiling: tile ${tile} is too small for a margin of ${margin} pixels; use a larger tile`);
  }
  const stepOf = (t: number) => Math.max(padAlign, Math.floor((t - 2 * margin - blend) / padAlign) * padAlign);
  const xs = origins(W, tw, stepOf(tw), padAlign), ys = origins(H, th, stepOf(th), padAlign);
  const acc = padded.map(() => new Float32Array(W * H)), wsum = padded.map(() => new Float32Array(W * H));
  const jobs = padded.flatMap((_, image) => ys.flatMap((y0) => xs.map((x0) => ({ image, x0, y0 }))));
  const submit = (start: number) => {
    const group = jobs.slice(start, start + batch);
    const input = new Float32Array(group.length * tw * th);
    group.forEach(({ image, x0, y0 }, k) => {
      const src = padded[image]!.values;
      for (let y = 0; y < th; y++) input.set(src.subarray((y0 + y) * W + x0, (y0 + y) * W + x0 + tw), (k * th + y) * tw);
    });
    const levels = options.levels && Float32Array.from(group.flatMap(({ image }) => [...options.levels![image]!]));
    return { group, output: tf.tidy(() => {
      const x = tf.tensor4d(input, [group.length, th, tw, 1]);
      return model.predict(levels ? [x, noiseLevelMaps(levels, group.length, th, tw)] : x) as tf.Tensor;
    }) };
  };
  let inFlight = jobs.length ? submit(0) : undefined;
  for (let start = 0; inFlight; start += batch) {
    const { group, output } = inFlight;
    inFlight = start + batch < jobs.length ? submit(start + batch) : undefined;
    let result: Float32Array;
    try { result = await output.data() as Float32Array; } finally { output.dispose(); }
    group.forEach(({ image, x0, y0 }, k) => {
      const wx = edgeWeights(tw, x0, x0 + tw, W, margin, blend);
      const wy = edgeWeights(th, y0, y0 + th, H, margin, blend);
      const a = acc[image]!, s = wsum[image]!;
      for (let y = 0; y < th; y++) {
        for (let x = 0; x < tw; x++) {
          const w = wy[y]! * wx[x]!;
          if (w === 0) continue;
          const i = (y0 + y) * W + x0 + x;
          a[i]! += w * result[(k * th + y) * tw + x]!;
          s[i]! += w;
        }
      }
    });
  }
  return padded.map((p, image) => {
    const out = new Float32Array(width * height);
    const a = acc[image]!, s = wsum[image]!;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * W + x;
        out[y * width + x] = s[i]! > 0 ? a[i]! / s[i]! : p.values[i]!;
      }
    }
    return out;
  });
}
