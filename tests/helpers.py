"""Helpers shared by tests in several folders: running the CLI in-process, reading its CSV, fake model files and
catalogues, a tiny training recipe, a variable-frame-rate video, and a COCO-WholeBody file with results."""
import csv
import json
from pathlib import Path

import numpy as np
import torch

from hrnet_studio.cli.main import main
from hrnet_studio.training.recipe import load_recipe


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def saved(path, obj):
    torch.save(obj, path)
    return path


def write_zoo(tmp_path, monkeypatch, entries):
    path = tmp_path / "zoo.json"
    path.write_text(json.dumps({"version": 1, "models": entries}))
    monkeypatch.setenv("HRNET_STUDIO_ZOO", str(path))
    return path


def w8_entry(url, sha256, name="hrnet_w8_test_256x192", **extra):
    return {"name": name, "kind": "pose", "title": "test W8", "arch": "hrnet_w8", "input_size": [192, 256],
            "keypoints": "coco17", "metrics": {"coco_ap": 0.5}, "size_bytes": 1,
            "sources": [{"url": url, "sha256": sha256, "format": "pth"}], **extra}


def tiny_recipe(assets, tmp_path, **overrides):
    root = assets / "data" / "coco_sample"
    items = {"data.train_annotations": root / "annotations" / "test_coco.json", "data.train_images": root / "images",
             "model.arch": "hrnet_w8", "model.input_size": "[96, 128]", "epochs": 3, "batch_size": 6,
             "workers": 0, "device": "cpu", "output": tmp_path / "runs", "name": "tiny", "flip_test": "false",
             "optim.lr": 2e-3, "optim.schedule": "cosine", "augment.rotation_factor": 10, **overrides}
    return load_recipe(None, [f"{k}={v}" for k, v in items.items()])


def write_vfr_video(path, times_ms, size=(160, 120)):
    """An H.264 mp4 whose frames are shown at ``times_ms`` (a variable frame rate, as phones record), made with
    PyAV; frame i is grey level 7·i."""
    import fractions

    import av
    import numpy as np

    time_base = fractions.Fraction(1, 1000)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.time_base = stream.codec_context.time_base = time_base
        for i, t in enumerate(times_ms):
            frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 7 * i, np.uint8), format="bgr24")
            frame.pts, frame.time_base = t, time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


VFR_TIMES_MS = [0, 33, 67, 100, 133, 167, 300, 333, 367, 400, 500, 533]  # frames missing before 300 and 500 ms


def wholebody_annotations(source, destination, seed=0):
    """A COCO-WholeBody-format file made from a COCO keypoints file: each person's feet (3 points per foot), face
    (68) and hands (21 each) scattered around its ankles, nose and wrists, labelled where those are."""
    data = json.loads(Path(source).read_text())
    rng = np.random.default_rng(seed)
    for ann in data["annotations"]:
        body = np.array(ann["keypoints"], float).reshape(17, 3)

        def around(anchor, n, spread):
            x, y, v = body[anchor]
            points = np.zeros((n, 3))
            if v > 0:
                points[:, :2] = (x, y) + rng.normal(0, spread, (n, 2))
                points[:, 2] = 2
            return points.reshape(-1).round(2).tolist()

        ann["foot_kpts"] = around(15, 3, 6) + around(16, 3, 6)
        ann["face_kpts"] = around(0, 68, 8)
        ann["lefthand_kpts"] = around(9, 21, 5)
        ann["righthand_kpts"] = around(10, 21, 5)
    Path(destination).write_text(json.dumps(data))
    return destination


def noisy_wholebody_results(coco, seed=1):
    """COCO results of the 133 keypoints for every person of a whole-body ``CocoKeypoints``: its labels moved by
    Gaussian noise (σ 2 px body, 6 px feet, 3 px face and hands) with scores 0.3-1."""
    from hrnet_studio.training.datasets.coco import annotation_joints

    rng = np.random.default_rng(seed)
    sigma = np.where(np.arange(133) < 17, 2.0, np.where(np.arange(133) < 23, 6.0, 3.0))[:, None]
    results = []
    for ann in coco.coco.dataset["annotations"]:
        joints = np.array(annotation_joints(ann, True), float).reshape(133, 3)
        joints[:, :2] += rng.normal(0, 1, (133, 2)) * sigma
        joints[:, 2] = rng.uniform(0.3, 1.0, 133)
        results.append({"image_id": ann["image_id"], "category_id": 1, "keypoints": joints.reshape(-1).tolist(),
                        "score": float(rng.uniform(0.5, 1))})
    return results


def wholebody_w8(folder, name="hrnet_w8_coco_wholebody_256x192.pth", layout="mmpose1"):
    """A keyed W8 with 133 heatmaps saved as mmpose saves top-down models: ``state_dict`` of ``backbone.*`` and
    ``head.final_layer.*`` (1.x) or ``keypoint_head.final_layer.*`` (0.x), with mmpose's ``meta``."""
    from conftest import keyed_init

    from hrnet_studio.models.hrnet import build_hrnet

    model = build_hrnet("hrnet_w8", 133)
    keyed_init(model)
    head = "head." if layout == "mmpose1" else "keypoint_head."
    state = {(head + k if k.startswith("final_layer") else "backbone." + k): v for k, v in model.state_dict().items()}
    torch.save({"meta": {"mmpose_version": "1.3.2"}, "state_dict": state}, folder / name)
    return folder / name, model
