"""Helpers shared by tests in several folders: running the CLI in-process, reading its CSV, fake model files and
catalogues, a tiny training recipe, and a variable-frame-rate video."""
import csv
import json

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
