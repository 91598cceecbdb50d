/**
 * Synthetic phantoms the project generates itself (no patient data): clean CT slices in HU with
 * body, fat, muscle, organs, bone, lungs with vessels, fine low-contrast detail and smooth tissue
 * texture; and MR-like brain slices (magnitude, arbitrary units). Seeded, and varying smoothly
 * with the slice index so a series looks like a volume. Used for training data, the bundled
 * sample study and benchmarks.
 */
import { correlatedField } from './models.js';
import { Rng } from './rng.js';

interface Ellipse { cx: number; cy: number; rx: number; ry: number; angle: number; value: number; soft?: number }

function fillEllipse(img: Float32Array, w: number, h: number, e: Ellipse, mode: 'set' | 'add' = 'set', defaultSoft = 0.6): void {
  const cos = Math.cos(e.angle), sin = Math.sin(e.angle);
  const soft = e.soft ?? defaultSoft; // edge width in pixels: partial-volume like a real scanner
  const r = Math.max(e.rx, e.ry) + 2 + soft;
  for (let y = Math.max(0, Math.floor(e.cy - r)); y < Math.min(h, Math.ceil(e.cy + r)); y++) {
    for (let x = Math.max(0, Math.floor(e.cx - r)); x < Math.min(w, Math.ceil(e.cx + r)); x++) {
      const dx = x - e.cx, dy = y - e.cy;
      const u = (dx * cos + dy * sin) / e.rx, v = (-dx * sin + dy * cos) / e.ry;
      const d = (Math.sqrt(u * u + v * v) - 1) * Math.min(e.rx, e.ry); // ≈ signed distance in pixels
      const a = Math.min(1, Math.max(0, 0.5 - d / (2 * soft)));
      if (a <= 0) continue;
      const i = y * w + x;
      img[i] = mode === 'add' ? img[i]! + a * e.value : img[i]! * (1 - a) + a * e.value;
    }
  }
}

export interface CtPhantomOptions {
  /**
   * 'detailed' (training data): texture whose strength depends on the tissue (a few HU in brain,
   * tens in lung), vessels as curved tubes, trabecular bone, and an edge sharpness drawn per
   * series (reconstruction kernels and slice thickness differ). 'simple' is the original phantom,
   * kept for the bundled sample and the tests that compare against it.
   */
  anatomy?: 'simple' | 'detailed';
}

/** A vessel: a smooth random curve of overlapping discs, thinning along its length. */
function addVessel(img: Float32Array, w: number, h: number, rng: Rng, start: { x: number; y: number }, bounds: Ellipse, value: number, s: number, soft: number): void {
  let { x, y } = start;
  let angle = rng.next() * 2 * Math.PI;
  let radius = (1 + 2.5 * rng.next()) * s;
  for (let step = 0; step < 80 && radius > 0.5 * s; step++) {
    const u = (x - bounds.cx) / bounds.rx, v = (y - bounds.cy) / bounds.ry;
    if (u * u + v * v > 1) break;
    fillEllipse(img, w, h, { cx: x, cy: y, rx: radius, ry: radius, angle: 0, value }, 'set', soft);
    angle += (rng.next() - 0.5) * 0.6;
    const stride = Math.max(0.6, radius); // overlapping discs: a tube, not beads
    x += Math.cos(angle) * stride; y += Math.sin(angle) * stride;
    radius *= 0.985;
  }
}

/** Texture amplitude (HU) by tissue: flat brain, some organ texture, strongly textured lung. */
function textureAmplitude(hu: number, kind: 'abdomen' | 'chest' | 'head'): number {
  if (hu < -950) return 0;
  if (hu < -500) return 35; // lung parenchyma
  if (hu < -30) return 8; // fat
  if (hu < 150) return kind === 'head' ? 2.5 : 5; // soft tissue, brain
  return 0; // bone gets its own structure
}

