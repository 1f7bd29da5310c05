"""INT8 pose models: ONNX Runtime static quantization calibrated on real person crops, kept only behind a guard.

``prepare_int8`` takes a registered model's fp32 ONNX export, collects person crops from the user's own
footage (``calibration.py``: the detector's boxes, warped exactly as the pipeline warps them; for a face or hand
landmark model, the face or hand boxes the whole-body stage would derive from a pose detector's keypoints),
calibrates ONNX Runtime's static quantization (QDQ, per-channel int8 weights, uint8 activations) on 80% of them,
and compares INT8 with fp32 keypoints on the held-out 20%:

* **PCK@0.05 agreement**: the share of joints whose INT8 position lies within 0.05 × the person's size (the
  longer side of the crop ÷ 1.25 padding) of the fp32 position, over joints fp32 is sure of (score ≥ 0.2);
* **score correlation**: Pearson's r between the INT8 and fp32 keypoint scores.

Below ``GUARD_PCK`` or ``GUARD_CORRELATION`` the INT8 model is refused in one line (``quantize_registered``),
unless forced; a forced one is marked unguarded wherever it is listed. ``register_int8`` puts it beside its
source as ``NAME.int8.onnx`` with the source's sha256, so a replaced model never runs a stale INT8 file.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import StudioError

GUARD_PCK = 0.95
GUARD_CORRELATION = 0.9
PCK_FRACTION = 0.05
SURE_SCORE = 0.2
INT8_SUFFIX = ".int8.onnx"


@dataclass
class GuardReport:
    pck: float  # share of sure fp32 joints that INT8 places within PCK_FRACTION × person size
    correlation: float  # Pearson's r of the keypoint scores
    crops: int  # held-out crops compared
    speedup: float = 0.0  # INT8's crops/s ÷ fp32's on this machine (0: not measured); it does not decide the verdict

    @property
    def passed(self) -> bool:
        return self.pck >= GUARD_PCK and self.correlation >= GUARD_CORRELATION

    def describe(self) -> str:
        line = (f"INT8 against fp32 on {self.crops} held-out crops: PCK@{PCK_FRACTION:g} agreement {self.pck:.3f} "
                f"(needs {GUARD_PCK:g}), score correlation {self.correlation:.3f} (needs {GUARD_CORRELATION:g})")
        if self.speedup > 0:
            line += f"; it runs {self.speedup:.2f}x fp32's speed on this CPU"
            if self.speedup < 1:
                line += " (slower: fp32 is the faster choice for this model here)"
        return line


class GuardError(StudioError):
    """The INT8 model strays too far from fp32; nothing was kept."""

    def __init__(self, report: GuardReport):
        super().__init__(f"INT8 refused: {report.describe()}; nothing was kept (--force keeps it anyway, marked "
                         f"unguarded)")
        self.report = report


CACHE_KEEP = 4  # quantizations kept in the cache, the most recently used


def quantize_onnx(fp32: Path, crops: np.ndarray, dest: Path, batch: int = 8) -> None:
    """ONNX Runtime static quantization of ``fp32`` into ``dest`` (written whole or not at all), calibrated with
    min/max ranges on ``crops`` float32 [N, 3, H, W].

    The same model calibrated on the same crops gives the same INT8 file, so each result is kept in the cache
    (``cache_dir()/int8``, the newest ``CACHE_KEEP``): a second run, such as ``--force`` after the guard refused, or
    the app after the command line, takes it from there in a moment instead of quantizing again."""
    from ..atomic_writer import WriteError, copy_file
    from ..paths import mark_used, prune_cache

    cached = _cache_entry(fp32, crops, batch)
    if cached.is_file():
        copy_file(cached, dest)
        mark_used(cached)
        return
    _quantize(fp32, crops, dest, batch)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        copy_file(dest, cached)
        prune_cache(cached.parent, CACHE_KEEP)
    except (OSError, WriteError):  # a cache that cannot be written only costs time next run
        pass


def _cache_entry(fp32: Path, crops: np.ndarray, batch: int) -> Path:
    import hashlib

    import onnxruntime

    from ..models.download import file_sha256
    from ..paths import cache_file

    digest = hashlib.sha256(np.ascontiguousarray(crops).tobytes()).hexdigest()
    return cache_file("int8", f"{file_sha256(fp32)} {onnxruntime.__version__} {batch} {crops.shape} {crops.dtype} "
                              f"{digest}", ".onnx")


def _quantize(fp32: Path, crops: np.ndarray, dest: Path, batch: int) -> None:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    from ..atomic_writer import atomic_path

    name = onnx.load(str(fp32), load_external_data=False).graph.input[0].name  # imported files name it their way

    class Crops(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{name: crops[i:i + batch]} for i in range(0, len(crops), batch)])

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as scratch, atomic_path(dest) as part:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(part), Crops(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def guard(fp32: Path, int8: Path, crops: np.ndarray) -> GuardReport:
    """Compare INT8 with fp32 keypoints on ``crops`` (held out from calibration)."""
    from .codec.decode import heatmap_coords
    from .runtime.onnx_backend import OnnxBackend

    reference, candidate = OnnxBackend(fp32, "cpu"), OnnxBackend(int8, "cpu")
    expected = np.concatenate([reference.infer(crops[i:i + 8]) for i in range(0, len(crops), 8)])
    got = np.concatenate([candidate.infer(crops[i:i + 8]) for i in range(0, len(crops), 8)])
    (xy_ref, score_ref), (xy_new, score_new) = heatmap_coords(expected), heatmap_coords(got)
    score_ref, score_new = score_ref[..., 0], score_new[..., 0]
    height, width = crops.shape[2:]
    stride = width / expected.shape[-1]  # heatmap pixels → crop pixels
    xy_ref, xy_new = xy_ref * stride, xy_new * stride
    person = max(height, width) / 1.25  # crops are the person's box padded 1.25 times
    sure = score_ref >= SURE_SCORE
    close = np.linalg.norm(xy_new - xy_ref, axis=-1) <= PCK_FRACTION * person
    pck = float(close[sure].mean()) if sure.any() else 0.0
    a, b = score_ref.ravel(), score_new.ravel()
    correlation = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
    return GuardReport(pck, correlation, len(crops), relative_speed(reference, candidate, crops[:8]))


def relative_speed(reference, candidate, batch: np.ndarray, seconds: float = 0.25, rounds: int = 3) -> float:
    """``candidate``'s crops/s ÷ ``reference``'s on ``batch`` float32 [N, 3, H, W]: each timed for ``seconds`` in
    turn, ``rounds`` times (so a busy moment of the machine falls on both), the median ratio. Both have run once."""
    import statistics
    import time

    def rate(backend) -> float:
        start, runs = time.perf_counter(), 0
        while runs == 0 or time.perf_counter() - start < seconds:
            backend.infer(batch)
            runs += 1
        return runs / (time.perf_counter() - start)

    return statistics.median(rate(candidate) / rate(reference) for _ in range(rounds))


@dataclass
class Int8Candidate:
    """An INT8 model made and checked, not registered yet: ``path`` lies in a scratch folder of its own."""

    record: object  # the fp32 model it comes from (ModelRecord)
    fp32: object  # the fp32 ONNX it was quantized from (ModelRecord)
    path: Path
    report: GuardReport
    calibration_crops: int
    sources: list[Path]
    crops_of: str = "person"  # what the crops show: person, face or hand

    def discard(self) -> None:
        import shutil

        shutil.rmtree(self.path.parent, ignore_errors=True)


def prepare_int8(
    registry, record, sources: list[Path], detector, say: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None, held_out: float = 0.2,
) -> Int8Candidate:
    """Quantize an installed pose model to INT8 and run the guard; nothing is written to the model folder (except
    the fp32 ONNX export, made first when missing). ``sources``: videos or image folders with people (the user's
    own footage); ``detector`` finds them."""
    from ..models.onnx_export import export_registered
    from .calibration import calibration_crops, part_boxes

    say = say or (lambda line: None)
    if record.metadata is None or record.kind != "pose":
        raise StudioError(f"{record.name} is not an installed pose model")
    if record.metadata.precision == "int8":
        raise StudioError(f"{record.name} is already INT8")
    if record.path.parent.resolve() != registry.folder.resolve():
        raise StudioError(f"{record.path} is not in the model folder: import it first "
                          f"(`hrnet-studio models import {record.path}`)")
    fp32 = record if record.metadata.format == "onnx" else registry.onnx_export_of(record)
    if fp32 is None:
        say(f"exporting {record.name} to ONNX first...")
        fp32, _ = export_registered(registry, record)
    what = {"face": "face", "hand": "hand"}.get(record.landmarks or "", "person")
    say(f"collecting {what} crops for calibration from {', '.join(p.name for p in sources)}...")
    crops = calibration_crops(sources, tuple(fp32.metadata.input_size), detector, progress=progress,
                              normalization=fp32.metadata.normalization_spec(),
                              udp=fp32.metadata.encoding == "udp",
                              boxes_of=part_boxes(what, getattr(detector, "name", "the detector"))
                              if what != "person" else None)
    if len(crops) < 10:
        raise StudioError(f"only {len(crops)} {what}s found in the calibration footage: give more (at least 10)")
    order = np.random.default_rng(0).permutation(len(crops))
    cut = int(round(len(crops) * (1 - held_out)))
    calibration, check = crops[order[:cut]], crops[order[cut:]]
    say(f"calibrating INT8 on {len(calibration)} crops, checking on {len(check)} held out...")
    path = Path(tempfile.mkdtemp(prefix="hrnet-studio-int8-")) / int8_name(record)
    try:
        quantize_onnx(fp32.path, calibration, path)
        report = guard(fp32.path, path, check)
    except BaseException:
        Int8Candidate(record, fp32, path, GuardReport(0, 0, 0), 0, sources).discard()
        raise
    say(report.describe())
    return Int8Candidate(record, fp32, path, report, len(calibration), sources, what)


def int8_name(record) -> str:
    """``w32`` → ``w32.int8.onnx``; an imported ``model.onnx`` → ``model.int8.onnx``."""
    stem = record.path.stem if record.metadata.format == "onnx" else record.name
    return stem + INT8_SUFFIX


def register_int8(registry, candidate: Int8Candidate):
    """Move a prepared INT8 model into the model folder beside its source, with the source's sha256 and the guard's
    figures; unguarded when it failed the guard. Returns its ModelRecord."""
    try:
        return registry.add(candidate.path, _int8_metadata(candidate))
    finally:
        candidate.discard()


def _int8_metadata(candidate: Int8Candidate):
    from dataclasses import replace

    from ..models.download import file_sha256
    from ..models.metadata import now_iso

    record, report = candidate.record, candidate.report
    name = candidate.path.name
    source_sha256 = file_sha256(record.path)  # the file as it is now, as onnx_export_of checks it
    verdict = "passed the guard" if report.passed else "FAILED the guard and was kept anyway (unguarded)"
    footage = ", ".join(p.name for p in candidate.sources)
    return replace(candidate.fp32.metadata, name=name, file=name, format="onnx", precision="int8",
                   guarded=report.passed, source="int8", builtin=None, derived_from=record.name,
                   derived_sha256=source_sha256, sha256=None, created=now_iso(),
                   metrics={"int8_pck@0.05": round(report.pck, 4), "int8_score_r": round(report.correlation, 4),
                            "int8_speedup": round(report.speedup, 2)},
                   notes=[f"ONNX Runtime static quantization (QDQ, per-channel), calibrated on "
                          f"{candidate.calibration_crops} {candidate.crops_of} crops from {footage}; {verdict}: "
                          f"{report.describe()}"])


def quantize_registered(
    registry, record, sources: list[Path], detector, force: bool = False,
    say: Callable[[str], None] | None = None, progress: Callable[[int, int], None] | None = None,
) -> tuple[object, GuardReport]:
    """``prepare_int8`` then ``register_int8``: the INT8 model is registered when it passes the guard or ``force`` is
    given; else ``GuardError`` and nothing is kept. Returns (the INT8 model's ModelRecord, the guard's report)."""
    candidate = prepare_int8(registry, record, sources, detector, say, progress)
    if not candidate.report.passed and not force:
        candidate.discard()
        raise GuardError(candidate.report)
    return register_int8(registry, candidate), candidate.report
