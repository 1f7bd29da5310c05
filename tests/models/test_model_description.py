"""The model's description: one place for derived sizes, the normalisation read from the model, one codec, one
flip-and-batch path."""
import json

import numpy as np
import pytest

from hrnet_studio.errors import StudioError
from hrnet_studio.inference.codec.decode import average_flip
from hrnet_studio.inference.codec.heatmap_codec import HeatmapCodec
from hrnet_studio.inference.codec.transforms import (
    IMAGENET,
    normalize_crops,
    person_crops,
)
from hrnet_studio.inference.detect.detector import Detections
from hrnet_studio.inference.pipeline import PosePipeline
from hrnet_studio.inference.runtime.heatmaps import predict_heatmaps
from hrnet_studio.inference.runtime.model_loading import open_pose_model
from hrnet_studio.models.checkpoints import save_pose_checkpoint
from hrnet_studio.models.hrnet import build_hrnet
from hrnet_studio.models.metadata import ModelMetadata, metadata_path
from hrnet_studio.models.registry import ModelRegistry
from hrnet_studio.models.spec import Normalization, PoseModelSpec, heatmap_size_for
from hrnet_studio.skeletons import COCO_17

CAFFE_LIKE = Normalization("bgr", (0.4, 0.45, 0.5), (0.25, 0.25, 0.25))


@pytest.mark.parametrize("size", [(192, 256), (288, 384), (256, 256), (130, 170)])
def test_heatmap_size_is_derived_in_one_place(size):
    spec = PoseModelSpec("hrnet_w32", 17, size, COCO_17)
    meta = ModelMetadata(name="m", file="m.pth", input_size=list(size))
    expected = (size[0] // 4, size[1] // 4)
    assert spec.heatmap_size == HeatmapCodec.for_spec(spec).heatmap_size == tuple(meta.heatmap_size) == expected
    assert heatmap_size_for(size) == expected


def test_normalisation_round_trips_and_refuses_nonsense(tmp_path):
    assert Normalization.from_dict(CAFFE_LIKE.to_dict()) == CAFFE_LIKE
    assert Normalization.from_dict(None) == Normalization.from_dict({}) == IMAGENET
    for bad in ({"colour": "hsv"}, {"mean": [0.5, 0.5]}, {"std": [0.2, 0.0, 0.2]}):
        with pytest.raises(ValueError):
            Normalization.from_dict(bad)
    meta = ModelMetadata(name="m", file="m.pth", normalization={"colour": "rgb", "std": [1, 2]})
    path = tmp_path / "m.pth.json"
    path.write_text(meta.to_json())
    with pytest.raises(StudioError, match="malformed normalisation"):
        ModelMetadata.read(path)


def test_normalize_crops_follows_the_models_channel_order_and_statistics():
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (2, 8, 6, 3), dtype=np.uint8)  # RGB, as warp_crops gives them
    x = normalize_crops(crops, CAFFE_LIKE)
    bgr = crops[..., ::-1].astype(np.float32) / 255
    expected = ((bgr - np.float32([0.4, 0.45, 0.5])) / np.float32(0.25)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(x, expected, rtol=1e-6)
    assert x.shape == (2, 3, 8, 6) and x.dtype == np.float32
    assert not np.allclose(x, normalize_crops(crops))  # ImageNet's is different


class RecordingBackend:
    device_name = "CPU (recording)"
    device_type = "cpu"

    def __init__(self, spec, outputs=None):
        self.spec, self.batches, self.outputs = spec, [], outputs

    def infer(self, batch):
        self.batches.append(batch.copy())
        w, h = self.spec.heatmap_size
        if self.outputs is not None:
            return self.outputs(batch)
        return np.zeros((len(batch), self.spec.num_joints, h, w), np.float32)


def test_the_pipeline_feeds_the_network_with_the_models_normalisation():
    spec = PoseModelSpec("hrnet_w32", 17, (48, 64), COCO_17, normalization=CAFFE_LIKE)
    backend = RecordingBackend(spec)
    frame = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 70, 110]], np.float32)
    PosePipeline(backend, spec, detector=None).estimate(frame, Detections(boxes, np.ones(1, np.float32)))
    expected, _, _ = person_crops(frame, boxes, (48, 64), CAFFE_LIKE)
    np.testing.assert_array_equal(backend.batches[0], expected)


def test_a_models_normalisation_travels_from_its_checkpoint_to_the_runtime(models_home, tmp_path):
    ckpt = save_pose_checkpoint(build_hrnet("hrnet_w8", 17), tmp_path / "caffe.pth",
                                {"input_size": [64, 96], "normalization": CAFFE_LIKE.to_dict()})
    registry = ModelRegistry()
    record = registry.import_file(ckpt)
    saved = json.loads(metadata_path(record.path).read_text())
    assert saved["normalization"] == CAFFE_LIKE.to_dict() and saved["heatmap_size"] == [16, 24]
    for backend in ("torch", "onnx"):
        loaded = open_pose_model(record.name, backend=backend, device="cpu", registry=registry)
        assert loaded.spec.normalization == CAFFE_LIKE, backend
    plain = registry.import_file(save_pose_checkpoint(build_hrnet("hrnet_w8", 17), tmp_path / "plain.pth",
                                                      {"input_size": [64, 96]}))
    assert open_pose_model(plain.name, backend="torch", device="cpu", registry=registry).spec.normalization == IMAGENET


