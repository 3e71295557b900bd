#!/usr/bin/env python3
"""Golden fixtures for tests/test_models.cpp, made with PyTorch.

Builds the networks of models/ (ResNet encoder at a width multiplier, the
deconvolution decoder with optional lateral "channel-wise plus", the
single-stage hourglass and the multi-stage tick-tock network) in PyTorch with
exactly the parameter names the C++ models use, runs one training step's
forward and backward in float64, and writes what the C++ test compares:

  tests/fixtures/models_hourglass_tiny.safetensors
  tests/fixtures/models_multistage_tiny.safetensors
  tests/fixtures/models_hourglass_r50_tiny.safetensors    (Bottleneck blocks)
  tests/fixtures/models_simplebaseline_tiny.safetensors   (no laterals)
  tests/fixtures/torchvision_resnet_keys.json

Each safetensors fixture holds (PyTorch layouts, NCHW activations, OIHW conv
weights, [Cin, Cout, R, S] deconv weights):
  state.<name>        every parameter and BN running statistic before the
                      step (float32: the values are drawn in float32, so the
                      float32 and float64 C++ runs start from the same numbers)
  input               [N, 3, H, W] float32 image batch
  target.<s>          [N, J, H/4, W/4] float32 target heatmaps of stage s
  target_weight       [N, J] float32 per-joint weights (0 or 1)
  heatmap.<s>         [N, J, H/4, W/4] float64 training-mode heatmaps of stage s
  loss                [] float64: sum over stages of 0.5 * mean((w * (H_s - T_s))^2)
  grad.<name>         float64 gradient of the loss for every parameter
  running.<name>      float64 BN running_mean / running_var after the forward
  eval_heatmap.<s>    float64 eval-mode heatmaps with the updated running stats
and in its metadata the model name and options, plus, for each compared
quantity, how far a float32 PyTorch run of the same step is from the float64
one (max |f32 - f64| / max |f64|), which sizes the C++ float32 tolerances.

The torchvision key fixture lists torchvision's ResNet-18 and ResNet-50 state
dict names and shapes (full-size checkpoints are tens of MB, too big to
commit) and the parameter counts of every depth without fc.

Run from the repository root with Debian's python3-torch / torchvision:
    /usr/bin/python3 tests/reference/make_fixtures.py [--check-only] [--only NAME ...]
(--only writes just the named fixture files, e.g. models_simplebaseline_tiny;
each fixture has its own seed, so the others do not change either way.)
It needs no safetensors package: the writer is below.
"""
import argparse
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

DEPTHS = {
    18: (BasicBlock, [2, 2, 2, 2]),
    34: (BasicBlock, [3, 4, 6, 3]),
    50: (Bottleneck, [3, 4, 6, 3]),
    101: (Bottleneck, [3, 4, 23, 3]),
    152: (Bottleneck, [3, 8, 36, 3]),
}


def scaled(channels, width):
    """Channel count at a width multiplier (models/resnet.cpp: scaled_channels)."""
    return max(1, int(round(channels * width)))


class Encoder(nn.Module):
    """torchvision's ResNet without avgpool/fc, at a width multiplier, with or
    without the stem (conv1, bn1, ReLU, max-pool). Returns C2..C5."""

    def __init__(self, depth, width=1.0, with_stem=True):
        super().__init__()
        block, layers = DEPTHS[depth]
        self.stem_channels = scaled(64, width)
        self.with_stem = with_stem
        if with_stem:
            self.conv1 = nn.Conv2d(3, self.stem_channels, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(self.stem_channels)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.inplanes = self.stem_channels
        self.layer1 = self._make_layer(block, scaled(64, width), layers[0], 1)
        self.layer2 = self._make_layer(block, scaled(128, width), layers[1], 2)
        self.layer3 = self._make_layer(block, scaled(256, width), layers[2], 2)
        self.layer4 = self._make_layer(block, scaled(512, width), layers[3], 2)
        self.out_channels = [scaled(c, width) * block.expansion for c in (64, 128, 256, 512)]

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def stem(self, x):
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward_layers(self, x):
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c2, c3, c4, c5]


