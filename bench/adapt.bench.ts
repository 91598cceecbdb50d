/**
 * `npm run bench:adapt`: "Adapt to this series" as a user meets it. A 100-slice 512² head CT
 * phantom with correlated noise of a length the CT default was not trained for (σ 25 HU,
 * correlation 2.5 px) is written as DICOM, indexed, and adapted through the service (the same
 * job the app's button runs); the default and the adapted model are then scored against the clean
 * phantom on five slices spread through the series, with a PNG of one (noisy | default | adapted |
 * clean). Prints the time and the PSNRs (data range 2000 HU). `-- --slices N` for a shorter run.
 *
 * `-- --real`: the same on each real CT slice the default was held out from (models/recipes/
 * defaults.ts), one series of one slice each, scored inside the field of view against the stored
 * slice (data range: its max − min) on the noise draw it adapted to and on two others. The chest's
 * stored slice holds its own scanner noise, which an adapted model removes too: scored against it,
 * that counts as error — look at its picture before reading its number.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend, describeBackend } from '../src-main/model/backend.js';
import { psnr } from '../src-main/model/metrics.js';
import { loadModelDenoiser } from '../src-main/model/model-io.js';
import { ModelDenoiser } from '../src-main/model/model-denoiser.js';
import { addNoise, type NoiseSpec } from '../src-main/noise/models.js';
import { ctPhantomSlice } from '../src-main/noise/phantom.js';
import { Rng } from '../src-main/noise/rng.js';
import { keepOutside, outsideImage } from '../src-main/dicom/physical.js';
import { writeSyntheticSeries } from '../src-main/dicom/synthetic.js';
import { CT_DEFAULT } from '../models/recipes/defaults.js';
import { loadSeries, valueRange } from './lib/fixtures.js';
import { writePanels } from './lib/png-grid.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({ options: {
  slices: { type: 'string', default: '100' }, correlation: { type: 'string', default: '2.5' }, real: { type: 'boolean', default: false },
} });
const SLICES = Number(flags.slices), SIZE = 512, SEED = 4711;
const NOISE: NoiseSpec = { kind: 'correlated', sigma: 25, correlation: Number(flags.correlation) };
const refuse = (message: string) => { console.error(`bench:adapt: ${message}`); process.exit(2); };
if (!Number.isInteger(SLICES) || SLICES < 5) refuse(`--slices: expected a whole number of at least 5 (five slices are scored), got ${flags.slices}`);
if (!(NOISE.correlation! > 0 && NOISE.correlation! <= 10)) refuse(`--correlation: expected a length in pixels above 0 and at most 10, got ${flags.correlation}`);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

const work = mkdtempSync(path.join(tmpdir(), 'adapt-bench-'));
process.env.DENOISE_STUDIO_HOME = path.join(work, 'home');
mkdirSync(process.env.DENOISE_STUDIO_HOME);
const { DenoiseStudioService } = await import('../src-main/api/service.js');
type Service = InstanceType<typeof DenoiseStudioService>;

/** Indexes `folder` and adapts the default to its series through the service, as the app's button does. */
async function adaptFolder(service: Service, folder: string, seriesInstanceUid: string) {
  await service.index({ path: folder });
  const started = performance.now();
  let last = '';
  const result = await service.adapt({ seriesInstanceUid }, {
    onProgress: (p) => {
      const line = 'message' in p && p.message ? p.message : p.record ? `epoch ${p.epoch}/${p.epochs}: loss ${p.record.trainLoss.toExponential(3)}${p.record.valLoss == null ? "" : ` val ${p.record.valLoss.toExponential(3)}`}` : '';
      if (line && line !== last) console.log(`  ${line}`);
      last = line;
    },
  });
  return { model: await loadModelDenoiser(result.outDir), seconds: (performance.now() - started) / 1000 };
}

/** 100 phantom slices: the target's own setting (time and gain over the default). */
async function phantomBench(service: Service, defaultModel: ModelDenoiser) {
  const clean = (i: number) => ctPhantomSlice(SIZE, i, SLICES, SEED, 'head');
  const noisy = (i: number) => addNoise(clean(i), SIZE, SIZE, NOISE, SEED + i).noisy;
  const series = await writeSyntheticSeries(SLICES, noisy, {
    outDir: path.join(work, 'series'), modality: 'CT', rows: SIZE, columns: SIZE, pixelSpacing: 0.5, sliceSpacing: 1, seriesDescription: 'adapt bench',
  });
  const { model: adapted, seconds } = await adaptFolder(service, path.join(work, 'series'), series.seriesInstanceUid);
  // The default with the adapted model's guard setting too: how much of the gain is the guard's.
  const loosened = ModelDenoiser.fromLoaded({ model: defaultModel.model, card: { ...defaultModel.card, inference: { ...defaultModel.card.inference, noiseGuardScales: 3 } }, folder: 'ct-default' });
  console.log(`adapted model's guard: ${JSON.stringify(adapted.card.inference)}`);
  const rows = { input: 0, default: 0, loosened: 0, adapted: 0 };
  const picks = [0.1, 0.3, 0.5, 0.7, 0.9].map((f) => Math.floor(f * (SLICES - 1)));
  for (const i of picks) {
    const x = clean(i), y = noisy(i);
    const [d, a] = [await defaultModel.denoise({ values: y, width: SIZE, height: SIZE }), await adapted.denoise({ values: y, width: SIZE, height: SIZE })];
    rows.input += psnr(x, y, 2000) / picks.length;
    rows.default += psnr(x, d, 2000) / picks.length;
    rows.loosened += psnr(x, await loosened.denoise({ values: y, width: SIZE, height: SIZE }), 2000) / picks.length;
    rows.adapted += psnr(x, a, 2000) / picks.length;
    if (i === picks[2]) {
      const file = path.join(ROOT, 'bench', 'results', 'adapt_head_corr.png');
      writePanels(file, [y, d, a, x].map((values) => ({ values, width: SIZE, height: SIZE, window: { center: 40, width: 120 } })));
      console.log(`  picture: ${path.relative(ROOT, file)} (noisy | default | adapted | clean; window 40/120 HU)`);
    }
  }
  console.log(`adapted in ${seconds.toFixed(0)} s (${SLICES} slices ${SIZE}²)`);
  console.log(`PSNR over ${picks.length} slices (data range 2000 HU): input ${rows.input.toFixed(2)} dB, default ${rows.default.toFixed(2)} dB (its guard at 3 scales: ${rows.loosened.toFixed(2)} dB), adapted ${rows.adapted.toFixed(2)} dB`);
  const gain = rows.adapted - rows.default;
  console.log(`${gain >= 1 ? 'PASS' : 'MISS'} adapted − default ${signed(gain)} dB (target ≥ +1); ${seconds <= 600 ? 'PASS' : 'MISS'} ${seconds.toFixed(0)} s (target ≤ 600 s on this CPU, ≤ 120 s on the GPU machine)`);
  adapted.dispose();
}

