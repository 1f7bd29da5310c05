"""Keypoints ready for analysis, made from an export's CSV once the video is done: per-track gap filling and
zero-lag smoothing, joint angles with angular velocities, and OpenSim's TRC marker files."""