/** A CT-like slice of a body (kind 'abdomen' | 'chest' | 'head'), in HU. */
export function ctPhantomSlice(size: number, index: number, count: number, seed: number, kind: 'abdomen' | 'chest' | 'head' = 'abdomen', options: CtPhantomOptions = {}): Float32Array {
  const w = size, h = size, s = size / 512;
  const img = new Float32Array(w * h).fill(-1000);
  const rng = new Rng(seed * 7919 + 13);
  const detailed = options.anatomy === 'detailed';
  // Edge width per series: sharp bone kernels and thin slices (0.4 px) to soft kernels and thick slices (1.6 px).
  const soft = detailed ? 0.4 + 1.2 * new Rng(seed * 97 + 5).next() : 0.6;
  const fill = (e: Ellipse, mode: 'set' | 'add' = 'set') => fillEllipse(img, w, h, e, mode, soft);
  const t = count > 1 ? index / (count - 1) : 0.5;
  const c = size / 2;
  const wobble = (a: number, f: number) => 1 + a * Math.sin(2 * Math.PI * (f * t + rng.next()));
  if (kind === 'head') {
    const rx = 170 * s * wobble(0.05, 0.7), ry = 210 * s * wobble(0.05, 0.7);
    fill({ cx: c, cy: c, rx: rx + 10 * s, ry: ry + 10 * s, angle: 0, value: 30 }); // scalp
    fill({ cx: c, cy: c, rx, ry, angle: 0, value: 1400 }); // skull
    fill({ cx: c, cy: c, rx: rx - 9 * s, ry: ry - 9 * s, angle: 0, value: 35 }); // grey matter
    fill({ cx: c, cy: c, rx: rx - 40 * s, ry: ry - 45 * s, angle: 0, value: 27 }); // white matter
    fill({ cx: c - 25 * s, cy: c - 10 * s, rx: 10 * s, ry: 45 * s * wobble(0.2, 1), angle: 0.15, value: 8 }); // ventricles
    fill({ cx: c + 25 * s, cy: c - 10 * s, rx: 10 * s, ry: 45 * s * wobble(0.2, 1), angle: -0.15, value: 8 });
  } else {
    const rx = 220 * s * wobble(0.04, 0.5), ry = 160 * s * wobble(0.04, 0.5);
    fill({ cx: c, cy: c, rx, ry, angle: 0, value: -100 }); // subcutaneous fat
    fill({ cx: c, cy: c, rx: rx - 18 * s, ry: ry - 16 * s, angle: 0, value: 45 }); // muscle wall
    fill({ cx: c, cy: c, rx: rx - 30 * s, ry: ry - 28 * s, angle: 0, value: kind === 'chest' ? 40 : -60 }); // cavity (visceral fat)
    fill({ cx: c, cy: c + 95 * s, rx: 26 * s, ry: 22 * s, angle: 0, value: 700 }); // vertebral body
    fill({ cx: c, cy: c + 95 * s, rx: 18 * s, ry: 15 * s, angle: 0, value: 250 }); // cancellous bone
    fill({ cx: c, cy: c + 125 * s, rx: 8 * s, ry: 12 * s, angle: 0, value: 1000 }); // spinous process
    if (kind === 'chest') {
      for (const side of [-1, 1]) {
        fill({ cx: c + side * 95 * s, cy: c - 5 * s, rx: 75 * s * wobble(0.1, 0.8), ry: 100 * s, angle: side * 0.2, value: -850 });
        for (let k = 0; k < 40; k++) { // vessels and bronchi: small dots of various sizes
          const a = rng.next() * 2 * Math.PI, r = Math.sqrt(rng.next()) * 65 * s;
          fill({ cx: c + side * 95 * s + r * Math.cos(a), cy: c - 5 * s + 1.4 * r * Math.sin(a), rx: (1 + 3 * rng.next()) * s, ry: (1 + 3 * rng.next()) * s, angle: 0, value: rng.next() < 0.8 ? 40 : -950 });
        }
      }
      fill({ cx: c, cy: c - 20 * s, rx: 50 * s, ry: 45 * s, angle: 0.3, value: 45 }); // heart
      fill({ cx: c + 15 * s, cy: c + 40 * s, rx: 14 * s, ry: 14 * s, angle: 0, value: 180 }); // aorta (contrast)
    } else {
      fill({ cx: c - 70 * s, cy: c - 20 * s, rx: 90 * s * wobble(0.15, 0.6), ry: 70 * s, angle: 0.3, value: 60 }); // liver
      fill({ cx: c + 90 * s, cy: c - 10 * s, rx: 40 * s, ry: 30 * s * wobble(0.3, 1.3), angle: -0.4, value: 50 }); // spleen
      for (const side of [-1, 1]) fill({ cx: c + side * 70 * s, cy: c + 70 * s, rx: 22 * s * wobble(0.3, 1.1), ry: 32 * s, angle: side * 0.5, value: 150 }); // kidneys
      fill({ cx: c + 18 * s, cy: c + 62 * s, rx: 11 * s, ry: 11 * s, angle: 0, value: 180 }); // aorta
      fill({ cx: c - 18 * s, cy: c + 60 * s, rx: 12 * s, ry: 10 * s, angle: 0, value: 130 }); // vena cava
      fill({ cx: c + 30 * s, cy: c - 60 * s, rx: 30 * s, ry: 18 * s, angle: 0.2, value: -1000 }); // bowel gas
      for (let k = 0; k < 6; k++) { // liver lesions: low contrast detail of various sizes
        fill({ cx: c - 70 * s + (rng.next() - 0.5) * 100 * s, cy: c - 20 * s + (rng.next() - 0.5) * 70 * s, rx: (2 + 8 * rng.next()) * s, ry: (2 + 8 * rng.next()) * s, angle: 0, value: rng.next() < 0.5 ? 35 : 90 });
      }
    }
  }
  if (detailed) addDetail(img, w, h, s, c, kind, seed, index, soft);
  // Smooth tissue texture everywhere but air (±8 HU, or by tissue when detailed); the same
  // texture drifts slowly through slices.
  const texture = correlatedField(w, h, 3 * s + 0.5, new Rng(seed * 31 + Math.floor(index / 3)));
  for (let i = 0; i < img.length; i++) {
    if (detailed) img[i]! += textureAmplitude(img[i]!, kind) * texture[i]!;
    else if (img[i]! > -900) img[i]! += 8 * texture[i]!;
  }
  // Fine high-contrast detail: a row of small dots (resolution-like) and thin lines.
  for (let k = 0; k < 8; k++) fill({ cx: c - 60 * s + k * 15 * s, cy: c + 20 * s, rx: (0.8 + k * 0.4) * s, ry: (0.8 + k * 0.4) * s, angle: 0, value: 300, soft: 0.5 });
  return img;
}