def test_flip_test_and_chunking_give_what_separate_calls_give():
    spec = PoseModelSpec("hrnet_w32", 17, (48, 64), COCO_17)
    weights = np.random.default_rng(2).normal(size=(17, 3)).astype(np.float32)

    def net(batch):  # a deterministic "network" that depends on each crop and is not mirror-symmetric
        w, h = spec.heatmap_size
        maps = np.einsum("kc,nchw->nkhw", weights, batch[:, :, ::4, ::4][..., :h, :w])
        ramp = np.linspace(0, 1, w, dtype=np.float32)
        return (maps * ramp).astype(np.float32)

    crops = np.random.default_rng(3).normal(size=(5, 3, 64, 48)).astype(np.float32)
    backend = RecordingBackend(spec, net)
    plain = predict_heatmaps(backend, crops, COCO_17.flip_pairs, flip_test=False, max_batch=2)
    assert [len(b) for b in backend.batches] == [2, 2, 1]
    np.testing.assert_allclose(plain, net(crops), rtol=1e-6)
    backend.batches.clear()
    flipped = predict_heatmaps(backend, crops, COCO_17.flip_pairs, flip_test=True, max_batch=4)
    assert sum(len(b) for b in backend.batches) == 10 and max(len(b) for b in backend.batches) == 4
    expected = average_flip(net(crops), net(np.ascontiguousarray(crops[..., ::-1])), COCO_17.flip_pairs, shift=True)
    np.testing.assert_allclose(flipped, expected, rtol=1e-6)


def test_the_codec_refuses_heatmaps_of_another_size():
    codec = HeatmapCodec.for_input((192, 256))
    with pytest.raises(ValueError, match="this codec makes"):
        codec.decode(np.zeros((1, 17, 32, 24), np.float32), np.zeros((1, 2)), np.ones((1, 2)))


def test_registry_add_copies_made_models_in_and_never_leaves_one_undescribed(models_home, tmp_path):
    registry = ModelRegistry()
    made = save_pose_checkpoint(build_hrnet("hrnet_w8", 17), tmp_path / "best.pth", {"input_size": [64, 96]})
    meta = ModelMetadata(name="tuned", file="tuned.pth", arch="hrnet_w8", input_size=[64, 96], num_joints=17,
                         source="fine-tune")
    record = registry.add(made, meta)
    assert record.path == models_home / "tuned.pth" and made.is_file()  # copied, the run's own file stays
    assert record.metadata.size_bytes == made.stat().st_size and record.source == "fine-tune"
    in_folder = models_home / "exported.pth"
    in_folder.write_bytes(made.read_bytes())
    assert registry.add(in_folder, ModelMetadata(name="exported", file="", arch="hrnet_w8")).path == in_folder
    metadata_path(models_home / "broken.pth").mkdir()  # its description cannot be written
    with pytest.raises(StudioError):
        registry.add(made, ModelMetadata(name="broken", file="broken.pth", arch="hrnet_w8"))
    assert not (models_home / "broken.pth").exists()


def test_the_input_size_is_decided_in_one_place(tmp_path):
    from hrnet_studio.models.spec import input_size_from_name, resolve_input_size

    official = tmp_path / "pose_hrnet_w32_384x288.pth"
    assert resolve_input_size((96, 128), (192, 256), official, 17, "hrnet_w32") == ((96, 128), None)  # given
    assert resolve_input_size(None, [288, 384], tmp_path / "m.pth", 17, "hrnet_w32") == ((288, 384), None)  # recorded
    assert resolve_input_size(None, None, official, 17, "hrnet_w32") == ((288, 384), None)  # official name is HxW
    small = tmp_path / "pose_hrnet_w8_128x96.pth"  # two digits are a size too
    assert resolve_input_size(None, None, small, 17, "hrnet_w8") == ((96, 128), None)
    assert input_size_from_name(tmp_path / "litehrnet18_coco_256x192-6bace359_20211230.pth") == (192, 256)
    assert input_size_from_name(tmp_path / "wholebody_w48_384x288_dark.pth") == (288, 384)
    assert input_size_from_name(tmp_path / "run_20211230x1.pth") is None  # a longer number is not a size
    for joints, arch, size in ((17, "hrnet_w32", (192, 256)), (16, "hrnet_w32", (256, 256)),
                               (68, "hrnetv2_w18", (256, 256))):
        found, note = resolve_input_size(None, None, tmp_path / "mine.pth", joints, arch)
        assert found == size and note.startswith(f"input size {size[0]}x{size[1]} assumed")


def test_the_runtime_view_is_derived_from_the_description(tmp_path):
    meta = ModelMetadata(name="m", file="m.onnx", arch="hrnet_w32", input_size=[48, 64], num_joints=17,
                         normalization=CAFFE_LIKE.to_dict(), encoding="udp")
    spec = meta.spec(tmp_path / "m.onnx")
    assert (spec.arch, spec.num_joints, spec.input_size, spec.path) == ("hrnet_w32", 17, (48, 64), tmp_path / "m.onnx")
    assert spec.normalization == CAFFE_LIKE and spec.encoding == "udp" and spec.heatmap_size == (12, 16)
    assert spec.keypoints.num_joints == 17


def test_an_export_caught_between_its_file_and_its_metadata_never_stands_in_for_its_model(tmp_path, models_home,
                                                                                        small_checkpoint):
    """``models export-onnx`` (and quantizing) renames ``NAME.onnx`` into place just before ``NAME.onnx.json``; a
    model looked up by name in that moment must still be the model, not the bare export named after its stem."""
    from hrnet_studio.cli.main import main

    ModelRegistry().import_file(small_checkpoint, name="pose_w8")
    assert main(["models", "export-onnx", "pose_w8"]) == 0
    exported = next(p for p in models_home.iterdir() if p.suffix == ".onnx")
    metadata_path(exported).unlink()  # the moment between the two renames
    found = ModelRegistry().find("pose_w8")
    assert found.path.suffix == ".pth" and found.name == "pose_w8"
