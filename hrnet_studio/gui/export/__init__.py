"""Exports from the app: the open video's keypoints, the analysis options, and batch export of many videos."""
