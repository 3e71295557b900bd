#!/usr/bin/env python3
"""Reference MPII PCKh, transcribed from the standard evaluation used by Simple
Baselines / HRNet / MSPN (lib/dataset/mpii.py::evaluate), with two additions:
a genuine threshold-0.10 Mean ("Mean@0.1") and the official toolkit's AUC
(trapezoidal area under the pooled PCKh curve for thresholds 0:0.01:0.5,
the threshold axis rescaled to [0, 1]).

It is the oracle for posenet's C++ evaluation (eval/pckh.cpp). It needs numpy
and scipy, which the project itself does not.

Usage:
  # score a pred.mat (N x 16 x 2, 1-based pixels, ground-truth order):
  python3 tests/reference/mpii_pckh_reference.py --gt gt_valid.mat --pred pred.mat
  # write the deterministic perturbed prediction set used by
  # tests/test_pckh.cpp (PckhReference.*) and score it:
  python3 tests/reference/mpii_pckh_reference.py --gt gt_valid.mat --write-perturbed /tmp/perturbed.mat
Both print one JSON object with the columns and the per-joint PCKh.
"""
import argparse
import json

import numpy as np
from scipy.io import loadmat, savemat

SC_BIAS = 0.6
THRESHOLD = 0.5


def perturbed_predictions(pos_gt_src, headboxes_src):
    """Ground truth moved by a deterministic offset per (person, joint).

    With k = 16 * n + j:
      u = (k * 2654435761 mod 2^32) / 2^32   -> radius u * 0.7 * headsize
      v = (k * 40503 mod 65536) / 65536      -> angle 2 * pi * v
    so normalised errors spread over [0, 0.7). Every 7th person's joint 3 is
    moved by 1000 px (a gross miss); missing joints get (-1, -1).
    Returns N x 16 x 2 (1-based pixels).
    """
    n_persons = pos_gt_src.shape[2]
    headsizes = np.linalg.norm(headboxes_src[1, :, :] - headboxes_src[0, :, :], axis=0) * SC_BIAS
    preds = np.zeros((n_persons, 16, 2), dtype=np.float64)
    for n in range(n_persons):
        for j in range(16):
            k = 16 * n + j
            u = ((k * 2654435761) % (2 ** 32)) / float(2 ** 32)
            v = ((k * 40503) % 65536) / 65536.0
            r = u * 0.7 * headsizes[n]
            a = 2.0 * np.pi * v
            preds[n, j, 0] = pos_gt_src[j, 0, n] + r * np.cos(a)
            preds[n, j, 1] = pos_gt_src[j, 1, n] + r * np.sin(a)
            if n % 7 == 0 and j == 3:
                preds[n, j, 0] += 1000.0
    return preds


