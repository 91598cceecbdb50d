/**
 * `npm run bench:gpu` — the GPU engine against PyTorch on the same GPU, in the same call.
 * For the lent GPU machine (`bash bench/gpu/prepare.sh` here, then `bash bench/gpu/run.sh` there;
 * see bench/gpu/README.md). Prints, for DnCNN 8×32 with and without batch norm, U-Net 3 and the
 * shipped defaults: inference ms per 512² slice (slices batched four at a time, as the GPU worker
 * does), training ms per optimiser step at 16×64² and 64×64² (Adam, MSE, as torch_reference.py
 * measures), tfjs' own filter gradient beside ours, and a synthetic 300-slice 512² CT volume end
 * to end through the real denoise job (read DICOM, denoise, write the derived series).
 * PyTorch's figures come from torch_reference.py run from here, so the ratios share a machine.
 * Environment: BENCH_SLICES (volume size, default 300), BENCH_TORCH (path to torch_reference.py),
 * BENCH_TORCH_DEVICE (cuda on a GPU machine, else cpu), BENCH_QUICK=1 (two networks, 16 slices),
 * BENCH_PARTS (default 'nets,volume': either part alone).
 * Anywhere else it runs on whatever backend loads (forced WebGPU on llvmpipe gives correct but
 * meaningless times: never quote those).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURE_PRESETS, buildModel, parseArchitecture, tilingNeeds, type ArchitectureSpec } from '../src-main/model/architectures.js';
import { describeBackend, initBackend } from '../src-main/model/backend.js';
import { loadModelFolder } from '../src-main/model/model-io.js';
import { predictTiledMany } from '../src-main/model/tiling.js';
import { selectFilterGradient } from '../src-main/model/webgpu-gradients.js';
import { ctPhantomSlice } from '../src-main/noise/phantom.js';
import { writeSyntheticSeries } from '../src-main/dicom/synthetic.js';
import { runDenoiseJob } from '../src-main/jobs/denoise-job.js';

const QUICK = process.env.BENCH_QUICK === '1';
const PARTS = new Set((process.env.BENCH_PARTS ?? 'nets,volume').split(','));
const SLICES = Number(process.env.BENCH_SLICES ?? (QUICK ? 16 : 300));
const TORCH = process.env.BENCH_TORCH ?? ['.gpu/torch_reference.py', '../shared/bench/torch_reference.py'].find((p) => existsSync(p));
const ON_GPU_MACHINE = existsSync('/dev/nvidia0');
const TORCH_DEVICE = process.env.BENCH_TORCH_DEVICE ?? (ON_GPU_MACHINE ? 'cuda' : 'cpu');
/** Debian's python3 has torch here; the GPU machine's python3 has it with CUDA. */
const PYTHON = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import torch']).status === 0) ?? 'python3';
const MODELS = path.resolve(process.env.DENOISE_STUDIO_MODELS ?? 'models');

interface Net { label: string; model: () => Promise<tf.LayersModel>; tiling: { margin: number; align: number }; torch?: { depth: number; width: number; bn: boolean } }

const fromSpec = (label: string, spec: ArchitectureSpec, torch?: Net['torch']): Net => ({
  label, model: async () => buildModel(spec, { seed: 1 }), tiling: tilingNeeds(parseArchitecture(spec)), torch,
});
const shipped = async (name: string): Promise<Net> => {
  const loaded = await loadModelFolder(path.join(MODELS, name));
  const arch = loaded.card.architecture;
  loaded.model.dispose();
  const spec = arch.kind === 'imported' ? undefined : parseArchitecture(arch);
  return {
    label: `${name} (${loaded.card.name})`,
    model: async () => (await loadModelFolder(path.join(MODELS, name))).model,
    tiling: spec ? tilingNeeds(spec) : { margin: 32, align: 16 },
    torch: spec?.kind === 'dncnn' ? { depth: spec.depth, width: spec.width, bn: spec.batchNorm } : undefined,
  };
};

/** ms per 512² slice, four slices per batch, the next batch submitted before the last readback. */
async function inferenceMs(model: tf.LayersModel, tiling: Net['tiling']): Promise<number> {
  const slices = [0, 1, 2, 3].map((i) => ctPhantomSlice(512, i, 4, 1).map((v) => (v + 1024) / 2048));
  const run = () => predictTiledMany(model, slices, 512, 512, { ...tiling, tile: 512, batch: 4 });
  await run(); await run(); // compile and warm up
  const reps = QUICK ? 2 : 8;
  const t = performance.now();
  for (let i = 0; i < reps; i++) await run();
  return (performance.now() - t) / (reps * slices.length);
}

