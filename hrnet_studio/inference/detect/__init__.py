"""Finding people: the detector protocol, YOLO through Ultralytics or its ONNX export, and the schedule that
runs it every N frames and follows the keypoints between."""
