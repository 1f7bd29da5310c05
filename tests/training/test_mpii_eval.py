"""MPII PCKh end to end: ground truth from valid.h5 / gt_valid.mat, matched to the json persons, and `eval`."""
import json

import numpy as np
import pytest
import torch

from hrnet_studio.inference.codec.heatmap_codec import HeatmapCodec
from hrnet_studio.training.datasets.joints_dataset import JointsDataset
from hrnet_studio.training.datasets.mpii import load_mpii
from hrnet_studio.training.datasets.mpii_truth import (
    find_truth_file,
    load_pckh_truth,
    match_truth,
)
from hrnet_studio.training.datasets.records import DatasetError
from hrnet_studio.training.eval_set import build_eval_set
from hrnet_studio.training.evaluate import mpii_pckh, pckh


@pytest.fixture(scope="module")
def mpii(assets):
    root = assets / "data" / "mpii_sample"
    return root, load_mpii(root / "annotations" / "test_mpii.json", root / "images")


def test_valid_h5_rows_are_matched_to_the_json_persons(mpii):
    root, records = mpii
    annotations = root / "annotations"
    assert find_truth_file(annotations / "test_mpii.json") == annotations / "valid.h5"
    truth = match_truth(load_pckh_truth(annotations / "valid.h5"), records, "test_mpii.json")
    subset = {row["image"]: row for row in json.loads((annotations / "pckh_gt_subset.json").read_text())}
    for rec, joints, headsize, missing in zip(records, truth.joints, truth.headsizes, truth.missing):
        row = subset[rec.image.name]  # the json and valid.h5 list the five persons in different orders
        assert headsize == pytest.approx(row["headsize_normalize"])
        np.testing.assert_array_equal(joints, row["joints"])
        np.testing.assert_array_equal(missing, np.all(np.array(row["joints"]) == 0, axis=1))
    labelled = truth.missing == 0
    assert np.abs(truth.joints[labelled] - (np.stack([r.joints[:, :2] for r in records])[labelled] + 1)).max() <= 1.0


def test_a_person_without_ground_truth_is_named(mpii, tmp_path):
    root, records = mpii
    rows = json.loads((root / "annotations" / "pckh_gt_subset.json").read_text())[1:]
    partial = tmp_path / "gt.json"
    partial.write_text(json.dumps(rows))
    with pytest.raises(DatasetError, match=r"test_mpii.json: entry #\d \(005808361.jpg\) has no PCKh ground truth"):
        match_truth(load_pckh_truth(partial), records, "test_mpii.json")
    with pytest.raises(DatasetError, match="PCKh ground truth not found"):
        load_pckh_truth(tmp_path / "gt_valid.mat")


def test_official_gt_valid_mat_gives_the_official_numbers(parity, tmp_path):
    from scipy.io import savemat

    case = json.loads((parity / "mpii_pckh.json").read_text())
    gt = np.array(case["pos_gt_src_1based"])  # [N, 16, 2]
    missing = np.array(case["jnt_missing"])
    boxes = np.array(case["headboxes_src"])
    mat = tmp_path / "gt_valid.mat"
    savemat(mat, {"pos_gt_src": gt.transpose(1, 2, 0), "jnt_missing": missing.T, "headboxes_src": boxes.transpose(1, 2, 0)})
    truth = load_pckh_truth(mat)
    result = pckh(np.array(case["preds_0based"]), truth.joints, truth.missing, truth.headsizes)
    for key, expected in case["result"].items():
        assert result[key] == pytest.approx(expected, abs=1e-9), key
    assert result == mpii_pckh(np.array(case["preds_0based"]), gt, missing, boxes)