/** Vessels, trabecular bone and (in the head) sulci: what real slices have and ellipses do not. */
function addDetail(img: Float32Array, w: number, h: number, s: number, c: number, kind: 'abdomen' | 'chest' | 'head', seed: number, index: number, soft: number): void {
  const rng = new Rng(seed * 613 + Math.floor(index / 2)); // vessels drift through neighbouring slices
  if (kind === 'head') {
    const brain: Ellipse = { cx: c, cy: c, rx: 150 * s, ry: 190 * s, angle: 0, value: 0 };
    for (let k = 0; k < 14; k++) { // sulci: thin CSF lines reaching in from the cortex
      const a = rng.next() * 2 * Math.PI;
      addVessel(img, w, h, rng, { x: c + 0.92 * brain.rx * Math.cos(a), y: c + 0.92 * brain.ry * Math.sin(a) }, brain, 10, 0.6 * s, soft);
    }
    for (let k = 0; k < 4; k++) addVessel(img, w, h, rng, { x: c + (rng.next() - 0.5) * 160 * s, y: c + (rng.next() - 0.5) * 200 * s }, brain, 18, 0.8 * s, soft); // small calcified or dense vessels
  } else {
    const organ: Ellipse = kind === 'chest'
      ? { cx: c, cy: c - 5 * s, rx: 175 * s, ry: 100 * s, angle: 0, value: 0 }
      : { cx: c - 70 * s, cy: c - 20 * s, rx: 85 * s, ry: 65 * s, angle: 0.3, value: 0 };
    for (let k = 0; k < (kind === 'chest' ? 24 : 12); k++) {
      const a = rng.next() * 2 * Math.PI, r = Math.sqrt(rng.next());
      const start = { x: organ.cx + r * organ.rx * Math.cos(a), y: organ.cy + r * organ.ry * Math.sin(a) };
      // Lung vessels are only tissue-bright where they lie in lung; liver vessels are enhanced.
      addVessel(img, w, h, rng, start, organ, kind === 'chest' ? 35 : 150 + 60 * rng.next(), s, soft);
    }
  }
  // Trabecular bone: a fine random lattice inside the cancellous bone (the 250 HU vertebral body).
  const lattice = correlatedField(w, h, 1.1 * s + 0.3, new Rng(seed * 41 + index));
  for (let i = 0; i < img.length; i++) if (Math.abs(img[i]! - 250) < 5) img[i]! += lattice[i]! > 0.4 ? 350 : -60;
}

