/**
 * Slices as cornerstone images. cornerstone-core draws integer pixel data through a lookup
 * table, so physical values are rounded into Int32 for display; readouts (HU under the cursor,
 * ROI statistics) use the float slices the viewer keeps.
 */
import * as cornerstone from 'cornerstone-core';
import type { Slice } from './types';

export function toImage(imageId: string, slice: Slice, defaultWindow: { center: number; width: number }): cornerstone.Image {
  if (slice.rgb) return colourImage(imageId, slice, slice.rgb);
  const pixels = new Int32Array(slice.values.length);
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    const v = Math.round(slice.values[i]!);
    pixels[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const w = slice.window ?? defaultWindow;
  return {
    imageId, minPixelValue: min, maxPixelValue: max === min ? min + 1 : max, slope: 1, intercept: 0,
    windowCenter: w.center, windowWidth: w.width, getPixelData: () => pixels,
    rows: slice.height, columns: slice.width, height: slice.height, width: slice.width, color: false,
    columnPixelSpacing: slice.pixelSpacing?.[1] ?? 1, rowPixelSpacing: slice.pixelSpacing?.[0] ?? 1, sizeInBytes: pixels.byteLength,
  };
}

/** Signed difference denoised − original, shown with its own blue–black–red colour map. */
export function differenceSlice(a: Slice, b: Slice): Slice {
  const values = new Float32Array(a.values.length);
  for (let i = 0; i < values.length; i++) values[i] = b.values[i]! - a.values[i]!;
  return { ...a, values, window: undefined };
}

let diffMap: unknown;
export function differenceColormap(): unknown {
  if (!diffMap) {
    const colors: number[][] = [];
    for (let i = 0; i < 256; i++) {
      const t = i / 255 * 2 - 1; // −1 … 1: zero is black (dark theme), removed signal blue, added red
      const r = t > 0 ? Math.round(255 * Math.sqrt(t)) : 0, b = t < 0 ? Math.round(255 * Math.sqrt(-t)) : 0;
      colors.push([r, Math.round(60 * Math.abs(t)), b, 255]);
    }
    diffMap = cornerstone.colors.getColormap('denoise-difference', { name: 'Difference', numColors: 256, colors });
  }
  return diffMap;
}

/** A colour slice as cornerstone's RGBA image (drawn as stored, window 255/127.5). */
function colourImage(imageId: string, slice: Slice, rgb: Uint8Array): cornerstone.Image {
  const rgba = new Uint8Array(slice.width * slice.height * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) { rgba[j] = rgb[i]!; rgba[j + 1] = rgb[i + 1]!; rgba[j + 2] = rgb[i + 2]!; rgba[j + 3] = 255; }
  return {
    imageId, minPixelValue: 0, maxPixelValue: 255, slope: 1, intercept: 0, windowCenter: 127.5, windowWidth: 255,
    getPixelData: () => rgba as unknown as Int32Array, rows: slice.height, columns: slice.width, height: slice.height, width: slice.width,
    color: true, columnPixelSpacing: slice.pixelSpacing?.[1] ?? 1, rowPixelSpacing: slice.pixelSpacing?.[0] ?? 1, sizeInBytes: rgba.byteLength,
  };
}