class Decoder(nn.Module):
    """Three 4x4/2 deconvolutions with BN and ReLU; with laterals, after deconv
    i the encoder feature of the same resolution through 1x1 conv + BN is added
    before the ReLU (lateral1 = C4, lateral2 = C3, lateral3 = C2)."""

    def __init__(self, encoder_channels, channels, laterals):
        super().__init__()
        self.laterals = laterals
        cin = encoder_channels[3]
        for i in range(1, 4):
            setattr(self, f"deconv{i}", nn.ConvTranspose2d(cin, channels, 4, 2, 1, bias=False))
            setattr(self, f"deconv_bn{i}", nn.BatchNorm2d(channels))
            if laterals:
                setattr(self, f"lateral{i}", nn.Conv2d(encoder_channels[3 - i], channels, 1, bias=False))
                setattr(self, f"lateral_bn{i}", nn.BatchNorm2d(channels))
            cin = channels

    def forward(self, feats):
        x = feats[3]
        for i in range(1, 4):
            y = getattr(self, f"deconv_bn{i}")(getattr(self, f"deconv{i}")(x))
            if self.laterals:
                y = y + getattr(self, f"lateral_bn{i}")(getattr(self, f"lateral{i}")(feats[3 - i]))
            x = F.relu(y)
        return x


class SingleStage(nn.Module):
    def __init__(self, depth, width, joints, decoder_channels, laterals):
        super().__init__()
        self.encoder = Encoder(depth, width, True)
        self.decoder = Decoder(self.encoder.out_channels, decoder_channels, laterals)
        self.head = nn.Conv2d(decoder_channels, joints, 1, bias=True)

    def forward(self, x):
        p = self.decoder(self.encoder.forward_layers(self.encoder.stem(x)))
        return [self.head(p)]


class Stage(nn.Module):
    def __init__(self, index, depth, width, joints, decoder_channels, laterals, tick):
        super().__init__()
        self.encoder = Encoder(depth, width, with_stem=(index == 0))
        self.decoder = Decoder(self.encoder.out_channels, decoder_channels, laterals)
        self.head = nn.Conv2d(decoder_channels, joints, 1, bias=True)
        if index > 0 and tick:
            self.tick = nn.Conv2d(decoder_channels, self.encoder.stem_channels, 1, bias=False)
            self.tick_bn = nn.BatchNorm2d(self.encoder.stem_channels)


class MultiStage(nn.Module):
    """Tick: X_s = X_{s-1} + ReLU(BN(conv1x1(P_{s-1}))); tock: P_s =
    decoder_s(encoder_s(X_s)) + P_{s-1}; H_s = head_s(P_s)."""

    def __init__(self, depths, width, joints, decoder_channels, laterals=True, tick=True, tock=True):
        super().__init__()
        self.use_tick, self.use_tock = tick, tock
        self.stages = nn.ModuleList(
            [Stage(s, d, width, joints, decoder_channels, laterals, tick) for s, d in enumerate(depths)])

    def forward(self, x):
        heatmaps = []
        xs, p = None, None
        for s, stage in enumerate(self.stages):
            if s == 0:
                xs = stage.encoder.stem(x)
            elif self.use_tick:
                xs = xs + F.relu(stage.tick_bn(stage.tick(p)))
            out = stage.decoder(stage.encoder.forward_layers(xs))
            p = out + p if (s > 0 and self.use_tock) else out
            heatmaps.append(stage.head(p))
        return heatmaps


def pose_loss(heatmaps, targets, weight):
    """Sum over stages of 0.5 * mean((w * (H - T))^2) (Simple Baselines'
    JointsMSELoss with target weights)."""
    w = weight[:, :, None, None]
    total = 0
    for h, t in zip(heatmaps, targets):
        total = total + 0.5 * torch.mean((w * h - w * t) ** 2)
    return total


# ---------------------------------------------------------------- safetensors

_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: sorted names, 8-byte aligned header."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# ------------------------------------------------------------------ fixtures

def randomize(model, gen):
    """Weights that exercise every path: He-scaled convs, random BN affine
    parameters and running statistics, a head of std 0.1. Drawn in float32."""
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            fan_in = m.weight[0].numel() if isinstance(m, nn.Conv2d) else m.weight.shape[0] * m.weight[0, 0].numel()
            std = 0.1 if name.endswith("head") else (2.0 / fan_in) ** 0.5
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
                if m.bias is not None:
                    m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.2 - 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.6 - 0.3)
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.4 - 0.2)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