def evaluate(preds, gt_file):
    """preds: N x 16 x 2 in 1-based pixels. The body of SB's evaluate() after
    its `preds = preds[:, :, 0:2] + 1.0`."""
    gt_dict = loadmat(gt_file)
    dataset_joints = gt_dict['dataset_joints']
    jnt_missing = gt_dict['jnt_missing']
    pos_gt_src = gt_dict['pos_gt_src']
    headboxes_src = gt_dict['headboxes_src']

    pos_pred_src = np.transpose(preds, [1, 2, 0])

    head = np.where(dataset_joints == 'head')[1][0]
    lsho = np.where(dataset_joints == 'lsho')[1][0]
    lelb = np.where(dataset_joints == 'lelb')[1][0]
    lwri = np.where(dataset_joints == 'lwri')[1][0]
    lhip = np.where(dataset_joints == 'lhip')[1][0]
    lkne = np.where(dataset_joints == 'lkne')[1][0]
    lank = np.where(dataset_joints == 'lank')[1][0]

    rsho = np.where(dataset_joints == 'rsho')[1][0]
    relb = np.where(dataset_joints == 'relb')[1][0]
    rwri = np.where(dataset_joints == 'rwri')[1][0]
    rkne = np.where(dataset_joints == 'rkne')[1][0]
    rank = np.where(dataset_joints == 'rank')[1][0]
    rhip = np.where(dataset_joints == 'rhip')[1][0]

    jnt_visible = 1 - jnt_missing
    uv_error = pos_pred_src - pos_gt_src
    uv_err = np.linalg.norm(uv_error, axis=1)
    headsizes = headboxes_src[1, :, :] - headboxes_src[0, :, :]
    headsizes = np.linalg.norm(headsizes, axis=0)
    headsizes *= SC_BIAS
    scale = np.multiply(headsizes, np.ones((len(uv_err), 1)))
    scaled_uv_err = np.divide(uv_err, scale)
    scaled_uv_err = np.multiply(scaled_uv_err, jnt_visible)
    jnt_count = np.sum(jnt_visible, axis=1)
    less_than_threshold = np.multiply((scaled_uv_err <= THRESHOLD), jnt_visible)
    PCKh = np.divide(100. * np.sum(less_than_threshold, axis=1), jnt_count)

    rng = np.arange(0, 0.5 + 0.01, 0.01)
    pckAll = np.zeros((len(rng), 16))
    for r in range(len(rng)):
        threshold = rng[r]
        less_than_threshold = np.multiply(scaled_uv_err <= threshold, jnt_visible)
        pckAll[r, :] = np.divide(100. * np.sum(less_than_threshold, axis=1), jnt_count)

    # Addition: a genuine 0.10 threshold (the standard script reports pckAll[11], i.e. 0.11).
    less_than_01 = np.multiply(scaled_uv_err <= 0.1, jnt_visible)
    pck01 = np.divide(100. * np.sum(less_than_01, axis=1), jnt_count)

    per_joint = PCKh.copy()
    PCKh = np.ma.array(PCKh, mask=False)
    PCKh.mask[6:8] = True

    jnt_count = np.ma.array(jnt_count, mask=False)
    jnt_count.mask[6:8] = True
    jnt_ratio = jnt_count / np.sum(jnt_count).astype(np.float64)

    # Addition: AUC of the official toolkit: trapezoid under the pooled
    # (count-weighted, 14-joint) curve, thresholds rescaled to [0, 1].
    mean_curve = np.array([np.sum(pckAll[r, :] * jnt_ratio) for r in range(len(rng))])
    auc = float(np.trapz(mean_curve, dx=1.0 / (len(rng) - 1)))

    return {
        'Head': float(PCKh[head]),
        'Shoulder': float(0.5 * (PCKh[lsho] + PCKh[rsho])),
        'Elbow': float(0.5 * (PCKh[lelb] + PCKh[relb])),
        'Wrist': float(0.5 * (PCKh[lwri] + PCKh[rwri])),
        'Hip': float(0.5 * (PCKh[lhip] + PCKh[rhip])),
        'Knee': float(0.5 * (PCKh[lkne] + PCKh[rkne])),
        'Ankle': float(0.5 * (PCKh[lank] + PCKh[rank])),
        'Mean': float(np.sum(PCKh * jnt_ratio)),
        'Mean@0.1': float(np.sum(np.ma.array(pck01, mask=PCKh.mask) * jnt_ratio)),
        'Mean@0.11 (standard script)': float(np.sum(pckAll[11, :] * jnt_ratio)),
        'AUC': auc,
        'per_joint': [float(x) for x in per_joint],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--gt', required=True, help='gt_valid.mat')
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--pred', help='pred.mat with preds (N x 16 x 2, 1-based)')
    group.add_argument('--write-perturbed', help='write the perturbed prediction set here and score it')
    args = parser.parse_args()
    if args.pred:
        preds = loadmat(args.pred)['preds'].astype(np.float64)
    else:
        gt = loadmat(args.gt)
        preds = perturbed_predictions(gt['pos_gt_src'], gt['headboxes_src'])
        preds[np.transpose(gt['jnt_missing'], [1, 0]) == 1] = -1.0
        savemat(args.write_perturbed, mdict={'preds': preds})
    print(json.dumps(evaluate(preds, args.gt), indent=1))


if __name__ == '__main__':
    main()
