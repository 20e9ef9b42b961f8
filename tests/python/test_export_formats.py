"""YOLO segmentation labels and PNG masks, checked independently of our C++: the label
text is read with numpy and rasterised by pycocotools and by PIL, the PNGs are read with
PIL, data.yaml with PyYAML, archives with zipfile; all compared with the masks that
pycocotools decodes from the COCO file that went in. Also: YOLO-seg import back to COCO,
labels written the way Ultralytics writes them, and the seed's whole workflow on the
sample photos (scripts/embed, --boxes from YOLO boxes, scripts/convert).

Run: .venv/bin/python -m pytest tests/python/test_export_formats.py -q
(scripts/test builds build/native first; SAM_CONVERT=path/to/sam_convert tests another build)
"""
import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

ROOT = Path(__file__).resolve().parents[2]
TOOL = Path(os.environ.get("SAM_CONVERT", ROOT / "build" / "native" / "sam_convert"))
REFERENCE = Path(os.environ.get("SAM_REFERENCE_DIR", ROOT.parent / "shared" / "sam-reference"))
MIN_IOU = 0.98


@pytest.fixture(scope="session", autouse=True)
def tool_built():
    # A missing tool is a failure, not a skip: scripts/test builds build/native first.
    assert TOOL.exists(), f"{TOOL} not built (cmake --build build/native --target sam_convert)"
    assert (REFERENCE / "coco_rle" / "masks.npz").exists(), f"{REFERENCE} missing (the reference masks)"


def iou(a, b):
    u = np.logical_or(a, b).sum()
    return 1.0 if u == 0 else np.logical_and(a, b).sum() / u


