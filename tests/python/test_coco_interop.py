"""COCO interop: files written by our exporter (build/native/sam_coco) load in pycocotools
unchanged and decode to the masks we exported; malformed files are refused with the field.

Masks: the official cocoapi reference masks (../shared/sam-reference/coco_rle), SAM's AMG
inputs (amg.npz rle_masks, rsr_input) and synthetic ones with holes and several components.
Run: .venv/bin/python -m pytest tests/python/test_coco_interop.py  (scripts/test builds the tool;
SAM_COCO_TOOL=path/to/sam_coco tests another build)
"""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

ROOT = Path(__file__).resolve().parents[2]
TOOL = Path(os.environ.get("SAM_COCO_TOOL", ROOT / "build" / "native" / "sam_coco"))
REFERENCE = Path(os.environ.get("SAM_REFERENCE_DIR", ROOT.parent / "shared" / "sam-reference"))



@pytest.fixture(autouse=True)
def require_tool():
    if not TOOL.exists():
        pytest.fail(f"{TOOL} not built (scripts/test builds build/native first)", pytrace=False)


def synthetic_masks():
    h, w = 200, 300
    yy, xx = np.mgrid[0:h, 0:w]
    disk = (yy - 100) ** 2 + (xx - 150) ** 2 <= 60**2
    ring = disk & ~((yy - 100) ** 2 + (xx - 150) ** 2 <= 25**2)
    comps = np.zeros((h, w), bool)
    comps[10:40, 10:60] = True
    comps[150:190, 200:290] = True
    comps[(yy - 100) ** 2 + (xx - 60) ** 2 <= 20**2] = True
    holes = np.zeros((h, w), bool)
    holes[20:180, 20:280] = True
    holes[50:70, 50:90] = False
    holes[120:150, 200:260] = False
    diag = np.abs(yy - xx * 2 / 3) < 2.5
    triangle = (yy > 30) & (xx > 40) & (yy - 30 > (xx - 40) * 0.6) & (yy < 170)
    empty = np.zeros((h, w), bool)
    return {
        "disk": disk,
        "ring": ring,
        "components": comps,
        "rect_two_holes": holes,
        "diagonal": diag,
        "triangle": triangle,
        "empty": empty,
    }


def mask_sets():
    """name -> (N,H,W) bool masks sharing one image size."""
    sets = {}
    # The reference folder is required: without it, collecting this file fails.
    ref = np.load(REFERENCE / "coco_rle" / "masks.npz")
    for k in ref.files:
        sets["ref_" + k] = ref[k][None]
    amg = np.load(REFERENCE / "amg" / "amg.npz")
    sets["amg_rle_masks"] = amg["rle_masks"]
    sets["amg_rsr_input"] = amg["rsr_input"][None]
    syn = synthetic_masks()
    sets["synthetic"] = np.stack(list(syn.values()))
    return sets


MASK_SETS = mask_sets()


def iou(a, b):
    u = np.logical_or(a, b).sum()
    return 1.0 if u == 0 else np.logical_and(a, b).sum() / u


def run_from_masks(tmp_path, name, masks, rle):
    npy = tmp_path / f"{name}.npy"
    np.save(npy, masks.astype(np.uint8))
    out = tmp_path / f"{name}.json"
    decoded = tmp_path / f"{name}.decoded.npy"
    cmd = [str(TOOL), "from-masks", "--masks", str(npy), "--out", str(out), "--decoded", str(decoded)]
    if rle:
        cmd.append("--rle")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return out, np.load(decoded)


@pytest.mark.parametrize("mode", ["rle", "polygons"])
@pytest.mark.parametrize("name", sorted(MASK_SETS))
def test_export_loads_in_pycocotools(tmp_path, name, mode):
    masks = MASK_SETS[name].astype(bool)
    out, decoded = run_from_masks(tmp_path, name, masks, rle=(mode == "rle"))
    raw = json.loads(out.read_text())
    assert set(raw) >= {"info", "images", "annotations", "categories"}
    coco = COCO(str(out))
    n, h, w = masks.shape
    assert coco.imgs[raw["images"][0]["id"]]["height"] == h
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == n
    assert decoded.shape == (n, h, w)
    for k, ann in enumerate(sorted(anns, key=lambda a: a["id"])):
        orig = masks[k]
        assert ann["iscrowd"] == 0
        assert ann["area"] == int(orig.sum())
        got = coco.annToMask(ann).astype(bool)
        py_area = float(mask_utils.area(coco.annToRLE(ann)))
        if isinstance(ann["segmentation"], dict):
            # RLE (always in rle mode; the polygon mode's fallback for holes/tiny masks): exact
            assert np.array_equal(got, orig), f"{name}[{k}]: RLE decodes differently"
            assert py_area == ann["area"]
            assert mask_utils.toBbox(coco.annToRLE(ann)).tolist() == ann["bbox"]
            assert np.array_equal(decoded[k].astype(bool), orig)
        else:
            assert mode == "polygons"
            assert iou(got, orig) >= 0.98, f"{name}[{k}]: polygon IoU {iou(got, orig):.4f}"
            assert abs(py_area - ann["area"]) <= 0.02 * ann["area"] + 2, (py_area, ann["area"])
            # our own import rasterises polygons like pycocotools (frPoly)
            assert iou(decoded[k].astype(bool), got) >= 0.995
        if mode == "rle":
            assert isinstance(ann["segmentation"], dict)
            assert isinstance(ann["segmentation"]["counts"], str)
        # bbox [x, y, w, h] of the mask itself
        ys, xs = np.nonzero(orig)
        if len(xs):
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        else:
            assert ann["bbox"] == [0, 0, 0, 0]


