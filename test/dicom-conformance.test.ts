/**
 * Derived series that validate: a derived copy of every greyscale image series in test/fixtures
 * is checked with dicom3tools' dciodvfy, and may report no error its source did not already have.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { writeDerivedSeries } from '../src-main/dicom/write.js';
import { readDicomImage } from '../src-main/dicom/read.js';
import { frameOf } from '../src-main/dicom/pixels.js';
import { findSeries } from '../src-main/jobs/series-source.js';
import { dciodvfyErrors, FIXTURES, HAS_DCIODVFY, tempDir } from './helpers.js';


test('a derived copy of every greyscale fixture series adds no dciodvfy error to its source\'s', { skip: HAS_DCIODVFY ? false : 'dicom3tools is not installed' }, async () => {
  const { series } = await findSeries(FIXTURES);
  const work = tempDir();
  const report: string[] = [];
  let checked = 0;
  try {
    for (const [k, s] of series.entries()) {
      // A source whose pixels cannot be decoded cannot be denoised either (its reader test says why).
      const first = await readDicomImage(s.slices[0]!.file).catch(() => undefined);
      if (!first) continue;
      // Colour is excluded, and so are 1-bit objects (segmentations): neither is denoised.
      if (first.samplesPerPixel !== 1 || !first.photometric.startsWith('MONOCHROME') || first.header.bitsAllocated === 1) continue;
      // Files whose pixels decode (a truncated copy beside its intact original is left out).
      const decoded = await Promise.all([...new Set(s.slices.map((x) => x.file))].map((file) => readDicomImage(file).then((image) => ({ file, image }), () => undefined)));
      const readable = decoded.filter((d): d is NonNullable<typeof d> => Boolean(d));
      const files = readable.map((d) => d.file);
      const images = readable.map(({ file, image }) => {
        const frames = Array.from({ length: image.frames }, (_, f) => frameOf(image, f));
        const values = new Float64Array(frames.reduce((n, f) => n + f.length, 0));
        let at = 0;
        for (const f of frames) { values.set(f, at); at += f.length; }
        return { source: file, values };
      });
      let written;
      try {
        written = await writeDerivedSeries(images, { outDir: path.join(work.dir, `s${k}`), sourceFolders: [], derivationDescription: 'identity (conformance test)', seriesDescriptionSuffix: ' [test]' });
      } catch (error) {
        report.push(`${path.relative(FIXTURES, files[0]!)}: not written (${(error as Error).message})`);
        continue;
      }
      checked++;
      // dciodvfy cannot read a Deflated source: its baseline is the same data set re-encoded by dcmtk.
      let baseline = files[0]!;
      if (dciodvfyErrors(baseline).some((e) => e.includes('Dicom dataset read failed'))) {
        baseline = path.join(work.dir, `inflated-${k}.dcm`);
        execFileSync('dcmconv', ['+te', files[0]!, baseline]);
      }
      const before = new Set(dciodvfyErrors(baseline));
      const added = dciodvfyErrors(written.files[0]!).filter((e) => !before.has(e));
      if (added.length) report.push(`${path.relative(FIXTURES, files[0]!)} (${first.header.modality}):\n    ${[...new Set(added)].join('\n    ')}`);
    }
  } finally { work.cleanup(); }
  assert.ok(checked >= 20, `only ${checked} series checked`);
  assert.deepEqual(report, [], `derived objects with errors their sources do not have:\n${report.join('\n')}`);
});
