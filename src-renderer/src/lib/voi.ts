/**
 * VOI LUT functions of PS3.3 C.11.2.1.2 as lookup tables cornerstone can draw through: LINEAR is
 * cornerstone's own window; LINEAR_EXACT and SIGMOID are tabulated over the image's value range
 * for the current window. Output 0–255.
 */
export interface Lut { firstValueMapped: number; lut: number[] }

export function voiFunctionLut(fn: 'LINEAR_EXACT' | 'SIGMOID', center: number, width: number, min: number, max: number): Lut {
  const lo = Math.floor(min), hi = Math.ceil(max);
  const w = Math.max(width, fn === 'SIGMOID' ? 1e-6 : 1e-6);
  const lut = new Array<number>(Math.max(1, hi - lo + 1));
  for (let i = 0; i < lut.length; i++) {
    const x = lo + i;
    const y = fn === 'SIGMOID'
      ? 255 / (1 + Math.exp((-4 * (x - center)) / w))
      : ((x - center) / w + 0.5) * 255;
    lut[i] = Math.round(Math.min(255, Math.max(0, y)));
  }
  return { firstValueMapped: lo, lut };
}