def shapes(h, w):
    """name -> bool mask: holes, several parts, thin parts, borders."""
    yy, xx = np.mgrid[0:h, 0:w]
    d = lambda cx, cy: np.hypot(xx + 0.5 - cx, yy + 0.5 - cy)  # noqa: E731
    out = {}
    out["donut"] = (d(w * 0.4, h * 0.5) < h * 0.4) & (d(w * 0.4, h * 0.5) >= h * 0.15)
    island = out["donut"] | (d(w * 0.4, h * 0.5) < h * 0.07)
    out["donut_island"] = island
    parts = np.zeros((h, w), bool)
    rng = np.random.default_rng(5)
    for _ in range(12):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, 12)
        parts |= d(x, y) < r
    out["twelve_parts"] = parts
    thin = np.zeros((h, w), bool)
    thin[h // 3, 5 : w - 5] = True
    thin[5 : h - 5, w // 5] = True
    k = np.arange(min(h, w) // 2)
    thin[k + 10, k + w // 3] = True  # diagonal, corner contacts only
    out["thin_lines"] = thin
    border = np.zeros((h, w), bool)
    border[:3, :] = border[-3:, :] = border[:, :3] = border[:, -3:] = True
    border |= d(0, h / 2) < h / 4
    out["border_frame"] = border
    swiss = np.zeros((h, w), bool)
    swiss[10 : h - 10, 10 : w - 10] = True
    for _ in range(20):
        swiss &= d(rng.uniform(20, w - 20), rng.uniform(20, h - 20)) >= rng.uniform(2, 8)
    out["swiss"] = swiss
    out["full"] = np.ones((h, w), bool)
    return out


def rle_of(m):
    r = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"size": [int(r["size"][0]), int(r["size"][1])], "counts": r["counts"].decode()}


def make_coco(path):
    """3 images (one with no annotation), 3 categories; masks from shapes() and the cocoapi
    reference masks. Returns the COCO dict."""
    images = [
        {"id": 1, "file_name": "a/shapes.jpg", "width": 300, "height": 200},
        {"id": 5, "file_name": "empty.png", "width": 40, "height": 30},
    ]
    cats = [{"id": 3, "name": "ring"}, {"id": 1, "name": "blob \"q\""}, {"id": 9, "name": "line"}]
    anns = []
    for k, (name, m) in enumerate(shapes(200, 300).items()):
        anns.append({"id": 100 + k, "image_id": 1, "category_id": cats[k % 3]["id"], "segmentation": rle_of(m),
                     "area": int(m.sum()), "bbox": [0, 0, 1, 1], "iscrowd": 0})
    ref = np.load(REFERENCE / "coco_rle" / "masks.npz")
    big = ref["long_runs_300x400"].astype(bool)
    images.append({"id": 7, "file_name": "ref.png", "width": big.shape[1], "height": big.shape[0]})
    for j, key in enumerate(["long_runs_300x400", "blobs_120x160", "sparse_64x48", "checker_9x11_starts_with_1"]):
        m = ref[key].astype(bool)
        canvas = np.zeros(big.shape, bool)
        canvas[: m.shape[0], : m.shape[1]] = m
        anns.append({"id": 200 + j, "image_id": 7, "category_id": 1, "segmentation": rle_of(canvas),
                     "area": int(canvas.sum()), "bbox": [0, 0, 1, 1], "iscrowd": 0})
    coco = {"images": images, "annotations": anns, "categories": cats}
    path.write_text(json.dumps(coco))
    return coco


def run(*args, ok=(0,)):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert r.returncode in ok, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def read_labels(path):
    """[(class, (N,2) float array)] from a YOLO-seg txt, read with plain numpy."""
    out = []
    for line in path.read_text().splitlines():
        v = np.array(line.split(), dtype=np.float64)
        assert v[0] == int(v[0]) and (len(v) - 1) % 2 == 0 and len(v) >= 7, line[:80]
        out.append((int(v[0]), v[1:].reshape(-1, 2)))
    return out


def raster_pycocotools(xy, h, w):
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([xy.ravel().tolist()], h, w))).astype(bool)


def raster_pil(xy, h, w, scale=8):
    """PIL fills a polygon's boundary pixels too (so a zero-width bridge becomes a line of
    pixels and every edge grows by up to a pixel): draw 8x larger and keep the pixels that
    the fill covers more than half of."""
    im = Image.new("1", (w * scale, h * scale))
    ImageDraw.Draw(im).polygon([tuple(p) for p in xy * scale], fill=1)
    return np.array(im).reshape(h, scale, w, scale).mean(axis=(1, 3)) > 0.5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exports")
    coco = make_coco(tmp / "coco.json")
    for fmt in ("yolo_seg", "png_masks"):
        run(TOOL, "export", "--coco", tmp / "coco.json", "--format", fmt, "--out", tmp / fmt)
        run(TOOL, "export", "--coco", tmp / "coco.json", "--format", fmt, "--zip", tmp / f"{fmt}.zip")
    gt = COCO(str(tmp / "coco.json"))
    return tmp, coco, gt


def test_yolo_seg_labels_rasterise_to_the_coco_masks(exported):
    tmp, coco, gt = exported
    data = yaml.safe_load((tmp / "yolo_seg" / "data.yaml").read_text())
    assert data["nc"] == 3
    assert data["names"] == {0: "ring", 1: "blob \"q\"", 2: "line"}  # category order, not ids
    assert (data["train"], data["val"]) == ("images", "images")
    class_of = {c["id"]: i for i, c in enumerate(coco["categories"])}
    stems = {1: "a/shapes", 5: "empty", 7: "ref"}
    worst = 1.0
    for im in coco["images"]:
        labels = read_labels(tmp / "yolo_seg" / "labels" / f"{stems[im['id']]}.txt")
        anns = [a for a in coco["annotations"] if a["image_id"] == im["id"]]
        assert len(labels) == len(anns)  # one line per instance, holes and parts included
        h, w = im["height"], im["width"]
        for (cls, xy), a in zip(labels, anns):
            assert cls == class_of[a["category_id"]]
            assert xy.min() >= 0 and xy.max() <= 1
            px = xy * [w, h]
            want = gt.annToMask(gt.anns[a["id"]]).astype(bool)
            for how, got in (("pycocotools", raster_pycocotools(px, h, w)), ("PIL", raster_pil(px, h, w))):
                v = iou(got, want)
                worst = min(worst, v)
                assert v >= MIN_IOU, f"annotation {a['id']} via {how}: IoU {v:.4f}"
    print(f"worst IoU of a written polygon: {worst:.4f}")


def expected_maps(coco, gt, im):
    """Instance ids (document order) and class values (category position + 1), painted by
    decreasing area so the smaller mask is on top."""
    anns = [a for a in coco["annotations"] if a["image_id"] == im["id"]]
    value = {c["id"]: i + 1 for i, c in enumerate(coco["categories"])}
    ids = np.zeros((im["height"], im["width"]), np.int64)
    sem = np.zeros_like(ids)
    masks = [gt.annToMask(gt.anns[a["id"]]).astype(bool) for a in anns]
    for k in sorted(range(len(anns)), key=lambda k: -int(masks[k].sum())):
        ids[masks[k]] = k + 1
        sem[masks[k]] = value[anns[k]["category_id"]]
    return anns, masks, ids, sem


def test_png_masks_instance_and_semantic_maps(exported):
    tmp, coco, gt = exported
    legend = json.loads((tmp / "png_masks" / "legend.json").read_text())
    assert legend["instance_maps"]["bit_depth"] == 8
    assert [c["name"] for c in legend["classes"]] == ["background", "ring", "blob \"q\"", "line"]
    assert [c["category_id"] for c in legend["classes"][1:]] == [3, 1, 9]
    for im, entry in zip(coco["images"], legend["images"]):
        assert entry["id"] == im["id"] and entry["file_name"] == im["file_name"]
        inst = Image.open(tmp / "png_masks" / entry["instance_map"])
        sem = Image.open(tmp / "png_masks" / entry["semantic_map"])
        assert inst.mode == "L" and sem.mode == "L"
        assert inst.size == (im["width"], im["height"])
        anns, masks, want_ids, want_sem = expected_maps(coco, gt, im)
        got_ids = np.array(inst).astype(np.int64)
        assert np.array_equal(got_ids, want_ids)
        assert np.array_equal(np.array(sem), want_sem)
        counts = np.bincount(got_ids.ravel(), minlength=len(anns) + 1)
        assert len(entry["instances"]) == len(anns)
        for k, (e, a) in enumerate(zip(entry["instances"], anns)):
            assert (e["id"], e["annotation_id"], e["area"]) == (k + 1, a["id"], int(masks[k].sum()))
            assert e["visible_area"] == counts[k + 1]
            assert e["category_id"] == a["category_id"]


def test_png_masks_16_bit_past_255_instances(tmp_path):
    h, w = 60, 100
    anns = []
    for k in range(300):
        m = np.zeros((h, w), bool)
        y, x = divmod(k, 25)
        m[y * 5 : y * 5 + 4, x * 4 : x * 4 + 3] = True
        anns.append({"id": k + 1, "image_id": 1, "category_id": 1, "segmentation": rle_of(m), "area": 12,
                     "bbox": [0, 0, 1, 1], "iscrowd": 0})
    coco = {"images": [{"id": 1, "file_name": "many.png", "width": w, "height": h}], "annotations": anns,
            "categories": [{"id": 1, "name": "square"}]}
    (tmp_path / "c.json").write_text(json.dumps(coco))
    r = run(TOOL, "export", "--coco", tmp_path / "c.json", "--format", "png_masks", "--out", tmp_path / "p")
    assert "16-bit instance maps" in r.stdout
    legend = json.loads((tmp_path / "p" / "legend.json").read_text())
    assert legend["instance_maps"]["bit_depth"] == 16
    inst = Image.open(tmp_path / "p" / "instances" / "many.png")
    assert inst.mode.startswith("I")  # PIL's 16-bit greyscale ("I;16" / "I")
    ids = np.array(inst).astype(np.int64)
    assert ids.max() == 300
    _, _, want, _ = expected_maps(coco, COCO(str(tmp_path / "c.json")), coco["images"][0])
    assert np.array_equal(ids, want)


def test_zip_holds_the_same_files(exported):
    tmp, _, _ = exported
    for fmt in ("yolo_seg", "png_masks"):
        with zipfile.ZipFile(tmp / f"{fmt}.zip") as z:
            assert z.testzip() is None  # every CRC-32 checks
            assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
            folder = sorted(str(p.relative_to(tmp)) for p in (tmp / fmt).rglob("*") if p.is_file())
            assert sorted(z.namelist()) == folder
            for name in folder:
                assert z.read(name) == (tmp / name).read_bytes(), name


def test_yolo_seg_import_gives_the_masks_back(exported):
    tmp, coco, gt = exported
    out = tmp / "imported.json"
    r = run(TOOL, "import", "--labels", tmp / "yolo_seg", "--images", tmp / "coco.json", "--out", out)
    assert "0 lines skipped, 0 files unmatched" in r.stdout
    back = COCO(str(out))
    names = {c["id"]: c["name"] for c in back.dataset["categories"]}
    orig_names = {c["id"]: c["name"] for c in coco["categories"]}
    back_anns = sorted(back.dataset["annotations"], key=lambda a: a["id"])
    assert len(back_anns) == len(coco["annotations"])
    for a, b in zip(coco["annotations"], back_anns):
        assert b["image_id"] == a["image_id"]
        assert names[b["category_id"]] == orig_names[a["category_id"]]
        v = iou(back.annToMask(b).astype(bool), gt.annToMask(gt.anns[a["id"]]).astype(bool))
        assert v >= MIN_IOU, f"annotation {a['id']}: IoU {v:.4f} after export + import"


def test_import_labels_written_like_ultralytics(tmp_path):
    """Label files as Ultralytics' converters write them (rounded to 6 decimals, '%g'),
    a list-form data.yaml, an unmatched file and malformed lines (reported as file:line)."""
    w, h = 120, 80
    manifest = {"version": 1, "images": [{"id": 4, "file": "images/street.jpg", "width": w, "height": h},
                                         {"id": 6, "file": "images/park.jpg", "width": 60, "height": 40}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    labels = tmp_path / "ds" / "labels"
    (labels / "train").mkdir(parents=True)
    tri = np.array([[10, 10], [100, 20], [40, 70]], float)
    box = np.array([[60, 5], [110, 5], [110, 30], [60, 30]], float)
    fmt = lambda cls, p, size: " ".join([str(cls)] + ["%g" % round(v, 6) for v in (p / size).ravel()])  # noqa: E731
    (labels / "train" / "street.txt").write_text(
        fmt(1, tri, [w, h]) + "\n" + fmt(0, box, [w, h]) + "\n0 0.5 0.5 0.1 0.1\n2 0 0 1 0 1 1\n")
    (labels / "train" / "park.txt").write_text("0 10 10 50 10 30 30\n")
    (labels / "train" / "nowhere.txt").write_text("0 0 0 1 0 1 1\n")
    (tmp_path / "ds" / "data.yaml").write_text("path: .\ntrain: images/train\nnames: [car, person]\n")
    out = tmp_path / "coco.json"
    r = run(TOOL, "import", "--labels", tmp_path / "ds", "--images", tmp_path / "manifest.json", "--out", out, ok=(1,))
    assert "train/street.txt:3: 5 numbers is a detection box" in r.stderr
    assert "train/street.txt:4: class 2 is not in the class list (2 names)" in r.stderr
    assert "train/park.txt:1: x1 = 10: coordinates must be normalised" in r.stderr
    assert "no such image: train/nowhere.txt" in r.stderr
    back = COCO(str(out))
    assert [im["file_name"] for im in back.dataset["images"]] == ["street.jpg", "park.jpg"]
    cats = {c["name"]: c["id"] for c in back.dataset["categories"]}
    assert set(cats) == {"car", "person"}
    anns = sorted(back.dataset["annotations"], key=lambda a: a["id"])
    assert [a["category_id"] for a in anns] == [cats["person"], cats["car"]]
    for a, poly in zip(anns, (tri, box)):
        want = raster_pycocotools(poly, h, w)
        assert iou(back.annToMask(a).astype(bool), want) >= 0.99


@pytest.fixture(scope="module")
def sample_dataset(tmp_path_factory):
    """The four sample photos embedded with the bundled model, and detector boxes as YOLO
    labels (tests/fixtures/yolo_boxes) turned into masks by scripts/embed --boxes (the
    seed's workflow)."""
    tmp = tmp_path_factory.mktemp("workflow")
    model = ROOT / "assets" / "model"
    ds = tmp / "ds"
    run(ROOT / "scripts" / "embed", "--encoder", model / "encoder.onnx", "--decoder", model / "decoder.onnx",
        "--images", ROOT / "assets" / "samples", "--out", ds, "--threads", "1")
    run(ROOT / "scripts" / "embed", "--boxes", ROOT / "tests" / "fixtures" / "yolo_boxes", "--out", ds, "--threads", "1")
    # As the server saves it: the COCO document plus a top-level "version".
    coco = json.loads((ds / "boxes_coco.json").read_text())
    (ds / "annotations.json").write_text(json.dumps({**coco, "version": 3}))
    return ds, coco


def test_workflow_boxes_to_yolo_seg_training_folder(sample_dataset):
    ds, coco = sample_dataset
    assert len(coco["annotations"]) == 5
    r = run(ROOT / "scripts" / "convert", "export", ds, "--format", "yolo_seg")
    assert "4 images, 5 instances" in r.stdout
    out = ds / "yolo_seg"
    # Images beside labels, same stems, as Ultralytics pairs them (images/x.jpg <-> labels/x.txt).
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        assert (out / "images" / f"{name}.jpg").read_bytes() == (ROOT / "assets" / "samples" / f"{name}.jpg").read_bytes()
        assert (out / "labels" / f"{name}.txt").exists()
    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == {0: "person", 1: "helmet", 2: "cat", 3: "cup", 4: "rocket"}
    gt = COCO(str(ds / "boxes_coco.json"))
    for im in coco["images"]:
        stem = Path(im["file_name"]).stem
        labels = read_labels(out / "labels" / f"{stem}.txt")
        anns = [a for a in coco["annotations"] if a["image_id"] == im["id"]]
        assert len(labels) == len(anns)
        h, w = im["height"], im["width"]
        for (cls, xy), a in zip(labels, anns):
            want = gt.annToMask(gt.anns[a["id"]]).astype(bool)
            px = xy * [w, h]
            v, v_pil = iou(raster_pycocotools(px, h, w), want), iou(raster_pil(px, h, w), want)
            assert v >= MIN_IOU and v_pil >= MIN_IOU, f"{stem}: IoU {v:.4f} (pycocotools), {v_pil:.4f} (PIL)"
            # Diagnostic, not asserted: PIL at 1x fills boundaries and bridges inclusively,
            # as OpenCV's fillPoly does when Ultralytics rasterises labels for training.
            v_1x = iou(raster_pil(px, h, w, scale=1), want)
            print(f"{stem} class {cls}: {len(xy)} points, {a['area']} px, IoU {v:.4f} pycocotools, "
                  f"{v_pil:.4f} PIL 8x, {v_1x:.4f} PIL 1x (inclusive)")
    # A second export replaces the first (same format); an unrelated folder is refused.
    run(ROOT / "scripts" / "convert", "export", ds, "--format", "yolo_seg")
    (ds / "mine").mkdir()
    (ds / "mine" / "notes.txt").write_text("keep")
    r = run(ROOT / "scripts" / "convert", "export", ds, "--format", "yolo_seg", "--out", ds / "mine", ok=(2,))
    assert "is not a yolo_seg export" in r.stderr
    assert (ds / "mine" / "notes.txt").read_text() == "keep"


def test_workflow_png_masks_and_import_back(sample_dataset, tmp_path):
    ds, coco = sample_dataset
    r = run(ROOT / "scripts" / "convert", "export", ds, "--format", "png_masks", "--zip", tmp_path / "m.zip")
    assert "8-bit instance maps" in r.stdout
    with zipfile.ZipFile(tmp_path / "m.zip") as z:
        assert z.testzip() is None
        legend = json.loads(z.read("png_masks/legend.json"))
        gt = COCO(str(ds / "boxes_coco.json"))
        for im, entry in zip(coco["images"], legend["images"]):
            ids = np.array(Image.open(io.BytesIO(z.read("png_masks/" + entry["instance_map"]))))
            _, _, want, _ = expected_maps(coco, gt, im)
            assert np.array_equal(ids.astype(np.int64), want)
    run(ROOT / "scripts" / "convert", "export", ds, "--format", "yolo_seg", "--no-images", "--out", tmp_path / "y")
    assert not (tmp_path / "y" / "images").exists()
    r = run(ROOT / "scripts" / "convert", "import", tmp_path / "y", "--dataset", ds, "--out", tmp_path / "back.json")
    assert "4 label files matched, 5 annotations" in r.stdout
    back = COCO(str(tmp_path / "back.json"))
    gt_anns = sorted(coco["annotations"], key=lambda a: a["id"])
    for a, b in zip(gt_anns, sorted(back.dataset["annotations"], key=lambda a: a["id"])):
        assert iou(back.annToMask(b).astype(bool), gt.annToMask(gt.anns[a["id"]]).astype(bool)) >= MIN_IOU
    shutil.rmtree(tmp_path / "y")