/** ms per raw optimiser step (Adam, MSE on random data), waiting for the loss each step. */
async function stepMs(model: tf.LayersModel, batch: number): Promise<number> {
  const opt = tf.train.adam(1e-3);
  const x = tf.randomUniform([batch, 64, 64, 1]), y = tf.randomUniform([batch, 64, 64, 1]);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = async () => {
    const loss = opt.minimize(() => tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, y))) as tf.Scalar, true, vars)!;
    await loss.data();
    loss.dispose();
  };
  for (let i = 0; i < 3; i++) await step();
  const reps = QUICK ? 3 : 20;
  const t = performance.now();
  for (let i = 0; i < reps; i++) await step();
  const ms = (performance.now() - t) / reps;
  tf.dispose([x, y]);
  opt.dispose();
  return ms;
}

interface TorchFigures { infer_s_per_slice: number; train_patches_per_s: number; framework: string }
function torch(net: Net['torch'], batch: number): TorchFigures | undefined {
  if (!net || !TORCH) return undefined;
  const r = spawnSync(PYTHON, [TORCH, '--device', TORCH_DEVICE, '--arch', 'dncnn', '--depth', String(net.depth),
    '--width', String(net.width), '--bn', net.bn ? '1' : '0', '--batch', String(batch)], { encoding: 'utf8' });
  if (r.status !== 0) { console.error(`torch_reference failed: ${(r.stderr || '').trim().split('\n').at(-1)}`); return undefined; }
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as TorchFigures;
}

const fmt = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const ratio = (ours: number, theirs: number | undefined) => (theirs ? `${fmt(ours / theirs, 1)}×` : '—');

async function volumeSeconds(): Promise<{ seconds: number; slices: number; backend: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ds-gpu-bench-'));
  try {
    const input = path.join(dir, 'ct');
    await writeSyntheticSeries(SLICES, (i) => ctPhantomSlice(512, i, SLICES, 3), {
      outDir: input, modality: 'CT', rows: 512, columns: 512, pixelSpacing: 0.7, sliceSpacing: 1, seriesDescription: 'GPU bench phantom',
    });
    const t = performance.now();
    const result = await runDenoiseJob({ input, outDir: path.join(dir, 'out'), method: { kind: 'model', folder: path.join(MODELS, 'ct-default') } });
    return { seconds: (performance.now() - t) / 1000, slices: result.series[0]?.slices ?? 0, backend: result.backend };
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

const report = await initBackend();
console.log(`# ${describeBackend(report)}`);
if (report.adapter?.software || report.name !== 'webgpu') console.log('# not a GPU: these times say nothing about the GPU engine');
const nets: Net[] = !PARTS.has('nets') ? [] : [
  fromSpec('DnCNN 8×32 + BN', { kind: 'dncnn', depth: 8, width: 32, batchNorm: true }, { depth: 8, width: 32, bn: true }),
  fromSpec('DnCNN 8×32', ARCHITECTURE_PRESETS['dncnn-8x32']!, { depth: 8, width: 32, bn: false }),
  ...(QUICK ? [] : [fromSpec('U-Net 3', ARCHITECTURE_PRESETS['unet-3']!), await shipped('ct-default'), await shipped('mr-default')]),
];
const rows: Record<string, unknown>[] = [];
if (nets.length) console.log('| network | inference ms/slice (torch, ratio) | step 16×64² ms (torch, ratio) | step 64×64² ms (torch, ratio) | step 16×64² with tfjs\' filter gradient |');
if (nets.length) console.log('| --- | --- | --- | --- | --- |');
for (const net of nets) {
  const model = await net.model();
  const infer = await inferenceMs(model, net.tiling);
  const step16 = await stepMs(model, 16);
  const step64 = await stepMs(model, 64);
  let tfjsStep16: number | undefined;
  if (report.name === 'webgpu') { selectFilterGradient('tfjs'); tfjsStep16 = await stepMs(model, 16); selectFilterGradient('split-k'); }
  model.dispose();
  const t16 = torch(net.torch, 16), t64 = torch(net.torch, 64);
  const torchInfer = t16 && t16.infer_s_per_slice * 1000;
  const torch16 = t16 && (16 / t16.train_patches_per_s) * 1000, torch64 = t64 && (64 / t64.train_patches_per_s) * 1000;
  console.log(`| ${net.label} | ${fmt(infer)} (${fmt(torchInfer, 2)}, ${ratio(infer, torchInfer)}) | ${fmt(step16)} (${fmt(torch16, 2)}, ${ratio(step16, torch16)}) | ${fmt(step64)} (${fmt(torch64, 2)}, ${ratio(step64, torch64)}) | ${fmt(tfjsStep16)} |`);
  rows.push({ net: net.label, inferMs: infer, step16Ms: step16, step64Ms: step64, tfjsFilterGradStep16Ms: tfjsStep16, torch: t16?.framework, torchInferMs: torchInfer, torchStep16Ms: torch16, torchStep64Ms: torch64 });
}
const volume = PARTS.has('volume') ? await volumeSeconds() : undefined;
if (volume) console.log(`\n${volume.slices}-slice 512² CT volume end to end (read, denoise with ct-default, write): ${fmt(volume.seconds)} s on ${volume.backend} (target ≤ 15 s for 300 slices)`);
console.log(JSON.stringify({ backend: report, rows, volume }));
