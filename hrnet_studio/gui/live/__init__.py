"""The live view: capture thread, inference worker, the video view, player bar, plots, recording and the source bar."""