def test_polygon_mode_falls_back_to_rle_only_where_needed(tmp_path):
    syn = synthetic_masks()
    names = list(syn)
    out, _ = run_from_masks(tmp_path, "syn", np.stack(list(syn.values())), rle=False)
    anns = sorted(json.loads(out.read_text())["annotations"], key=lambda a: a["id"])
    kind = {names[i]: ("rle" if isinstance(a["segmentation"], dict) else "poly") for i, a in enumerate(anns)}
    assert kind["ring"] == "rle" and kind["rect_two_holes"] == "rle" and kind["empty"] == "rle"
    assert kind["disk"] == "poly" and kind["components"] == "poly" and kind["triangle"] == "poly"
    comps = anns[names.index("components")]["segmentation"]
    assert len(comps) == 3  # one polygon per connected component


def write_bad(tmp_path, doc):
    p = tmp_path / "bad.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def valid_doc():
    m = np.zeros((6, 8), bool)
    m[1:4, 2:6] = True
    rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return {
        "images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 6}],
        "categories": [{"id": 1, "name": "thing", "supercategory": ""}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 12, "bbox": [2, 1, 4, 3],
             "segmentation": {"size": [6, 8], "counts": rle["counts"].decode()}},
            {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 12, "bbox": [2, 1, 4, 3],
             "segmentation": [[2, 1, 6, 1, 6, 4, 2, 4]]},
            {"id": 3, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 48, "bbox": [0, 0, 8, 6],
             "segmentation": {"size": [6, 8], "counts": [0, 48]}},
        ],
    }


def check(path):
    return subprocess.run([str(TOOL), "check", str(path)], capture_output=True, text=True, timeout=60)


def test_check_accepts_a_valid_file(tmp_path):
    r = check(write_bad(tmp_path, valid_doc()))
    assert r.returncode == 0, r.stderr
    assert "3 annotations" in r.stdout


def _mut(fn):
    d = valid_doc()
    fn(d)
    return d


BAD_CASES = {
    "bbox_3_numbers": (_mut(lambda d: d["annotations"][0].update(bbox=[1, 2, 3])),
                       "annotations[0].bbox: expected 4 numbers, got 3"),
    "rle_sum": (_mut(lambda d: d["annotations"][2]["segmentation"].update(counts=[0, 47])),
                "annotations[2].segmentation.counts"),
    "rle_negative": (_mut(lambda d: d["annotations"][2]["segmentation"].update(counts=[-1, 49])),
                     "annotations[2].segmentation.counts[0]"),
    "rle_string": (_mut(lambda d: d["annotations"][0]["segmentation"].update(counts="\x7f\x7f")),
                   "annotations[0].segmentation.counts"),
    "rle_size": (_mut(lambda d: d["annotations"][0]["segmentation"].update(size=[8, 6])),
                 "annotations[0].segmentation.size"),
    "width_string": (_mut(lambda d: d["images"][0].update(width="8")), "images[0].width: expected an integer"),
    "huge_image": (_mut(lambda d: d["images"][0].update(width=20000, height=20000)), "images[0]"),
    "unknown_image": (_mut(lambda d: d["annotations"][1].update(image_id=9)), "annotations[1].image_id"),
    "unknown_category": (_mut(lambda d: d["annotations"][1].update(category_id=9)), "annotations[1].category_id"),
    "polygon_huge": (_mut(lambda d: d["annotations"][1].update(segmentation=[[2, 1, 1e12, 1, 6, 4]])),
                     "annotations[1].segmentation[0][2]"),
    "polygon_odd": (_mut(lambda d: d["annotations"][1].update(segmentation=[[2, 1, 6, 1, 6]])),
                    "annotations[1].segmentation[0]"),
    "no_images": (_mut(lambda d: d.pop("images")), "images: missing"),
    "not_json": ('{"images": [', "not valid JSON"),
    "duplicate_image": (_mut(lambda d: d["images"].append(dict(d["images"][0]))), "images[1].id"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_check_refuses_malformed_files_naming_the_field(tmp_path, case):
    doc, needle = BAD_CASES[case]
    r = check(write_bad(tmp_path, doc))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert needle in r.stderr, r.stderr
    assert r.stderr.startswith("bad.json: ")
