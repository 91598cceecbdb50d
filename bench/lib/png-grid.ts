/** Writes greyscale panels side by side as one PNG (pngjs), for looking at results by eye. */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

export interface Panel {
  values: Float32Array;
  width: number;
  height: number;
  /** Display window in image units. */
  window: { center: number; width: number };
  /** Signed difference map: mid-grey is zero. */
  label?: string;
}

export function writePanels(file: string, panels: Panel[], gap = 4): void {
  const width = panels.reduce((a, p) => a + p.width, 0) + gap * (panels.length - 1);
  const height = Math.max(...panels.map((p) => p.height));
  const png = new PNG({ width, height });
  png.data.fill(0);
  let x0 = 0;
  for (const p of panels) {
    const lo = p.window.center - p.window.width / 2;
    for (let y = 0; y < p.height; y++) {
      for (let x = 0; x < p.width; x++) {
        const g = Math.max(0, Math.min(255, Math.round(((p.values[y * p.width + x]! - lo) / p.window.width) * 255)));
        const i = 4 * (y * width + x0 + x);
        png.data[i] = png.data[i + 1] = png.data[i + 2] = g;
        png.data[i + 3] = 255;
      }
    }
    x0 += p.width + gap;
  }
  writeFileSync(file, PNG.sync.write(png));
}
