/**
 * Convolution gradients for the WASM backend, expressed as forward convolutions.
 *
 * tfjs-backend-wasm ships no Conv2DBackpropFilter kernel (training fails) and its
 * Conv2DBackpropInput is a scalar loop. Both gradients are themselves correlations, so we run
 * them through the backend's XNNPACK Conv2D, which is what makes CPU training usable:
 * - dW = conv2d_valid(transpose(pad(x)) as a batch of C_in images, transpose(dy) as the filter);
 * - dx = conv2d(dy, filter rotated 180° with its channels swapped), padded for a full correlation.
 * Only stride 1 and dilation 1 are expressed this way (all our architectures use them); other
 * strides fall back to the backend's own input-gradient loop or fail with a clear message.
 */
import {
  backend_util, Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, getKernel, registerKernel,
  Reverse, Transpose, unregisterKernel,
  type Conv2DBackpropFilterAttrs, type Conv2DBackpropInputAttrs, type KernelBackend,
  type KernelConfig, type NamedAttrMap, type TensorInfo,
} from '@tensorflow/tfjs';

type KernelRunner = (inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => TensorInfo;

/** Calls another kernel of the same backend directly, without going through the engine. */
function kernelOf(name: string, backend: KernelBackend): KernelRunner {
  const config = getKernel(name, 'wasm');
  if (!config) throw new Error(`WASM backend has no ${name} kernel`);
  return (inputs, attrs) => config.kernelFunc({ inputs, attrs, backend }) as TensorInfo;
}

function transpose(backend: KernelBackend, x: TensorInfo, perm: number[]): TensorInfo {
  return kernelOf(Transpose, backend)({ x }, { perm });
}

function isUnitStride(convInfo: backend_util.Conv2DInfo): boolean {
  return convInfo.strideHeight === 1 && convInfo.strideWidth === 1
    && convInfo.dilationHeight === 1 && convInfo.dilationWidth === 1;
}

function conv2dBackpropFilter(backend: KernelBackend, x: TensorInfo, dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs): TensorInfo {
  const convInfo = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, backend_util.convertConv2DDataFormat(attrs.dataFormat));
  if (!isUnitStride(convInfo) || convInfo.dataFormat !== 'channelsLast') {
    throw new Error('Training on the WASM backend supports only stride-1, dilation-1, channels-last '
      + 'convolutions; use pooling/upsampling layers or the tfjs-node backend');
  }
  const { top, bottom, left, right } = convInfo.padInfo;
  const xT = transpose(backend, x, [3, 1, 2, 0]);           // [Cin, H, W, N]
  const dyT = transpose(backend, dy, [1, 2, 0, 3]);         // [Ho, Wo, N, Cout]
  const dW = kernelOf(Conv2D, backend)({ x: xT, filter: dyT }, {
    strides: [1, 1], dilations: [1, 1], dataFormat: 'NHWC',
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
  });                                                       // [Cin, kh, kw, Cout]
  const result = transpose(backend, dW, [1, 2, 0, 3]);      // [kh, kw, Cin, Cout]
  for (const t of [xT, dyT, dW]) backend.disposeData(t.dataId);
  return result;
}

function conv2dBackpropInput(backend: KernelBackend, dy: TensorInfo, filter: TensorInfo,
  attrs: Conv2DBackpropInputAttrs, fallback: KernelConfig | undefined): TensorInfo {
  const convInfo = backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as [number, number, number, number], attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, backend_util.convertConv2DDataFormat(attrs.dataFormat));
  if (!isUnitStride(convInfo) || convInfo.dataFormat !== 'channelsLast') {
    if (!fallback) throw new Error('WASM backend cannot compute this convolution input gradient');
    return fallback.kernelFunc({ inputs: { dy, filter }, attrs: attrs as unknown as NamedAttrMap, backend }) as TensorInfo;
  }
  const { filterHeight: kh, filterWidth: kw } = convInfo;
  const { top, bottom, left, right } = convInfo.padInfo;
  const flipped = kernelOf(Reverse, backend)({ x: filter }, { dims: [0, 1] });
  const swapped = transpose(backend, flipped, [0, 1, 3, 2]); // [kh, kw, Cout, Cin]
  const dx = kernelOf(Conv2D, backend)({ x: dy, filter: swapped }, {
    strides: [1, 1], dilations: [1, 1], dataFormat: 'NHWC',
    pad: [[0, 0], [kh - 1 - top, kh - 1 - bottom], [kw - 1 - left, kw - 1 - right], [0, 0]],
  });
  for (const t of [flipped, swapped]) backend.disposeData(t.dataId);
  return dx;
}

let registered = false;

/** Registers both gradient kernels for the 'wasm' backend (idempotent). */
export function registerWasmConvGradients(): void {
  if (registered) return;
  registered = true;
  const originalInput = getKernel(Conv2DBackpropInput, 'wasm');
  if (originalInput) unregisterKernel(Conv2DBackpropInput, 'wasm');
  if (getKernel(Conv2DBackpropFilter, 'wasm')) unregisterKernel(Conv2DBackpropFilter, 'wasm');
  registerKernel({
    kernelName: Conv2DBackpropFilter, backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => conv2dBackpropFilter(
      backend as KernelBackend, inputs.x!, inputs.dy!, attrs as unknown as Conv2DBackpropFilterAttrs),
  });
  registerKernel({
    kernelName: Conv2DBackpropInput, backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => conv2dBackpropInput(
      backend as KernelBackend, inputs.dy!, inputs.filter!, attrs as unknown as Conv2DBackpropInputAttrs, originalInput),
  });
}
