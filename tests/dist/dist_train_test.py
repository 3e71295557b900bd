#!/usr/bin/env python3
"""Data-parallel training runs under mpirun, compared with single-process ones.

  sync-bn      2 ranks x batch 8 with --sync-bn give the per-step losses of
               one process with batch 16 (float32 tolerance).
  coco         COCO validation sharded across 2 ranks predicts what one
               process does (results_valid.json, to rounding); skipped
               (exit 77) without the COCO sample of POSENET_TEST_COCO_DIR.
  non-finite   a learning rate that blows the weights up stops every rank with
               a message naming a rank; the last checkpoint stays intact.
  kill-resume  SIGKILL of one rank mid-run ends the other within 60 s with a
               message naming the rank; --resume then continues exactly
               (every step's loss equals an uninterrupted run's); SIGTERM
               to one rank stops both at one step with a checkpoint, and
               a resume continues exactly too.

Usage: dist_train_test.py MODE POSENET WORKDIR DEVICE MPIRUN [MPIRUN ARGS...]
(DEVICE: cpu, or cuda:0 in emulated CUDA builds, where both ranks share the
emulated device and MPI stages its tensors through the host)
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

COMMON = ["--model", "tiny", "--data", "synthetic", "--synthetic-count", "200", "--synthetic-size", "64",
          "--input-size", "64", "--epochs", "1", "--max-steps", "6", "--val-every", "0", "--workers", "1",
          "--lr", "0.002", "--sigmas", "1.0", "--seed", "3", "--progress", "false", "--device", "cpu"]


def run(cmd, **kw):
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def losses(out_dir):
    """global_step -> loss, the last record of each step winning (a resume repeats steps)."""
    steps = {}
    with open(os.path.join(out_dir, "log.jsonl")) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # a line being written while a running job is polled
            r = json.loads(line)
            if r.get("type") == "step":
                steps[r["global_step"]] = r["loss"]
    return steps


def validation(out_dir):
    """The last epoch record's validation scores."""
    found = None
    with open(os.path.join(out_dir, "log.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == "epoch" and "validation" in r:
                found = r["validation"]
    return found


def require(ok, message):
    if not ok:
        print("FAIL:", message, flush=True)
        sys.exit(1)


def same_losses(a, b, rtol, what):
    require(sorted(a) == sorted(b), f"{what}: steps {sorted(a)} vs {sorted(b)}")
    for step in sorted(a):
        x, y = a[step], b[step]
        require(abs(x - y) <= rtol * abs(y), f"{what}: step {step} loss {x!r} vs {y!r}")
        print(f"step {step}: {x:.9g} vs {y:.9g}")


def checked(result, what):
    print(result.stdout, flush=True)
    require(result.returncode == 0, f"{what} exited {result.returncode}")


def sync_bn(posenet, work, mpirun):
    # SGD: the two runs sum in different orders, and Adam would turn the
    # rounding noise of gradients that are zero in exact arithmetic (a
    # convolution's bias before batch norm) into whole steps of either sign.
    args = [*COMMON, "--optimizer", "sgd"]
    args[args.index("--lr") + 1] = "0.05"
    args[args.index("--val-every") + 1] = "1"
    single, double = os.path.join(work, "single"), os.path.join(work, "two_ranks")
    checked(run([posenet, "train", *args, "--batch-size", "16", "--out", single]), "one process")
    checked(run([*mpirun, "-np", "2", posenet, "train", *args, "--batch-size", "8", "--sync-bn", "--out", double]),
            "two ranks")
    same_losses(losses(double), losses(single), 1e-5, "2 x 8 with --sync-bn against 1 x 16")
    # Validation, sharded across the ranks, scores the (same) weights alike.
    ours, theirs = validation(double), validation(single)
    print("validation:", ours, "vs", theirs)
    require(ours is not None and ours == theirs, "the sharded validation differs")
    require(os.path.exists(os.path.join(double, "pred_valid.mat")), "rank 0 wrote no predictions")
    require(not os.path.exists(os.path.join(double, "log.jsonl.1")), "a second rank wrote a log")


def coco(posenet, work, mpirun):
    data = os.environ.get("POSENET_TEST_COCO_DIR", "")
    annotations = os.path.join(data, "person_keypoints_sample.json")
    if not os.path.exists(annotations):
        print(f"skipped: no COCO sample at {annotations}")
        sys.exit(77)
    spec = f"coco:{annotations}:{os.path.join(data, 'images')}"
    args = ["--data", spec, "--val-data", spec, "--model", "tiny", "--width", "0.125", "--decoder-channels", "16",
            "--input-size", "64", "32", "--workers", "0", "--progress", "false", "--epochs", "1", "--max-steps", "2",
            "--optimizer", "sgd", "--lr", "0.01", "--seed", "3", "--device", COMMON[COMMON.index("--device") + 1]]
    single, double = os.path.join(work, "single"), os.path.join(work, "two_ranks")
    checked(run([posenet, "train", *args, "--batch-size", "4", "--out", single]), "one process")
    checked(run([*mpirun, "-np", "2", posenet, "train", *args, "--batch-size", "2", "--sync-bn", "--out", double]),
            "two ranks")
    with open(os.path.join(single, "results_valid.json")) as f:
        theirs = json.load(f)
    with open(os.path.join(double, "results_valid.json")) as f:
        ours = json.load(f)
    require(len(ours) == len(theirs) > 0, f"{len(ours)} detections against {len(theirs)}")
    for a, b in zip(ours, theirs):
        require(a["image_id"] == b["image_id"], "the detections' order differs")
        worst = max(abs(x - y) for x, y in zip(a["keypoints"], b["keypoints"]))
        require(worst <= 1e-3, f"image {a['image_id']}: keypoints differ by {worst}")
    print(f"{len(ours)} detections agree")


def non_finite(posenet, work, mpirun):
    args = [*COMMON, "--batch-size", "8", "--optimizer", "sgd", "--save-every", "1"]
    args[args.index("--lr") + 1] = "1e12"
    out = os.path.join(work, "blown_up")
    result = run([*mpirun, "-np", "2", posenet, "train", *args, "--out", out], timeout=120)
    print(result.stdout, flush=True)
    require(result.returncode != 0, "the run exited 0 although its weights went non-finite")
    require(re.search(r"rank [01]: non-finite", result.stdout) is not None, "no message naming the rank")
    require(os.path.exists(os.path.join(out, "last.safetensors")), "the last good checkpoint is gone")
    with open(os.path.join(out, "last.safetensors"), "rb") as f:  # a whole safetensors file: header, then data
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
        require(json.loads(header["__metadata__"]["progress"])["global_step"] == 1, "the checkpoint is not step 1's")


def rank_pids(out_dir, rank):
    """The pids of posenet processes training into out_dir as MPI rank `rank`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            if out_dir.encode() not in cmd or b"train" not in cmd:
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
            if f"OMPI_COMM_WORLD_RANK={rank}".encode() in env:
                pids.append(int(pid))
        except OSError:
            pass
    return pids


def start_and_signal_rank_1(mpirun, posenet, args, out_dir, step, sig):
    """Starts a 2-rank run and sends rank 1 `sig` once `step` is logged."""
    proc = subprocess.Popen([*mpirun, "-np", "2", posenet, "train", *args, "--out", out_dir],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = os.path.join(out_dir, "log.jsonl")
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(log) and any(s >= step for s in losses(out_dir)):
            break
        time.sleep(0.02)
    pids = rank_pids(out_dir, 1)
    require(proc.poll() is None and pids, "the run ended (or rank 1 was not found) before the signal")
    os.kill(pids[0], sig)
    return proc


def kill_resume(posenet, work, mpirun):
    args = [*COMMON, "--batch-size", "8", "--save-every", "2"]
    args[args.index("--max-steps") + 1] = "10"
    whole, broken = os.path.join(work, "uninterrupted"), os.path.join(work, "killed")
    checked(run([*mpirun, "-np", "2", posenet, "train", *args, "--out", whole]), "uninterrupted run")
    # The kill comes once step 5 is logged, after the checkpoint of step 4
    # and before the end (step 10).
    proc = start_and_signal_rank_1(mpirun, posenet, args, broken, 5, signal.SIGKILL)
    killed_at = time.time()
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        require(False, "rank 0 still runs 60 s after rank 1 was killed")
    print(out, flush=True)
    print(f"the run ended {time.time() - killed_at:.1f} s after the kill, exit {proc.returncode}")
    require(proc.returncode != 0, "the run exited 0 although a rank was killed")
    require("rank 1" in out, "no message names rank 1")
    require(os.path.exists(os.path.join(broken, "last.safetensors")), "no checkpoint survived")
    done = max(losses(broken))
    require(done < 10, f"the killed run got to step {done}")
    # Resuming on another world size: one process continues the epoch after
    # the samples the two ranks took (S steps of 16 = batch 2 S of 8, at most
    # the epoch's 10). The checkpoint is step 4's or step 6's: a step's record
    # is logged one step late, so step 6 may be saved before the kill lands.
    alone = os.path.join(work, "resumed_alone")
    shutil.copytree(broken, alone)
    result = run([posenet, "train", "--resume", "--out", alone, "--progress", "false"])
    checked(result, "resumed by one process")
    saved = re.search(r"\(step (\d+)\)", result.stdout)
    require(saved is not None, "the resume does not name the checkpoint's step")
    batch = min(2 * int(saved.group(1)), 10)
    require("the run had 2 processes, now 1" in result.stdout and f"continues at batch {batch}" in result.stdout,
            "no word of the world-size change")
    checked(run([*mpirun, "-np", "2", posenet, "train", "--resume", "--out", broken, "--progress", "false"]),
            "resumed run")
    same_losses(losses(broken), losses(whole), 0.0, "killed and resumed against uninterrupted")

    # SIGTERM to rank 1 alone: every rank stops after the same step, rank 0
    # writes the checkpoint before any rank exits, and a resume continues exactly.
    stopped = os.path.join(work, "terminated")
    proc = start_and_signal_rank_1(mpirun, posenet, args, stopped, 3, signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    print(out, flush=True)
    require(proc.returncode == 128 + signal.SIGTERM, f"the run exited {proc.returncode}, not 143")
    with open(os.path.join(stopped, "log.jsonl")) as f:
        records = [json.loads(line) for line in f]
    stops = [r for r in records if r.get("type") == "stopped"]
    require(len(stops) == 1 and stops[0]["global_step"] == max(losses(stopped)), "no stop record at the last step")
    checked(run([*mpirun, "-np", "2", posenet, "train", "--resume", "--out", stopped, "--progress", "false"]),
            "resumed after SIGTERM")
    same_losses(losses(stopped), losses(whole), 0.0, "stopped by SIGTERM and resumed against uninterrupted")


def main():
    mode, posenet, work, device, mpirun = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3]), sys.argv[4], sys.argv[5:]
    COMMON[COMMON.index("--device") + 1] = device
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    {"sync-bn": sync_bn, "coco": coco, "non-finite": non_finite, "kill-resume": kill_resume}[mode](posenet, work, mpirun)
    print("OK")


if __name__ == "__main__":
    main()