/** An MR-like brain slice (magnitude, 0..~1000), smooth in z. */
export function mrPhantomSlice(size: number, index: number, count: number, seed: number): Float32Array {
  const w = size, h = size, s = size / 256;
  const img = new Float32Array(w * h);
  const rng = new Rng(seed * 104729 + 7);
  const t = count > 1 ? index / (count - 1) : 0.5;
  const c = size / 2;
  const scale = 0.8 + 0.2 * Math.sin(Math.PI * t);
  fillEllipse(img, w, h, { cx: c, cy: c, rx: 95 * s * scale, ry: 115 * s * scale, angle: 0, value: 850 }); // scalp fat
  fillEllipse(img, w, h, { cx: c, cy: c, rx: 88 * s * scale, ry: 108 * s * scale, angle: 0, value: 60 }); // skull (dark)
  fillEllipse(img, w, h, { cx: c, cy: c, rx: 82 * s * scale, ry: 102 * s * scale, angle: 0, value: 900 }); // CSF rim (T2-like bright)
  fillEllipse(img, w, h, { cx: c, cy: c, rx: 78 * s * scale, ry: 98 * s * scale, angle: 0, value: 620 }); // grey matter
  fillEllipse(img, w, h, { cx: c, cy: c, rx: 58 * s * scale, ry: 76 * s * scale, angle: 0, value: 480 }); // white matter
  for (const side of [-1, 1]) fillEllipse(img, w, h, { cx: c + side * 14 * s, cy: c - 8 * s, rx: 6 * s * scale, ry: 26 * s * scale * (0.7 + 0.6 * t), angle: side * 0.2, value: 950 }); // ventricles
  for (let k = 0; k < 25; k++) { // sulci: thin bright lines near the cortex
    const a = rng.next() * 2 * Math.PI;
    fillEllipse(img, w, h, { cx: c + 70 * s * scale * Math.cos(a), cy: c + 90 * s * scale * Math.sin(a), rx: 1.2 * s, ry: 8 * s, angle: a + Math.PI / 2, value: 900, soft: 0.5 });
  }
  for (let k = 0; k < 5; k++) fillEllipse(img, w, h, { cx: c + (rng.next() - 0.5) * 80 * s, cy: c + (rng.next() - 0.5) * 100 * s, rx: (2 + 5 * rng.next()) * s, ry: (2 + 5 * rng.next()) * s, angle: 0, value: 700 }); // lesions
  const texture = correlatedField(w, h, 2 * s + 0.5, new Rng(seed * 17 + Math.floor(index / 2)));
  const bias = correlatedField(w, h, 40 * s, new Rng(seed * 19)); // coil sensitivity: smooth intensity bias
  for (let i = 0; i < img.length; i++) if (img[i]! > 100) img[i] = img[i]! * (1 + 0.08 * bias[i]!) + 15 * texture[i]!;
  return img;
}