def state_without_counters(model):
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def run_step(model, x, targets, weight):
    model.train()
    for p in model.parameters():
        p.grad = None
    heatmaps = model(x)
    loss = pose_loss(heatmaps, targets, weight)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    running = {k: v.detach().clone() for k, v in state_without_counters(model).items() if "running_" in k}
    model.eval()
    with torch.no_grad():
        eval_heatmaps = model(x)
    return [h.detach() for h in heatmaps], loss.detach(), grads, running, [h.detach() for h in eval_heatmaps]


def rel_diff(a, b):
    scale = b.abs().max().item()
    return (a.double() - b).abs().max().item() / (scale if scale > 0 else 1.0)


def make_fixture(path, model_name, make_model, options, batch, size, joints, seed, check_only):
    gen = torch.Generator().manual_seed(seed)
    model = make_model().float()
    randomize(model, gen)
    state32 = {k: v.clone() for k, v in state_without_counters(model).items()}
    stages = len(model(torch.zeros(1, 3, size, size)))
    model.load_state_dict(state32, strict=False)  # undo the running-stat update of the probe
    x = torch.randn(batch, 3, size, size, generator=gen)
    targets = [torch.rand(batch, joints, size // 4, size // 4, generator=gen) for _ in range(stages)]
    weight = (torch.rand(batch, joints, generator=gen) > 0.2).float()

    # float32 run (for the tolerance metadata), then the float64 reference.
    h32, l32, g32, r32, e32 = run_step(model, x, targets, weight)
    model64 = make_model().double()
    model64.load_state_dict({k: v.double() for k, v in state32.items()}, strict=False)
    h64, l64, g64, r64, e64 = run_step(model64, x.double(), [t.double() for t in targets], weight.double())

    f32_error = {
        "heatmap": max(rel_diff(a, b) for a, b in zip(h32, h64)),
        "loss": rel_diff(l32, l64),
        "grad": max(rel_diff(g32[k], g64[k]) for k in g64),
        "running": max(rel_diff(r32[k], r64[k]) for k in r64),
        "eval_heatmap": max(rel_diff(a, b) for a, b in zip(e32, e64)),
    }
    params = sum(p.numel() for p in model.parameters())
    print(f"{os.path.basename(path)}: {model_name} params={params} stages={stages} loss={l64.item():.10g}")
    print("  float32 vs float64 (max |d| / max |ref|):", {k: f"{v:.2e}" for k, v in f32_error.items()})
    if check_only:
        return
    tensors = {"input": x, "target_weight": weight, "loss": l64}
    for k, v in state32.items():
        tensors["state." + k] = v
    for s in range(stages):
        tensors[f"target.{s}"] = targets[s]
        tensors[f"heatmap.{s}"] = h64[s]
        tensors[f"eval_heatmap.{s}"] = e64[s]
    for k, v in g64.items():
        tensors["grad." + k] = v
    for k, v in r64.items():
        tensors["running." + k] = v
    metadata = {"model": model_name, "batch": str(batch), "input": str(size), "joints": str(joints),
                "stages": str(stages), "params": str(params), "torch": torch.__version__}
    metadata.update({k: str(v) for k, v in options.items()})
    metadata.update({"f32_error." + k: f"{v:.3e}" for k, v in f32_error.items()})
    write_safetensors(path, tensors, metadata)
    print(f"  wrote {path} ({os.path.getsize(path)} bytes)")


def torchvision_keys(check_only):
    out = {"params_without_fc": {}}
    for depth in DEPTHS:
        tv = getattr(torchvision.models, f"resnet{depth}")()
        ours = Encoder(depth, 1.0, True)
        tv_sd = {k: list(v.shape) for k, v in tv.state_dict().items() if not k.startswith("fc.")}
        our_sd = {k: list(v.shape) for k, v in ours.state_dict().items()}
        assert tv_sd == our_sd, f"resnet{depth}: encoder names/shapes differ from torchvision"
        count = sum(p.numel() for n, p in tv.named_parameters() if not n.startswith("fc."))
        out["params_without_fc"][f"resnet{depth}"] = count
        print(f"resnet{depth}: {count} parameters without fc (matches torchvision names and shapes)")
        if depth in (18, 50):
            out[f"resnet{depth}"] = {k: {"shape": list(v.shape), "dtype": _DTYPES[v.dtype]}
                                     for k, v in tv.state_dict().items()}
    if not check_only:
        path = os.path.join(FIXTURES, "torchvision_resnet_keys.json")
        # One tensor per line keeps the file short and diffable.
        lines = []
        for group in sorted(out):
            entries = [f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(out[group].items())]
            lines.append(f" {json.dumps(group)}: {{\n" + ",\n".join(entries) + "\n }")
        with open(path, "w") as f:
            f.write("{\n" + ",\n".join(lines) + "\n}\n")
        print(f"  wrote {path}")


def count_macs(model, size):
    """Multiply-accumulates per image of conv and deconv layers (the rule of
    models/info.cpp: conv = output elements * Cin/groups * R * S; deconv =
    input elements * Cout * R * S)."""
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            total[0] += out[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.ConvTranspose2d):
            total[0] += inp[0][0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return total[0]


def saved_activation_bytes(model, size):
    """Bytes of the distinct non-parameter tensors autograd saves for one
    image (compare with models/info.cpp's estimate)."""
    seen = {}
    params = {p.data_ptr() for p in model.parameters()}

    def pack(t):
        if t.data_ptr() not in params:
            seen[(t.data_ptr(), t.numel())] = t.numel() * t.element_size()
        return t

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(torch.randn(1, 3, size, size))
    return sum(seen.values())


def report_full_size():
    """Numbers the C++ info command must reproduce (hard-coded in the test)."""
    cases = [
        ("simplebaseline:r50", lambda: SingleStage(50, 1.0, 16, 256, False), 256),
        ("hourglass:r50", lambda: SingleStage(50, 1.0, 16, 256, True), 256),
        ("hourglass:r18 width 0.25 decoder 32 (64x64)", lambda: SingleStage(18, 0.25, 16, 32, True), 64),
        ("multistage:r101,r50,r50", lambda: MultiStage([101, 50, 50], 1.0, 16, 256), 256),
    ]
    for name, make, size in cases:
        m = make()
        params = sum(p.numel() for p in m.parameters())
        print(f"{name} @{size}: params={params} macs={count_macs(m, size)} "
              f"saved_activation_bytes={saved_activation_bytes(m, size)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check-only", action="store_true", help="print, write nothing")
    ap.add_argument("--only", nargs="+", metavar="NAME",
                    help="write only these fixtures (file names without .safetensors; torchvision_resnet_keys)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(FIXTURES, exist_ok=True)
    wanted = lambda name: args.only is None or name in args.only
    if wanted("torchvision_resnet_keys"):
        torchvision_keys(args.check_only)
    if args.only is None:
        report_full_size()
    fixtures = [
        ("models_hourglass_tiny", "hourglass:r18", lambda: SingleStage(18, 0.125, 16, 16, True),
         {"width": 0.125, "decoder_channels": 16}, 2, 64, 16, 1),
        ("models_multistage_tiny", "multistage:r18,r18,r18", lambda: MultiStage([18, 18, 18], 0.0625, 16, 16),
         {"width": 0.0625, "decoder_channels": 16}, 2, 64, 16, 2),
        # Bottleneck blocks (1x1 -> 3x3 stride -> 1x1 x4, a downsample branch
        # on every layer's first block), with laterals from their 4x-expanded
        # outputs. Not multistage:r50,r50: in a float32 run of that step
        # (32 Bottlenecks deep, tiny BN batches) ReLU and max-pool decisions
        # flip, so its float32 gradients differ from float64 by O(1) and a
        # float32 tolerance sized from them would test nothing; the single
        # ResNet-50 stays within 1e-2 (0.4%).
        ("models_hourglass_r50_tiny", "hourglass:r50", lambda: SingleStage(50, 0.03125, 16, 8, True),
         {"width": 0.03125, "decoder_channels": 8}, 2, 64, 16, 3),
        # Simple Baselines: the decoder without laterals.
        ("models_simplebaseline_tiny", "simplebaseline:r18", lambda: SingleStage(18, 0.0625, 16, 16, False),
         {"width": 0.0625, "decoder_channels": 16}, 2, 64, 16, 4),
    ]
    if args.only is not None:
        known = {"torchvision_resnet_keys"} | {f[0] for f in fixtures}
        unknown = sorted(set(args.only) - known)
        if unknown:
            ap.error(f"unknown fixture(s) {unknown}; known: {sorted(known)}")
    for file, model_name, make, options, batch, size, joints, seed in fixtures:
        if wanted(file):
            make_fixture(os.path.join(FIXTURES, file + ".safetensors"), model_name, make, options,
                         batch=batch, size=size, joints=joints, seed=seed, check_only=args.check_only)


if __name__ == "__main__":
    sys.exit(main())
