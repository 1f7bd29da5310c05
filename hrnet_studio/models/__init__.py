"""Model files: the networks (HRNet, HRNetV2, Lite-HRNet), checkpoints in every layout, the user's model folder
(registry), the zoo and its downloads, model descriptions and metadata, ONNX exports and safe loading."""