class OracleBackend:
    """Returns the training targets of the crops it is given: a perfect model, for scoring the scorer."""

    device_name = "oracle"
    device_type = "cpu"

    def __init__(self, dataset: JointsDataset, shift_px: float = 0.0):
        self.targets = [dataset[i][1].numpy() for i in range(len(dataset))]
        self.calls = 0
        self.shift = int(shift_px)

    def infer(self, x: np.ndarray) -> np.ndarray:
        out = np.stack(self.targets[self.calls:self.calls + len(x)])
        self.calls += len(x)
        return np.roll(out, self.shift, axis=-1) if self.shift else out


def test_perfect_heatmaps_score_100_and_shifted_ones_less(mpii):
    root, records = mpii
    eval_set = build_eval_set("mpii", root / "annotations" / "test_mpii.json", root / "images")
    assert eval_set.metric == "mpii_pckh" and eval_set.truth_file.name == "valid.h5"
    dataset = eval_set.dataset(HeatmapCodec.for_input((256, 256)))
    assert len(dataset) == len(records) == len(eval_set.truth)
    perfect = eval_set.score(OracleBackend(dataset), dataset, flip_test=False, batch=2)
    assert perfect["Mean"] == 100.0 and perfect["Head"] == 100.0
    shifted = eval_set.score(OracleBackend(dataset, shift_px=20), dataset, flip_test=False, batch=2)
    assert shifted["Mean"] < 50.0  # 20 heatmap pixels is far beyond half a head for every sample person


def test_eval_command_scores_mpii(capsys, mpii, tmp_path, models_home):
    from hrnet_studio.cli.main import main
    from hrnet_studio.models.hrnet import build_hrnet

    root, _ = mpii
    model = tmp_path / "pose_hrnet_w8_mpii_256x256.pth"
    torch.save(build_hrnet("hrnet_w8", 16).state_dict(), model)
    results = tmp_path / "pckh.json"
    annotations = root / "annotations" / "test_mpii.json"
    code = main(["eval", str(annotations), str(root / "images"), "--model", str(model), "--backend", "torch",
                 "--device", "cpu", "--results", str(results)])
    out, err = capsys.readouterr()
    assert code == 0, err
    table = dict(line.split() for line in out.strip().splitlines())
    assert set(table) == {"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean", "Mean@0.1"}
    assert "on 5 MPII persons (head sizes from valid.h5" in err
    assert len(json.loads(results.read_text())["per_joint"]) == 16
    alone = tmp_path / "valid.json"  # an MPII file with no head sizes beside it
    alone.write_text(annotations.read_text())
    code = main(["eval", str(alone), str(root / "images"), "--model", str(model)])
    assert code == 2 and "PCKh needs head sizes: pass --pckh-gt" in capsys.readouterr().err


def test_mpii_training_picks_the_best_model_by_pckh(mpii, tmp_path, models_home):
    from hrnet_studio.models.registry import ModelRegistry
    from hrnet_studio.training.recipe import load_recipe
    from hrnet_studio.training.trainer import Trainer

    root, _ = mpii
    annotations, images = root / "annotations" / "test_mpii.json", root / "images"
    items = {"data.format": "mpii", "data.train_annotations": annotations, "data.train_images": images,
             "data.val_annotations": annotations, "data.val_images": images, "model.arch": "hrnet_w8",
             "model.input_size": "[64, 64]", "epochs": 1, "batch_size": 5, "workers": 0, "device": "cpu",
             "output": tmp_path / "runs", "name": "tiny-mpii", "flip_test": "false"}
    trainer = Trainer(load_recipe(None, [f"{k}={v}" for k, v in items.items()]), registry=ModelRegistry(),
                      say=lambda _: None, show_progress=False)
    result = trainer.run()
    assert result.metric_name == "mpii_pckh" and 0.0 <= result.best_metric <= 100.0
    events = [json.loads(line) for line in (tmp_path / "runs" / "tiny-mpii" / "events.jsonl").read_text().splitlines()]
    epoch = [e for e in events if e["event"] == "epoch"][-1]
    assert epoch["mpii_pckh"] == result.best_metric
    assert ModelRegistry().find("tiny-mpii").metadata.metrics == {"mpii_pckh": result.best_metric}
