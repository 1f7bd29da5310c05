"""Poses as a Lab Streaming Layer outlet (pylsl, which ships liblsl), so LabRecorder records them beside EEG, EMG or
any other stream, on one clock.

One stream of type ``MoCap``, irregular rate, float32 channels: ``person_id``, ``box_x1 … box_score``, then
``<joint>_x``, ``<joint>_y``, ``<joint>_score`` for each joint; each channel's label, type and unit are in the
stream's description (``desc/channels/channel``, as the LSL conventions for motion capture lay them out). Every
person of a frame is one sample, stamped with the frame's capture time on LSL's clock (``local_clock``, the monotonic
clock the capture time is read on; the offset between the two is measured when the outlet opens).
"""
from __future__ import annotations

import os
import time

from ..errors import StudioError
from ..inference.results import FrameResult
from .sinks import StreamFormat

QUIET = "[log]\nlevel = -2\n"  # liblsl's own log: errors only (its INFO lines are not for our users)


def _pylsl():
    try:
        if "LSLAPICFG" not in os.environ:  # a user's own LSL configuration wins
            import pylsl

            try:
                pylsl.set_config_content(QUIET)
            except Exception:  # liblsl already started in this process: its configuration stays
                pass
        import pylsl
    except (ImportError, RuntimeError) as exc:  # RuntimeError: pylsl without a loadable liblsl
        raise StudioError(f"--lsl needs pylsl, an optional part: pip install 'hrnet-studio[stream]' "
                          f"({type(exc).__name__})") from None
    return pylsl


def channel_labels(fmt: StreamFormat) -> list[tuple[str, str, str]]:
    """(label, type, unit) for each channel, in order."""
    unit = fmt.unit
    channels = [("person_id", "ID", "none")]
    channels += [(f"box_{c}", f"Position{c[-1].upper()}", unit) for c in ("x1", "y1", "x2", "y2")]
    channels.append(("box_score", "Confidence", "normalized"))
    for name in fmt.keypoints.names:
        channels += [(f"{name}_x", "PositionX", unit), (f"{name}_y", "PositionY", unit),
                     (f"{name}_score", "Confidence", "normalized")]
    return channels


class LslSink:
    def __init__(self, name: str, fmt: StreamFormat, source_id: str = ""):
        pylsl = _pylsl()
        self.label = f"LSL {name!r}"
        self.fmt = fmt
        self._pylsl = pylsl
        channels = channel_labels(fmt)
        info = pylsl.StreamInfo(name, "MoCap", len(channels), pylsl.IRREGULAR_RATE, pylsl.cf_float32,
                                source_id or f"hrnet-studio {name} {fmt.keypoints.name}")
        desc = info.desc()
        desc.append_child_value("manufacturer", "HRNet Studio")
        desc.append_child_value("keypoints", fmt.keypoints.name)
        node = desc.append_child("channels")
        for label, kind, unit in channels:
            channel = node.append_child("channel")
            channel.append_child_value("label", label)
            channel.append_child_value("type", kind)
            channel.append_child_value("unit", unit)
        skeleton = desc.append_child("skeleton")
        for a, b in fmt.keypoints.edges:
            edge = skeleton.append_child("edge")
            edge.append_child_value("from", fmt.keypoints.names[a])
            edge.append_child_value("to", fmt.keypoints.names[b])
        setup = desc.append_child("setup")
        setup.append_child_value("width", str(fmt.width))
        setup.append_child_value("height", str(fmt.height))
        try:
            self._outlet = pylsl.StreamOutlet(info)
        except Exception as exc:  # liblsl could not open its ports
            raise StudioError(f"LSL outlet {name!r} cannot be opened: {exc}") from None
        self._lsl_minus_monotonic = pylsl.local_clock() - time.monotonic()
        self.samples = 0

    def send(self, result: FrameResult, sent_time: float) -> None:
        capture = result.capture_time if result.capture_time is not None else sent_time
        stamp = capture + self._lsl_minus_monotonic
        fmt = self.fmt
        for slot, person in enumerate(result.persons):
            (x1, y1), (x2, y2) = fmt.xy(*person.bbox[:2]), fmt.xy(*person.bbox[2:])
            sample = [float(person.track_id if person.track_id >= 0 else slot), x1, y1, x2, y2,
                      float(person.box_score)]
            for xy, score in zip(person.keypoints, person.scores):
                sample += [*fmt.xy(*xy), float(score)]
            self._outlet.push_sample([float(v) for v in sample], stamp)
            self.samples += 1

    def state(self) -> str:
        consumers = "a recorder" if self._outlet.have_consumers() else "no recorder yet"
        return f"{consumers}, {self.samples} samples"

    def close(self) -> None:
        del self._outlet
