#!/usr/bin/env python3
"""The same training step as posenet-bench's train_step benchmarks, in PyTorch.

Builds the model with the reference definitions of tests/reference/
make_fixtures.py (the ones posenet's parity tests are checked against), then
times forward of every stage + the summed weighted-MSE loss + backward +
Adam, after warm-up. Prints one line per configuration:

  pytorch <model> <input> b<batch> <device> <mode>: <ms>/step, <img/s> img/s, peak <MiB> MiB

Usage:
  python3 bench/pytorch_train_step.py                      # the GPU set (CUDA) or the CPU one
  python3 bench/pytorch_train_step.py --device cpu --model hourglass:r18 --input 64 --batch 8 --threads 2
Modes on CUDA (--modes, comma-separated; all three by default):
  fp32-strict               float32 with TF32 off in cuDNN and matmuls
  tf32                      float32 with TF32 on: posenet's default, the row to
                            compare with posenet-bench's train_step/cuda/.../tf32
  amp-bf16-channels-last    autocast to bfloat16, channels-last memory format
cuDNN runs with benchmark=True (autotuned algorithms), PyTorch's usual setting.
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import make_fixtures as ref  # noqa: E402


def build(name, joints=16):
    kind, depths = name.split(":")
    depths = [int(d.lstrip("r")) for d in depths.split(",")]
    if kind == "multistage":
        return ref.MultiStage(depths, 1.0, joints, 256)
    return ref.SingleStage(depths[0], 1.0, joints, 256, laterals=(kind == "hourglass"))


# mode -> (TF32 allowed, autocast to bfloat16, channels-last)
CUDA_MODES = {
    "fp32-strict": (False, False, False),
    "tf32": (True, False, False),
    "amp-bf16-channels-last": (True, True, True),
}


def measure(name, size, batch, device, mode, steps, warmup):
    torch.manual_seed(0)
    model = build(name).to(device)
    tf32, amp, channels_last = CUDA_MODES[mode] if device == "cuda" else (False, False, False)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cudnn.benchmark = True
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.full((batch, 3, size, size), 0.5, device=device)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    hm = size // 4
    n_stages = len(model.stages) if hasattr(model, "stages") else 1
    targets = [torch.full((batch, 16, hm, hm), 0.1, device=device) for _ in range(n_stages)]
    weight = torch.ones(batch, 16, device=device)

    def step():
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=amp):
            heatmaps = model(x)
        loss = ref.pose_loss([h.float() for h in heatmaps], targets, weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / steps
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
    print(f"pytorch {name} {size}x{size} b{batch} {device} {mode}: {dt * 1e3:.1f} ms/step, "
          f"{batch / dt:.1f} img/s, peak {peak:.0f} MiB", flush=True)
    return dt


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--model", action="append")
    p.add_argument("--input", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--modes", default="")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}", flush=True)
    if a.device == "cuda":
        models = a.model or ["simplebaseline:r50", "multistage:r101,r50,r50"]
        modes = a.modes.split(",") if a.modes else list(CUDA_MODES)
        unknown = [m for m in modes if m not in CUDA_MODES]
        if unknown:
            p.error(f"--modes: unknown mode(s) {', '.join(unknown)}; expected some of {', '.join(CUDA_MODES)}")
        for m in models:
            for mode in modes:
                measure(m, a.input or 256, a.batch or 32, "cuda", mode, a.steps or 20, 3)
    else:
        for m in a.model or ["hourglass:r18"]:
            measure(m, a.input or 64, a.batch or 8, "cpu", "fp32", a.steps or 5, 1)


if __name__ == "__main__":
    main()
