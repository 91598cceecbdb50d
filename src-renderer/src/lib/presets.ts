/** Window/level presets (width / centre, HU) and the MR automatic window. */
export const CT_PRESETS = [
  { key: '1', name: 'Brain', width: 80, center: 40 },
  { key: '2', name: 'Soft tissue', width: 400, center: 40 },
  { key: '3', name: 'Lung', width: 1500, center: -600 },
  { key: '4', name: 'Bone', width: 2500, center: 480 },
] as const;

/** MR: 1st–99th percentile of the slice. */
export function autoWindow(values: Float32Array): { center: number; width: number } {
  const sample = Float32Array.from({ length: Math.min(values.length, 20000) }, (_, i) => values[Math.floor((i * values.length) / Math.min(values.length, 20000))]!).sort();
  const lo = sample[Math.floor(sample.length * 0.01)]!, hi = sample[Math.floor(sample.length * 0.99)]!;
  return { center: (lo + hi) / 2, width: Math.max(1, hi - lo) };
}
