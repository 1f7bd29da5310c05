"""The settings panel: pose model and runtime, detector, estimation options, overlay, and whole-body parts."""