/** Each held-out real CT slice, noisy, as a one-slice series of its own. */
async function realBench(service: Service, defaultModel: ModelDenoiser) {
  for (const [k, source] of CT_DEFAULT.heldOut.entries()) {
    const s = (await loadSeries(source.file))[0]!;
    const { width, height } = s;
    const outside = outsideImage(s, 'CT');
    const dataRange = valueRange(s.values);
    // Noise inside the field of view only, and only there scored (as bench:quality does).
    const draws = [0, 1, 2].map((r) => keepOutside(addNoise(s.values, width, height, NOISE, new Rng(9000 + 100 * k + 37 * r)).noisy, s.values, outside));
    const name = source.file.replace(/\W+/g, '_');
    const series = await writeSyntheticSeries(1, () => draws[0]!, {
      outDir: path.join(work, name), modality: 'CT', rows: height, columns: width, pixelSpacing: 0.7, sliceSpacing: 5, seriesDescription: 'adapt bench (real)',
    });
    const { model: adapted, seconds } = await adaptFolder(service, path.join(work, name), series.seriesInstanceUid);
    const run = async (m: ModelDenoiser | undefined, y: Float32Array) => {
      const out = m ? await m.denoise({ values: y, width, height, mask: s.padding }) : y.slice();
      if (outside) for (let i = 0; i < out.length; i++) if (outside[i]) out[i] = s.values[i]!;
      return out;
    };
    const score = async (m: ModelDenoiser | undefined, draw: number) => psnr(s.values, await run(m, draws[draw]!), dataRange);
    const [input, def, own] = [await score(undefined, 0), await score(defaultModel, 0), await score(adapted, 0)];
    const others = ((await score(adapted, 1)) + (await score(adapted, 2))) / 2;
    const othersDefault = ((await score(defaultModel, 1)) + (await score(defaultModel, 2))) / 2;
    const file = path.join(ROOT, 'bench', 'results', `adapt_real_${name}.png`);
    const [d, a] = [await run(defaultModel, draws[0]!), await run(adapted, draws[0]!)];
    writePanels(file, [draws[0]!, d, a, s.values].map((values) => ({ values, width, height, window: { center: 40, width: 400 } }))
      .concat([{ values: a.map((v, i) => v - s.values[i]!), width, height, window: { center: 0, width: 200 } }]));
    // The lung window too: small vessels are where a chest shows what smoothing costs.
    const lungFile = file.replace(/\.png$/, '_lung.png');
    writePanels(lungFile, [draws[0]!, d, a, s.values].map((values) => ({ values, width, height, window: { center: -600, width: 1500 } })));
    console.log(`${source.what} (${source.file}): adapted in ${seconds.toFixed(0)} s; PSNR (data range ${dataRange.toFixed(0)} HU, inside the field of view): input ${input.toFixed(2)}, default ${def.toFixed(2)}, adapted ${own.toFixed(2)} dB on the draw it adapted to; on two other draws default ${othersDefault.toFixed(2)}, adapted ${others.toFixed(2)} dB`);
    console.log(`  adapted − default ${signed(own - def)} dB (other draws ${signed(others - othersDefault)}); picture: ${path.relative(ROOT, file)} (noisy | default | adapted | stored slice | adapted − stored; window 40/400 HU) and ${path.relative(ROOT, lungFile)} (the first four, window −600/1500 HU)`);
    adapted.dispose();
  }
}

try {
  const backend = await initBackend();
  console.log(`Adapt benchmark — ${describeBackend(backend)}; ${flags.real ? `held-out real CT slices, one each` : `${SLICES} slices ${SIZE}²`}, ${JSON.stringify(NOISE)}`);
  const service = new DenoiseStudioService();
  const defaultModel = await loadModelDenoiser(path.join(ROOT, 'models', 'ct-default'));
  try {
    if (flags.real) await realBench(service, defaultModel);
    else await phantomBench(service, defaultModel);
  } finally { defaultModel.dispose(); service.close(); }
} finally {
  rmSync(work, { recursive: true, force: true });
}
