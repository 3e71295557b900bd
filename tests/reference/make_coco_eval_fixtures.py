#!/usr/bin/env python3
"""Reference numbers for tests/test_coco_eval.cpp, made with pycocotools.

Builds small hand-made COCO person-keypoint cases, each a ground-truth file
and a keypoint results file, runs the official evaluation (COCOeval with
iouType='keypoints') on them and writes into tests/fixtures/coco_eval/:

  NAME.gt.json        annotations (images, annotations, categories)
  NAME.results.json   keypoint results [{image_id, category_id, keypoints, score}]
  expected.json       {NAME: [AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl]}
                      as COCOeval.stats (fractions, -1 where undefined)

The case "coco_sample" scores perturbed copies of the real COCO val2017
sample's persons (../shared/data/coco, not copied here: only its results
file is written and the test reads the annotations from the shared data).

Not run in CI:  python3 -m venv venv && venv/bin/pip install pycocotools
                venv/bin/python tests/reference/make_coco_eval_fixtures.py
"""
import contextlib
import io
import json
import math
import os
import random

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "coco_eval")
SHARED_COCO = os.path.join(HERE, "..", "..", "..", "shared", "data", "coco", "person_keypoints_sample.json")
K = 17
SIGMAS = [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]
CATEGORY = {"id": 1, "name": "person", "supercategory": "person",
            "keypoints": ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                          "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
                          "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]}


def r3(x):
    return round(x, 3)


class Case:
    def __init__(self, name, seed):
        self.name = name
        self.rng = random.Random(seed)
        self.images = []
        self.annotations = []
        self.results = []
        self.categories = [CATEGORY]
        self.next_ann = 1

    def image(self, image_id):
        self.images.append({"id": image_id, "file_name": f"{image_id:012d}.jpg", "width": 640, "height": 480})
        return image_id

    def person(self, image_id, x, y, w, h, visible=K, labelled_zero=False, iscrowd=0, num_keypoints=None,
               area=None, ann_id=None, category_id=1):
        """A person in box (x, y, w, h): `visible` labelled keypoints (v 1 or 2) at random places in the box."""
        rng = self.rng
        kps = []
        labelled = set(rng.sample(range(K), visible))
        for k in range(K):
            if k in labelled and not labelled_zero:
                kps += [r3(x + rng.uniform(0, w)), r3(y + rng.uniform(0, h)), rng.choice([1, 2])]
            else:
                kps += [0, 0, 0]
        n = sum(1 for k in range(K) if kps[3 * k + 2] > 0)
        ann = {"id": self.next_ann if ann_id is None else ann_id, "image_id": image_id, "category_id": category_id,
               "keypoints": kps, "num_keypoints": n if num_keypoints is None else num_keypoints,
               "area": r3(w * h * 0.6) if area is None else area, "iscrowd": iscrowd,
               "bbox": [r3(x), r3(y), r3(w), r3(h)]}
        self.next_ann += 1
        self.annotations.append(ann)
        return ann

    def detect(self, ann, noise, score, drop=0.0, category_id=None, bbox=None):
        """A detection of `ann`: its keypoints moved by Gaussian noise of `noise` x sqrt(area) px;
        unlabelled keypoints are guessed somewhere in the box."""
        rng = self.rng
        s = math.sqrt(max(ann["area"], 1.0))
        x, y, w, h = ann["bbox"]
        kps = []
        for k in range(K):
            gx, gy, v = ann["keypoints"][3 * k:3 * k + 3]
            if v == 0 or rng.random() < drop:
                gx, gy = x + rng.uniform(0, w), y + rng.uniform(0, h)
            kps += [r3(gx + rng.gauss(0, noise * s)), r3(gy + rng.gauss(0, noise * s)), r3(rng.uniform(0.05, 1))]
        return self.add_result(ann["image_id"], kps, score, ann["category_id"] if category_id is None else category_id,
                               bbox)

    def add_result(self, image_id, kps, score, category_id=1, bbox=None):
        r = {"image_id": image_id, "category_id": category_id, "keypoints": kps, "score": score}
        if bbox is not None:
            r["bbox"] = bbox
        self.results.append(r)
        return r

    def random_result(self, image_id, x, y, w, h, score):
        rng = self.rng
        kps = []
        for _ in range(K):
            kps += [r3(x + rng.uniform(0, w)), r3(y + rng.uniform(0, h)), r3(rng.uniform(0, 1))]
        return self.add_result(image_id, kps, score)

    def gt(self):
        return {"images": self.images, "annotations": self.annotations, "categories": self.categories}


def evaluate(gt_path, results_path):
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(gt_path)
        coco_dt = coco_gt.loadRes(results_path)
        e = COCOeval(coco_gt, coco_dt, "keypoints")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return [float(v) for v in e.stats]


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def basic():
    c = Case("basic", 1)
    for img in (1, 2, 3):
        c.image(img)
        for p in range(3):
            ann = c.person(img, 40 + 150 * p, 60, 90 + 20 * p, 220)
            c.detect(ann, noise=0.02 + 0.03 * p, score=round(0.9 - 0.1 * p - 0.01 * img, 3))
    return c


def crowd():
    c = Case("crowd", 2)
    c.image(10)
    a = c.person(10, 50, 50, 120, 240)
    crowd_ann = c.person(10, 200, 40, 300, 300, visible=0, iscrowd=1, area=40000.0)
    c.detect(a, 0.03, 0.95)
    # Several detections on the crowd: matched to it (ignored), never false positives.
    for i in range(4):
        c.random_result(10, 210 + 20 * i, 60, 100, 250, round(0.8 - 0.05 * i, 3))
    # A crowd with labelled keypoints, and a detection of it.
    b = c.person(10, 400, 100, 100, 200, iscrowd=1)
    c.detect(b, 0.02, 0.7)
    c.detect(b, 0.02, 0.99)
    c.image(11)
    d = c.person(11, 100, 100, 150, 300)
    c.detect(d, 0.05, 0.6)
    c.person(11, 300, 50, 200, 300, visible=0, iscrowd=1, area=30000.0)
    c.random_result(11, 300, 50, 200, 300, 0.9)
    return c


def unmatched_and_duplicates():
    c = Case("unmatched_and_duplicates", 3)
    for img in (20, 21):
        c.image(img)
        a = c.person(img, 60, 40, 120, 260)
        b = c.person(img, 300, 60, 100, 240)
        for i in range(3):  # duplicates of a: one true positive, two false positives
            c.detect(a, 0.02 * (i + 1), round(0.9 - 0.1 * i, 3))
        c.detect(b, 0.12, 0.5)  # poorly placed: matched only at low thresholds
        c.random_result(img, 0, 0, 640, 480, 0.85)  # far from everyone
    c.image(22)
    c.person(22, 100, 100, 200, 300)  # never detected
    return c


def images_without_persons():
    c = Case("images_without_persons", 4)
    c.image(30)
    a = c.person(30, 100, 80, 140, 280)
    c.detect(a, 0.03, 0.7)
    c.image(31)  # no person, two detections: false positives
    c.random_result(31, 50, 50, 200, 300, 0.95)
    c.random_result(31, 250, 50, 200, 300, 0.4)
    c.image(32)  # no person, no detection: takes no part
    c.image(33)
    b = c.person(33, 200, 100, 110, 250)
    c.detect(b, 0.05, 0.8)
    return c


def few_visible_keypoints():
    c = Case("few_visible_keypoints", 5)
    c.image(40)
    for vis, score in ((1, 0.9), (2, 0.8), (3, 0.7), (5, 0.6)):
        a = c.person(40, 30 + 120 * (vis % 4), 50, 100, 230, visible=vis)
        c.detect(a, 0.04, score)
    c.image(41)
    # num_keypoints 0: ignored; a detection of it is ignored too.
    z = c.person(41, 50, 60, 120, 250, visible=0)
    c.detect(z, 0.0, 0.9)
    # No labelled keypoint but num_keypoints > 0: not ignored, OKS measured to the doubled box.
    b = c.person(41, 300, 60, 120, 250, visible=0, num_keypoints=3)
    c.random_result(41, 300, 60, 120, 250, 0.75)
    c.random_result(41, 0, 300, 100, 100, 0.65)
    # Labelled keypoints but num_keypoints 0: ignored although OKS uses the keypoints.
    d = c.person(41, 450, 100, 100, 200, visible=4, num_keypoints=0)
    c.detect(d, 0.02, 0.5)
    del b
    return c


def ties_in_score():
    c = Case("ties_in_score", 6)
    for img in (51, 50, 52):  # images listed out of id order
        c.image(img)
    anns = [c.person(img, 40 + 200 * p, 50, 110, 250) for img in (50, 51, 52) for p in range(2)]
    # Equal scores within an image and across images; quality alternates so the order decides the AP.
    for i, a in enumerate(anns):
        c.detect(a, 0.02 if i % 2 else 0.15, 0.5)
    c.random_result(51, 0, 0, 300, 300, 0.5)
    c.random_result(50, 300, 0, 300, 300, 0.5)
    c.random_result(52, 0, 0, 640, 480, 0.7)
    c.random_result(52, 0, 0, 640, 480, 0.5)
    return c


def area_ranges():
    c = Case("area_ranges", 7)
    c.image(60)
    small = c.person(60, 10, 10, 20, 30, area=500.0)       # < 32^2: only in "all"
    medium = c.person(60, 100, 100, 60, 120, area=4000.0)  # medium
    edge = c.person(60, 300, 100, 80, 120, area=9216.0)    # exactly 96^2: medium and large
    large = c.person(60, 400, 50, 150, 300, area=30000.0)  # large
    for a, s in ((small, 0.9), (medium, 0.8), (edge, 0.7), (large, 0.6)):
        c.detect(a, 0.05, s)
    # Unmatched detections whose keypoint boxes are small, medium, large.
    c.random_result(60, 500, 400, 20, 20, 0.95)
    c.random_result(60, 0, 300, 60, 100, 0.85)
    c.random_result(60, 0, 0, 640, 480, 0.75)
    c.image(61)
    m2 = c.person(61, 200, 200, 50, 100, area=1024.0)  # exactly 32^2
    c.detect(m2, 0.03, 0.65)
    return c


def no_large_persons():
    c = Case("no_large_persons", 8)
    c.image(70)
    for p in range(3):
        a = c.person(70, 50 + 150 * p, 100, 60, 120, area=3000.0 + 500 * p)
        c.detect(a, 0.04 * (p + 1), round(0.9 - 0.2 * p, 3))
    return c


def many_detections():
    c = Case("many_detections", 9)
    c.image(80)
    anns = [c.person(80, 20 + 40 * (i % 12), 30 + 200 * (i // 12), 35, 150) for i in range(24)]
    for i, a in enumerate(anns):  # 24 detections: only the 20 best count
        c.detect(a, 0.01 + 0.002 * i, round(0.3 + 0.025 * ((i * 7) % 24), 4))
    c.random_result(80, 0, 0, 640, 480, 0.99)
    c.image(81)
    b = c.person(81, 100, 100, 100, 250)
    c.detect(b, 0.02, 0.2)
    return c


def bbox_areas():
    c = Case("bbox_areas", 10)
    c.image(90)
    a = c.person(90, 100, 100, 150, 300, area=25000.0)
    b = c.person(90, 400, 100, 60, 120, area=4000.0)
    # With a "bbox" in the first result the official loader takes areas from the boxes.
    c.detect(a, 0.05, 0.8, bbox=[100, 100, 150, 300])
    c.detect(b, 0.05, 0.7, bbox=[400, 100, 60, 120])
    r = c.random_result(90, 0, 300, 100, 100, 0.9)
    r["bbox"] = [0, 300, 20, 20]  # small box: ignored when unmatched in medium/large
    return c


def annotation_id_zero():
    c = Case("annotation_id_zero", 11)
    c.image(100)
    a = c.person(100, 100, 100, 120, 260, ann_id=0)  # the official evaluation treats a match to id 0 as none
    b = c.person(100, 350, 100, 120, 260)
    c.detect(a, 0.02, 0.9)
    c.detect(b, 0.02, 0.8)
    return c


def two_categories():
    c = Case("two_categories", 12)
    c.categories = [CATEGORY, dict(CATEGORY, id=2, name="mannequin"), dict(CATEGORY, id=3, name="statue")]
    c.image(110)
    c.image(111)
    a = c.person(110, 50, 50, 120, 260)
    b = c.person(110, 300, 50, 120, 260, category_id=2)
    d = c.person(111, 100, 100, 100, 200, category_id=2)
    c.detect(a, 0.03, 0.9)
    c.detect(b, 0.03, 0.8)
    c.detect(d, 0.1, 0.7)
    c.detect(a, 0.03, 0.6, category_id=2)  # category 2 detection on a category 1 person
    c.detect(d, 0.03, 0.5, category_id=3)  # category 3 has no person: -1, left out of the means
    c.detect(d, 0.03, 0.5, category_id=7)  # unknown category: not evaluated
    return c


def random_mix():
    c = Case("random_mix", 13)
    rng = c.rng
    for img in range(200, 230):
        c.image(img)
        for _ in range(rng.randint(0, 6)):
            w, h = rng.uniform(10, 250), rng.uniform(20, 400)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            crowd_ = rng.random() < 0.07
            vis = 0 if crowd_ or rng.random() < 0.1 else rng.randint(1, K)
            a = c.person(img, x, y, w, h, visible=vis, iscrowd=int(crowd_), area=r3(w * h * rng.uniform(0.3, 0.8)))
            for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
                c.detect(a, rng.choice([0.005, 0.02, 0.05, 0.1, 0.3]), round(rng.uniform(0, 1), 2),
                         drop=rng.choice([0, 0.1, 0.4]))
        for _ in range(rng.randint(0, 3)):
            c.random_result(img, rng.uniform(0, 500), rng.uniform(0, 300), rng.uniform(10, 140),
                            rng.uniform(10, 180), round(rng.uniform(0, 1), 2))
    return c


def coco_sample():
    with open(SHARED_COCO) as f:
        gt = json.load(f)
    c = Case("coco_sample", 14)
    for ann in gt["annotations"]:
        for i, noise in enumerate((0.01, 0.04, 0.15)[: 1 + ann["id"] % 3]):
            c.detect(ann, noise, round(0.95 - 0.2 * i - (ann["id"] % 7) * 0.01, 3), drop=0.1)
    return c, SHARED_COCO


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    cases = [basic(), crowd(), unmatched_and_duplicates(), images_without_persons(), few_visible_keypoints(),
             ties_in_score(), area_ranges(), no_large_persons(), many_detections(), bbox_areas(),
             annotation_id_zero(), two_categories(), random_mix()]
    for c in cases:
        gt_path = os.path.join(OUT, c.name + ".gt.json")
        write_json(gt_path, c.gt())
        res_path = os.path.join(OUT, c.name + ".results.json")
        write_json(res_path, c.results)
        expected[c.name] = evaluate(gt_path, res_path)
    c, shared_gt = coco_sample()
    res_path = os.path.join(OUT, c.name + ".results.json")
    write_json(res_path, c.results)
    expected[c.name] = evaluate(shared_gt, res_path)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    for name, v in expected.items():
        print(f"{name:28s}", " ".join(f"{x:7.4f}" for x in v))


if __name__ == "__main__":
    main()
