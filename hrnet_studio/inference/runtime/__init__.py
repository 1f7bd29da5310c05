"""Running the pose network: the PyTorch and ONNX Runtime backends, their sessions, loading a model onto one,
the batched forward pass and throughput measurement."""
