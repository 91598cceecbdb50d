/**
 * The convolution filter gradient for the WebGPU backend, as a split-K reduction of our own.
 *
 * tfjs-backend-webgpu computes Conv2DBackpropFilter with one GPU thread per filter weight, each
 * summing over every position of the batch: for a 3×3×32×32 layer that is 9,216 threads running
 * a 65,536-long (16×64²) serial loop, which leaves a GPU almost idle. Measured on an H200 it was
 * 173 of the 177 ms of GPU time in a DnCNN training step. Here the positions are split into
 * chunks: one thread per (weight, chunk) writes a partial sum (no atomics, so the result is
 * deterministic), and the backend's own Sum kernel adds the chunks. Same maths, thousands of
 * times more threads in flight. Stride 1, dilation 1, channels-last (all our architectures);
 * anything else goes to the backend's own kernel.
 */
import {
  backend_util, Conv2DBackpropFilter, getKernel, registerKernel, Reshape, Sum, unregisterKernel,
  type Conv2DBackpropFilterAttrs, type KernelBackend, type KernelConfig, type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs';

/** The part of tfjs-backend-webgpu's program interface we use (structural, public in its typings). */
interface GpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size: boolean;
  uniforms: string;
  getUserCode(): string;
}
interface WebGpuBackendLike extends KernelBackend {
  runWebGPUProgram(program: GpuProgram, inputs: TensorInfo[], dtype: 'float32',
    uniforms?: { type: 'int32'; data: number[] }[]): TensorInfo;
}

const WORKGROUP = 64;
/** Positions summed by one thread: long enough to amortise the partial sums, short enough to fill a GPU. */
const CHUNK = 256;
/** Cap on partial sums kept at once (4 M floats = 16 MB). */
const MAX_PARTIALS = 4 * 1024 * 1024;

/** Chunks of the position axis for `positions` positions and `weights` filter weights. */
export function chunking(positions: number, weights: number): { chunks: number; chunkLength: number } {
  let chunks = Math.max(1, Math.ceil(positions / CHUNK));
  chunks = Math.max(1, Math.min(chunks, Math.floor(MAX_PARTIALS / Math.max(1, weights))));
  return { chunks, chunkLength: Math.ceil(positions / chunks) };
}

/**
 * Partial filter gradients: output [kh·kw·Cin, Cout, chunks]. Thread `index` is (chunk, r, co)
 * with co fastest, so neighbouring threads read neighbouring dy values and the same x value.
 */
function partialsProgram(weights: number, cout: number, chunks: number): GpuProgram {
  const size = weights * chunks;
  return {
    variableNames: ['x', 'dy'],
    outputShape: [weights / cout, cout, chunks],
    shaderKey: 'ds_conv2d_filter_partials',
    dispatchLayout: { x: [0, 1, 2] },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    uniforms: 'kernelWidth : i32, padTop : i32, padLeft : i32, chunkLength : i32,',
    getUserCode: () => `
      fn main(index : i32) {
        if (index >= uniforms.size) { return; }
        let cin = uniforms.xShape[3];
        let cout = uniforms.dyShape[3];
        let chunks = uniforms.outShape[2];
        let weightsTimesOut = uniforms.outShape[0] * cout;
        let chunk = index / weightsTimesOut;
        let rc = index - chunk * weightsTimesOut;
        let r = rc / cout;
        let co = rc - r * cout;
        let ky = r / (uniforms.kernelWidth * cin);
        let kx = (r / cin) % uniforms.kernelWidth;
        let ci = r % cin;
        let inH = uniforms.xShape[1];
        let inW = uniforms.xShape[2];
        let outH = uniforms.dyShape[1];
        let outW = uniforms.dyShape[2];
        let perImage = outH * outW;
        let positions = uniforms.dyShape[0] * perImage;
        let start = chunk * uniforms.chunkLength;
        let end = min(positions, start + uniforms.chunkLength);
        var n = start / perImage;
        var y = (start % perImage) / outW;
        var xo = start % outW;
        var acc = 0.0;
        for (var p = start; p < end; p = p + 1) {
          let iy = y + ky - uniforms.padTop;
          let ix = xo + kx - uniforms.padLeft;
          if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) {
            acc = acc + x[((n * inH + iy) * inW + ix) * cin + ci] * dy[p * cout + co];
          }
          xo = xo + 1;
          if (xo == outW) {
            xo = 0;
            y = y + 1;
            if (y == outH) { y = 0; n = n + 1; }
          }
        }
        result[rc * chunks + chunk] = acc;
      }`,
  };
}

function runKernel(name: string, backend: KernelBackend, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo {
  const config = getKernel(name, 'webgpu');
  if (!config) throw new Error(`WebGPU backend has no ${name} kernel`);
  return config.kernelFunc({ inputs, attrs, backend }) as TensorInfo;
}

function conv2dBackpropFilter(backend: WebGpuBackendLike, x: TensorInfo, dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs, original: KernelConfig): TensorInfo {
  const convInfo = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, backend_util.convertConv2DDataFormat(attrs.dataFormat));
  const unit = convInfo.strideHeight === 1 && convInfo.strideWidth === 1
    && convInfo.dilationHeight === 1 && convInfo.dilationWidth === 1;
  if (!unit || convInfo.dataFormat !== 'channelsLast' || x.dtype !== 'float32') {
    return original.kernelFunc({ inputs: { x, dy }, attrs: attrs as unknown as NamedAttrMap, backend }) as TensorInfo;
  }
  const [kh, kw, cin, cout] = attrs.filterShape;
  const weights = kh * kw * cin * cout;
  const { chunks, chunkLength } = chunking(dy.shape[0]! * dy.shape[1]! * dy.shape[2]!, weights);
  const partials = backend.runWebGPUProgram(partialsProgram(weights, cout, chunks), [x, dy], 'float32', [
    { type: 'int32', data: [kw] }, { type: 'int32', data: [convInfo.padInfo.top] },
    { type: 'int32', data: [convInfo.padInfo.left] }, { type: 'int32', data: [chunkLength] },
  ]);
  const summed = runKernel(Sum, backend, { x: partials }, { axis: [2], keepDims: false });
  const result = runKernel(Reshape, backend, { x: summed }, { shape: [kh, kw, cin, cout] });
  backend.disposeData(partials.dataId);
  backend.disposeData(summed.dataId);
  return result;
}

let original: KernelConfig | undefined;
/** Which filter gradient runs: ours, or tfjs' own (kept for comparison in `npm run bench:gpu`). */
let useOwn = true;

/** Replaces the 'webgpu' backend's Conv2DBackpropFilter (idempotent; call after the backend is imported). */
export function registerWebgpuConvGradients(): void {
  if (original) return;
  original = getKernel(Conv2DBackpropFilter, 'webgpu');
  if (!original) throw new Error('the WebGPU backend has no Conv2DBackpropFilter kernel to replace');
  const tfjsKernel = original;
  unregisterKernel(Conv2DBackpropFilter, 'webgpu');
  registerKernel({
    kernelName: Conv2DBackpropFilter, backendName: 'webgpu',
    kernelFunc: (args) => (useOwn
      ? conv2dBackpropFilter(args.backend as WebGpuBackendLike, args.inputs.x!, args.inputs.dy!, args.attrs as unknown as Conv2DBackpropFilterAttrs, tfjsKernel)
      : tfjsKernel.kernelFunc(args)),
  });
}

/** Benchmarks only: 'tfjs' runs the backend's own filter gradient again. */
export function selectFilterGradient(which: 'split-k' | 'tfjs'): void {
  useOwn = which === 'split-k';
}
