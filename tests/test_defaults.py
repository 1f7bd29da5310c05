"""One set of defaults: the option dataclasses hold them, and the command line and the app's panels show the same."""
import inspect
from dataclasses import asdict, fields

from hrnet_studio.batch.options import BatchOptions
from hrnet_studio.cli.main import build_parser
from hrnet_studio.export.options import FilterOptions, OverlayOptions
from hrnet_studio.inference.options import PipelineChoice, PipelineOptions
from hrnet_studio.review.suggest import suggest as review_suggest
from hrnet_studio.training.options import LabelOptions

# argparse dest → (dataclass, field)
EXPORT_FLAGS = {
    "decoder": (PipelineOptions, "decoder"), "flip": (PipelineOptions, "flip_test"),
    "track": (PipelineOptions, "track"),
    "smooth": (PipelineOptions, "smooth"), "smooth_min_cutoff": (PipelineOptions, "smooth_min_cutoff"),
    "smooth_beta": (PipelineOptions, "smooth_beta"), "batch": (PipelineOptions, "max_batch"),
    "det_every": (PipelineOptions, "det_every"),
    "device": (PipelineChoice, "device"), "backend": (PipelineChoice, "backend"),
    "precision": (PipelineChoice, "precision"), "half": (PipelineChoice, "half"), "compile": (PipelineChoice, "compile"),
    "det_size": (PipelineChoice, "detector_size"), "det_conf": (PipelineChoice, "det_conf"),
    "det_iou": (PipelineChoice, "det_iou"), "trust_detector": (PipelineChoice, "trust_detector"),
    "face_model": (PipelineChoice, "face_model"), "hand_model": (PipelineChoice, "hand_model"),
    "part_precision": (PipelineChoice, "part_precision"), "input_size": (PipelineChoice, "input_size"),
    "kpt_thr": (OverlayOptions, "threshold"), "part_thr": (OverlayOptions, "part_threshold"),
    "filter": (FilterOptions, "filter"), "cutoff": (FilterOptions, "cutoff_hz"),
    "filter_order": (FilterOptions, "order"),
    "window": (FilterOptions, "window_s"), "polyorder": (FilterOptions, "polyorder"),
    "fill_gaps": (FilterOptions, "max_gap_s"),
    "workers": (BatchOptions, "workers"), "cpus_per_task": (BatchOptions, "cpus_per_task"),
    "gpus_per_task": (BatchOptions, "gpus_per_task"),
}
LABEL_FLAGS = {"every": "every", "max_frames": "max_frames", "min_score": "min_box_score",
               "kpt_thr": "keypoint_threshold", "min_keypoints": "min_keypoints"}


def default(cls, field: str):
    return getattr(cls(), field)


def test_the_command_line_defaults_are_the_dataclasses():
    args = build_parser().parse_args(["export", "clip.mp4"])
    differ = {dest: (getattr(args, dest), default(cls, f)) for dest, (cls, f) in EXPORT_FLAGS.items()
              if getattr(args, dest) != default(cls, f)}
    assert not differ
    label = build_parser().parse_args(["label", "clip.mp4", "--teacher", "t.pt", "-o", "out"])
    assert {d: getattr(label, d) for d in LABEL_FLAGS} == {d: default(LabelOptions, f) for d, f in LABEL_FLAGS.items()}
    assert label.device == PipelineChoice().device
    for command in (["eval", "data.json", "images"], ["bench"]):
        args = build_parser().parse_args(command)
        assert (args.device, args.backend, args.precision) == (PipelineChoice().device, PipelineChoice().backend,
                                                               PipelineChoice().precision)
    evaluation = build_parser().parse_args(["eval", "data.json", "images"])
    assert (evaluation.decoder, evaluation.batch) == (PipelineOptions().decoder, PipelineOptions().max_batch)
    suggest = build_parser().parse_args(["review", "suggest", "clip.mp4"])
    assert suggest.count == inspect.signature(review_suggest).parameters["count"].default


def test_the_help_states_the_default_that_applies():
    helps = {a.dest: a.help for a in build_parser()._subparsers._group_actions[0].choices["export"]._actions}
    assert f"default {FilterOptions().cutoff_hz:g} Hz" in helps["cutoff"]
    assert f"default {PipelineChoice().detector_size}" in helps["det_size"]
    assert f"default {OverlayOptions().threshold}" in helps["kpt_thr"]


def test_every_export_option_a_user_can_set_is_checked_here():
    """A field added to an option dataclass with a command-line flag must be added above (so it is compared)."""
    covered = {(cls, f) for cls, f in EXPORT_FLAGS.values()}
    internal = {(PipelineChoice, "model"), (PipelineChoice, "detector"), (PipelineChoice, "detector_sha256"),
                (PipelineOptions, "redetect_below"), (OverlayOptions, "skeleton"), (OverlayOptions, "boxes"),
                (OverlayOptions, "ids"), (OverlayOptions, "scores"), (OverlayOptions, "parts"),
                (FilterOptions, "threshold")}  # set from elsewhere (--model, --detector, the overlay's own switches)
    every = {(cls, f.name) for cls in (PipelineOptions, PipelineChoice, OverlayOptions, FilterOptions, BatchOptions)
             for f in fields(cls)}
    assert every - covered - internal == set()


def test_the_app_starts_with_the_same_defaults(qtbot):
    from hrnet_studio.gui.export.analysis_options import AnalysisOptionsBox
    from hrnet_studio.gui.settings.panel import SettingsPanel

    panel = SettingsPanel()
    qtbot.addWidget(panel)
    choice, expected = panel.choice(), PipelineChoice()
    for name in ("device", "backend", "precision", "detector_size", "face_model", "hand_model", "part_precision",
                 "compile"):
        assert getattr(choice, name) == getattr(expected, name), name
    assert asdict(panel.options()) == asdict(PipelineOptions.live())
    assert asdict(panel.overlay_options()) == asdict(OverlayOptions())
    box = AnalysisOptionsBox()
    qtbot.addWidget(box)
    assert box.filter_options(OverlayOptions().threshold) == FilterOptions()
    from hrnet_studio.gui.review.panel import ReviewPanel

    review = ReviewPanel()
    qtbot.addWidget(review)
    assert review.count_spin.value() == inspect.signature(review_suggest).parameters["count"].default


def test_the_batch_dialog_starts_with_the_same_workers(window):
    from hrnet_studio.gui.export.batch_dialog import BatchExportDialog

    dialog = BatchExportDialog(window, window.settings)
    assert dialog.workers_spin.value() == BatchOptions().workers
