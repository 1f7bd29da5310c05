"""Labelling's settings and their defaults, written here and nowhere else (``hrnet-studio label`` reads its flags'
defaults from them). Nothing heavy is imported: the command line builds its parser from them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LabelOptions:
    every: int = 10  # label every n-th frame
    max_frames: int = 0  # per video; 0 = no limit
    min_box_score: float = 0.5
    keypoint_threshold: float = 0.5  # below: the joint is written as not labelled (v = 0)
    min_keypoints: int = 8  # fewer confident joints: the person is dropped
