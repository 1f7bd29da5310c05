"""Pose datasets: COCO-format (any keypoint set) and MPII (official json), as person records."""
