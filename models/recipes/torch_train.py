#!/usr/bin/env python3
"""Trains a default model's DnCNN with PyTorch: the GPU engine for `npm run train:defaults`.

tfjs trains on this project's CPU machines at ~1 step of 16×64² patches per second and on a GPU
through WebGPU only ~2× faster (its filter gradient is slow: ../shared/gpu/README.md); PyTorch
with CUDA runs the same step ~100× faster. So the default recipes can be trained there for what
would be days here, and the weights come back into the tfjs model the app runs.

Input: a folder written by `train:defaults <ct|mr> --engine torch --export <dir>`
(torch-engine.ts): manifest.json (the recipe's training config, the normalisation, and one entry
per clean slice) and slices.bin (each slice's normalised values, float32, row-major; its padding
mask as uint8 after them where it has one). Output (--out): weights.json + weights.bin, each
convolution's kernel (out, in, kh, kw) and bias as float32, in the network's layer order, and
history.json (the loss curve). torch-engine.ts turns them into a tfjs model folder with its card.

The batch is drawn as train.ts's supervised mode draws it: a slice by weight, a random patch
and one of the 8 flips/rotations, redrawn while more than maxEmptyFraction of it is air or
padding; one of the recipe's noise models at a log-uniform level in data units, added before the
window clips; the error of each patch ÷ its noise σ or power (lossWeighting), padding at weight 0.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def log(msg):
    print(msg, flush=True)


class DnCNN(nn.Module):
    """As architectures.ts builds 'dncnn': conv+ReLU, depth−2 (dilated) conv+ReLU, conv; out = x + body(x).
    With downscale 2 the body runs on the image's 2×2 sub-images as 4 channels (FFDNet's
    pixel unshuffle) and its 4 outputs are put back in place (pixel shuffle)."""

    def __init__(self, depth, width, kernel, dilations, downscale=1):
        super().__init__()
        half = kernel // 2
        self.downscale = downscale
        channels = downscale * downscale
        layers = [nn.Conv2d(channels, width, kernel, padding=half)]
        for d in dilations:
            layers.append(nn.Conv2d(width, width, kernel, padding=half * d, dilation=d))
        layers.append(nn.Conv2d(width, channels, kernel, padding=half))
        self.convs = nn.ModuleList(layers)
        for c in self.convs:  # He normal on fan-in, zero bias: tfjs's heNormal default
            nn.init.kaiming_normal_(c.weight, nonlinearity='relu')
            nn.init.zeros_(c.bias)
        if downscale > 1:  # as architectures.ts: the last layer starts at zero (the network at identity)
            nn.init.zeros_(self.convs[-1].weight)

    def forward(self, x):
        y = F.pixel_unshuffle(x, self.downscale) if self.downscale > 1 else x
        for c in self.convs[:-1]:
            y = F.relu(c(y))
        y = self.convs[-1](y)
        return x + (F.pixel_shuffle(y, self.downscale) if self.downscale > 1 else y)


def read_weights(folder):
    meta = json.load(open(os.path.join(folder, 'weights.json')))
    raw = np.fromfile(os.path.join(folder, 'weights.bin'), dtype='<f4')
    out, at = [], 0
    for t in meta['tensors']:
        n = int(np.prod(t['shape']))
        out.append(torch.from_numpy(raw[at:at + n].reshape(t['shape']).copy()))
        at += n
    return out


def write_weights(model, folder, extra):
    os.makedirs(folder, exist_ok=True)
    tensors, blobs = [], []
    for i, c in enumerate(model.convs):
        for kind, p in (('kernel', c.weight), ('bias', c.bias)):
            a = p.detach().float().cpu().numpy().astype('<f4')
            tensors.append({'layer': i, 'kind': kind, 'shape': list(a.shape), 'layout': 'oihw' if kind == 'kernel' else 'o'})
            blobs.append(a.ravel())
    np.concatenate(blobs).tofile(os.path.join(folder, 'weights.bin'))
    json.dump({'tensors': tensors, **extra}, open(os.path.join(folder, 'weights.json'), 'w'), indent=1)


class Slices:
    """The clean slices on the device, grouped by shape so a batch is gathered in a few indexing ops."""

    def __init__(self, folder, manifest, device):
        raw = open(os.path.join(folder, 'slices.bin'), 'rb').read()
        groups = {}
        for k, s in enumerate(manifest['slices']):
            w, h = s['width'], s['height']
            values = np.frombuffer(raw, dtype='<f4', count=w * h, offset=s['offset']).reshape(h, w)
            mask = (np.frombuffer(raw, dtype=np.uint8, count=w * h, offset=s['maskOffset']).reshape(h, w)
                    if s.get('maskOffset') is not None else np.zeros((h, w), np.uint8))
            groups.setdefault((h, w), []).append((values, mask, s))
        self.groups, rows = [], []
        for (h, w), items in groups.items():
            v = torch.tensor(np.stack([i[0] for i in items]), device=device)
            m = torch.tensor(np.stack([i[1] for i in items]), device=device).bool()
            self.groups.append({'h': h, 'w': w, 'values': v, 'mask': m})
            rows += [(len(self.groups) - 1, j, i[2]) for j, i in enumerate(items)]
        self.index = torch.tensor([[g, j] for g, j, _ in rows], device=device)
        self.weights = torch.tensor([float(s['weight']) for _, _, s in rows], device=device)
        # Per slice: data units per network unit, the window's clip range and the air level (network units).
        inf = float('inf')
        self.units = torch.tensor([[s['scale'], -inf if s['lo'] is None else s['lo'], inf if s['hi'] is None else s['hi'], s['air']]
                                   for _, _, s in rows], device=device)
        self.device = device

    def draw(self, count, size, augment, max_empty, gen):
        """count patches (values, mask, units), each redrawn up to 20 times while too empty."""
        out_u = torch.empty((count, 4), device=self.device)
        out_v = torch.empty((count, size, size), device=self.device)
        out_m = torch.empty((count, size, size), dtype=torch.bool, device=self.device)
        todo = torch.arange(count, device=self.device)
        for attempt in range(20):
            n = todo.numel()
            pick = torch.multinomial(self.weights, n, replacement=True, generator=gen)
            v = torch.empty((n, size, size), device=self.device)
            m = torch.empty((n, size, size), dtype=torch.bool, device=self.device)
            ar = torch.arange(size, device=self.device)
            for g, grp in enumerate(self.groups):
                sel = (self.index[pick, 0] == g).nonzero().squeeze(1)
                if sel.numel() == 0:
                    continue
                j = self.index[pick[sel], 1]
                y = (torch.rand(sel.numel(), device=self.device, generator=gen) * (grp['h'] - size + 1)).long()
                x = (torch.rand(sel.numel(), device=self.device, generator=gen) * (grp['w'] - size + 1)).long()
                rows = (y[:, None] + ar)[:, :, None]
                cols = (x[:, None] + ar)[:, None, :]
                v[sel] = grp['values'][j[:, None, None], rows, cols]
                m[sel] = grp['mask'][j[:, None, None], rows, cols]
            if augment:
                t = torch.randint(0, 8, (n,), device=self.device, generator=gen)
                for k in range(8):
                    s = (t == k).nonzero().squeeze(1)
                    if s.numel() == 0:
                        continue
                    vv, mm = torch.rot90(v[s], k % 4, (1, 2)), torch.rot90(m[s], k % 4, (1, 2))
                    if k >= 4:
                        vv, mm = vv.flip(2), mm.flip(2)
                    v[s], m[s] = vv, mm
            u = self.units[pick]
            out_v[todo], out_m[todo], out_u[todo] = v, m, u
            empty = ((v < u[:, 3, None, None]) | m).float().mean((1, 2))
            todo = todo[empty > max_empty]
            if todo.numel() == 0:
                break
        return out_v, out_m, out_u


def gaussian_kernel(c):
    r = max(1, math.ceil(3 * c))
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float64) ** 2 / (2 * c * c))
    return k, r


def correlated(n, size, c, device, gen):
    """noise/models.ts correlatedField: white noise through a separable Gaussian (periodic), ÷ Σh²."""
    k, r = gaussian_kernel(c)
    sum_sq = float((k * k).sum())
    w = torch.randn((n, 1, size, size), device=device, generator=gen)
    kk = k.float().to(device)
    w = F.conv2d(F.pad(w, (r, r, 0, 0), mode='circular'), kk.view(1, 1, 1, -1))
    w = F.conv2d(F.pad(w, (0, 0, r, r), mode='circular'), kk.view(1, 1, -1, 1))
    return w[:, 0] / sum_sq


FBP = {  # noise/models.ts FBP_KERNELS: cutoff (cycles/pixel) and the ramp's window
    'smooth': (0.3, lambda r: 0.5 * (1 + np.cos(np.pi * r))),
    'standard': (0.5, lambda r: 0.5 * (1 + np.cos(np.pi * r))),
    'sharp': (0.5, lambda r: np.where(r == 0, 1.0, np.sin(np.pi * r / 2) / np.maximum(np.pi * r / 2, 1e-12))),
}


def fbp(n, size, kernel, device, gen):
    """noise/models.ts fbpField: white noise with the FBP power spectrum of `kernel`, unit variance."""
    m = 8
    while m < size:
        m *= 2
    f = np.fft.fftfreq(m)
    rho = np.hypot(f[None, :], f[:, None])
    cutoff, window = FBP[kernel]
    amp = np.where(rho < cutoff, np.sqrt(rho) * window(np.minimum(rho / cutoff, 1)), 0.0)
    a = torch.tensor(amp / math.sqrt((amp ** 2).mean()), dtype=torch.float32, device=device)
    w = torch.randn((n, m, m), device=device, generator=gen)
    return torch.fft.ifft2(torch.fft.fft2(w) * a).real[:, :size, :size]


def noise_of(spec, n, size, device, gen):
    if spec['kind'] == 'gaussian':
        return torch.randn((n, size, size), device=device, generator=gen)
    if spec['kind'] == 'correlated':
        return correlated(n, size, spec['correlation'], device, gen)
    if spec['kind'] == 'fbp':
        return fbp(n, size, spec.get('kernel', 'standard'), device, gen)
    raise SystemExit(f"torch_train: noise kind {spec['kind']!r} is not supported here (gaussian, correlated, fbp)")


def levels(spec, n, device, gen):
    s = spec['sigma']
    if isinstance(s, (int, float)):
        return torch.full((n,), float(s), device=device)
    u = torch.rand(n, device=device, generator=gen)
    if s.get('distribution') == 'log-uniform':
        return torch.exp(math.log(s['min']) + u * (math.log(s['max']) - math.log(s['min'])))
    return s['min'] + u * (s['max'] - s['min'])


def make_batch(data, cfg, gen, count):
    size = cfg['patchSize']
    clean, mask, units = data.draw(count, size, cfg['augment'], cfg['maxEmptyFraction'], gen)
    noise = torch.empty_like(clean)
    which = torch.randint(0, len(cfg['noise']), (count,), device=clean.device, generator=gen)
    for k, spec in enumerate(cfg['noise']):
        s = (which == k).nonzero().squeeze(1)
        if s.numel() == 0:
            continue
        if spec.get('units', 'absolute') != 'absolute':
            raise SystemExit('torch_train: only absolute noise levels are supported')
        sigma = levels(spec, s.numel(), clean.device, gen) / units[s, 0]  # data units → network units
        noise[s] = noise_of(spec, s.numel(), size, clean.device, gen) * sigma[:, None, None]
    # The window clips the noisy input as normalise() does (the clean target lies inside it already).
    noisy = torch.minimum(torch.maximum(clean + noise, units[:, 1, None, None]), units[:, 2, None, None])
    w = (~mask).float()
    if cfg['lossWeighting'] != 'uniform':  # train.ts weighByNoisePower, relative to a 1 % noise
        power = ((noisy - clean) ** 2 * w).sum((1, 2)) / w.sum((1, 2)).clamp(min=1)
        e = 1.0 if cfg['lossWeighting'] == 'noise-level' else 0.5
        w = w * ((1e-4 / power.clamp(min=1e-10)) ** e)[:, None, None]
    return noisy[:, None], clean[:, None], w[:, None]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', required=True, help='folder from train:defaults --engine torch --export')
    ap.add_argument('--out', required=True, help='folder for weights.json, weights.bin, history.json')
    ap.add_argument('--steps', type=int, help='optimiser steps (default: the recipe\'s epochs × stepsPerEpoch)')
    ap.add_argument('--minutes', type=float, help='instead of --steps: as many steps as fit this long (timed on the first 30)')
    ap.add_argument('--batch', type=int, help='patches per step (default: the recipe\'s batchSize)')
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--init', help='a weights folder (this format) to start from instead of He-normal weights')
    ap.add_argument('--manifest', help='another manifest.json for the same slices (e.g. the recipe with other settings)')
    ap.add_argument('--checkpoint-minutes', type=float, default=1.0, help='how often the weights so far are written (partial)')
    ap.add_argument('--threads', type=int, default=os.cpu_count(), help='CPU threads (PyTorch may default to one)')
    ap.add_argument('--prefetch', type=int, default=8, help='batches drawn at once: on a GPU one draw\'s Python work, not the network, bounds a step')
    args = ap.parse_args()

    manifest = args.manifest or os.path.join(args.data, 'manifest.json')
    for f in (manifest, os.path.join(args.data, 'slices.bin')):
        if not os.path.isfile(f):
            raise SystemExit(f'torch_train: {f} not found (write the data with train:defaults -- <ct|mr> --engine torch --export <dir>)')
    try:
        man = json.load(open(manifest))
    except json.JSONDecodeError as e:
        raise SystemExit(f'torch_train: {manifest}: not JSON ({e})')
    cfg, arch = man['config'], man['config']['architecture']
    if arch['kind'] != 'dncnn' or arch.get('batchNorm') or arch.get('noiseMap') or arch.get('activation', 'relu') != 'relu':
        raise SystemExit('torch_train: only plain DnCNN (ReLU, no batch norm, no noise map) is trained here')
    if cfg['mode'] != 'supervised':
        raise SystemExit(f"torch_train: mode {cfg['mode']!r}: only supervised training is done here")
    if cfg['patchSize'] % arch.get('downscale', 1):
        raise SystemExit(f"torch_train: patchSize {cfg['patchSize']} is not a multiple of architecture.downscale {arch['downscale']}")
    if args.batch:
        cfg['batchSize'] = args.batch
    torch.backends.cudnn.allow_tf32 = False  # σ 4 HU is 1e-3 of the window: TF32's 10-bit mantissa would blur it
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    dev = torch.device(args.device)
    if args.threads < 1:
        raise SystemExit(f'torch_train: --threads {args.threads}: expected at least 1')
    torch.set_num_threads(args.threads)
    seed = int(cfg.get('seed', 1))
    torch.manual_seed(seed)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed)
    data = Slices(args.data, man, dev)
    dil = arch.get('dilations') or [1] * (arch['depth'] - 2)
    model = DnCNN(arch['depth'], arch['width'], arch.get('kernelSize', 3), dil, arch.get('downscale', 1)).to(dev)
    if args.init:
        for p, w in zip(model.parameters(), read_weights(args.init)):
            if tuple(p.shape) != tuple(w.shape):
                raise SystemExit(f'--init: a tensor of shape {tuple(w.shape)} where the network has {tuple(p.shape)}')
            p.data.copy_(w)
    opt = torch.optim.Adam(model.parameters(), lr=cfg['optimizer']['learningRate'])
    base = cfg['optimizer']['learningRate']
    floor = cfg.get('schedule', {}).get('minRate', base * 0.01)
    warm = cfg.get('fineTune', {}).get('warmupSteps', 0) if args.init else 0
    steps = args.steps or cfg['epochs'] * cfg['stepsPerEpoch']
    log(f"torch_train: {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU'}), torch {torch.__version__}; "
        f"{len(man['slices'])} slices, DnCNN {arch['depth']}×{arch['width']} dilations {dil} downscale {arch.get('downscale', 1)}, batch {cfg['batchSize']}×{cfg['patchSize']}², "
        f"noise {[n['kind'] for n in cfg['noise']]}, loss {cfg['lossWeighting']}")

    def rate(k, progress):
        if k < warm:
            return base * (k + 1) / warm
        return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * min(1.0, progress)))

    # With --minutes the schedule runs on the clock (the cosine over the budget's fraction spent):
    # other runs sharing the GPU change the pace, and the run still ends on time.
    budget = args.minutes * 60 if args.minutes else None
    history, started, k, avg = [], time.time(), 0, None
    saved = started
    every = lambda k: 100 if k <= 1000 else 500  # noqa: E731 — a closer look at the start
    queue = []

    def progress():
        return (time.time() - started) / budget if budget else (k - warm) / max(1, steps - warm)

    while (progress() < 1) if budget else (k < steps):
        lr = rate(k, progress())
        for g in opt.param_groups:
            g['lr'] = lr
        if not queue:
            b = cfg['batchSize']
            queue = list(zip(*(t.split(b) for t in make_batch(data, cfg, gen, b * max(1, args.prefetch)))))
        x, y, w = queue.pop(0)
        if k == 0:  # the loss of doing nothing: what the curve must fall below
            log(f'torch_train: the noisy input as output: loss {float(((x - y) ** 2 * w).sum() / w.numel()):.4e}')
        loss = ((model(x) - y) ** 2 * w).sum() / w.numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        k += 1
        if k % 25 == 0:
            v = float(loss.detach())
            avg = v if avg is None else 0.9 * avg + 0.1 * v
        if k % every(k) == 0:
            history.append({'step': k, 'loss': avg, 'learningRate': lr, 'seconds': round(time.time() - started, 1)})
            log(f'torch_train: step {k}{"" if budget else f"/{steps}"} loss {avg:.4e} lr {lr:.2e} {time.time() - started:.0f} s')
        if time.time() - saved > args.checkpoint_minutes * 60:  # a run cut short still leaves weights
            write_weights(model, args.out, {'steps': k, 'partial': True})
            json.dump(history, open(os.path.join(args.out, 'history.json'), 'w'))
            saved = time.time()
    total = k
    write_weights(model, args.out, {
        'steps': total, 'batchSize': cfg['batchSize'], 'seconds': round(time.time() - started, 1),
        'device': torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU', 'torch': torch.__version__,
    })
    json.dump(history, open(os.path.join(args.out, 'history.json'), 'w'))
    log(f'torch_train: {total} steps in {time.time() - started:.0f} s → {args.out}')


if __name__ == '__main__':
    sys.exit(main())
