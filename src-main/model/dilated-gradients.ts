/**
 * Gradients of dilated convolutions. tfjs ships none ("dilation rates greater than 1 are not yet
 * supported in gradients"), yet dilation is the cheap way to let a DnCNN see further — what CT's
 * spatially correlated noise needs — at the cost of the same 3×3 kernels (IRCNN, Zhang et al.
 * 2017). Both gradients are again convolutions, run as forward ones on any backend:
 * - dx = the dilated 'same' convolution of dy with the filter rotated 180°, its channels swapped;
 * - dW = the input (zero-padded as the forward pass pads it), channels as a batch, correlated with
 *   dy as the filter at stride d: output k is Σ x[h + d·k]·dy[h], i.e. exactly the taps of W.
 * Undilated convolutions keep tfjs's own gradient. Only stride 1 and 'same' padding (what every
 * architecture here uses) are handled; anything else fails with the reason.
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2D, getGradient, registerGradient, type Conv2DAttrs, type GradConfig, type NamedAttrMap } from '@tensorflow/tfjs';

function pair(value: number | [number, number] | undefined): [number, number] {
  if (value === undefined) return [1, 1];
  return typeof value === 'number' ? [value, value] : value;
}

/** dL/dx of a dilated stride-1 'same' convolution. */
export function dilatedConvInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, dilations: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(dy, rotated, 1, 'same', 'NHWC', dilations);
  });
}

/** dL/dW of a dilated stride-1 'same' convolution (filter of `filterShape`). */
export function dilatedConvFilterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], dilations: [number, number]): tf.Tensor4D {
  const [kh, kw] = filterShape;
  if (kh % 2 !== 1 || kw % 2 !== 1) throw new Error(`dilated convolution gradient: only odd kernel sizes are supported (got ${kh}×${kw})`);
  const [dh, dw] = dilations;
  return tf.tidy(() => {
    const ph = dh * (kh - 1) / 2, pw = dw * (kw - 1) / 2;
    const padded = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]]);
    const inputs = tf.transpose(padded, [3, 1, 2, 0]) as tf.Tensor4D; // [C_in, H+2p, W+2p, batch]
    const kernel = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, batch, C_out]
    const taps = tf.conv2d(inputs, kernel, [dh, dw], 'valid'); // [C_in, kh, kw, C_out]
    return tf.transpose(taps, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

let registered = false;

/** Extends tfjs's Conv2D gradient to dilated convolutions (idempotent; backend-independent). */
export function registerDilatedConvGradients(): void {
  if (registered) return;
  const original = getGradient(Conv2D);
  if (!original) throw new Error('tfjs has no Conv2D gradient to extend');
  registered = true;
  const config: GradConfig = {
    ...original,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: NamedAttrMap) => {
      const { dilations, strides, pad, dataFormat } = attrs as unknown as Conv2DAttrs;
      const d = pair(dilations);
      if (d[0] === 1 && d[1] === 1) return original.gradFunc(dy, saved, attrs);
      const s = pair(strides);
      if (s[0] !== 1 || s[1] !== 1 || pad !== 'same' || (dataFormat && dataFormat !== 'NHWC')) {
        throw new Error(`dilated convolution gradient: only stride 1, 'same' padding and NHWC are supported (got strides ${s.join('×')}, padding ${JSON.stringify(pad)})`);
      }
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      return {
        x: () => dilatedConvInputGradient(dy as tf.Tensor4D, filter, d),
        filter: () => dilatedConvFilterGradient(x, dy as tf.Tensor4D, filter.shape, d),
      };
    },
  };
  registerGradient(config);
}
