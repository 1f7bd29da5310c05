"""Running the pose network: the PyTorch and ONNX Runtime backends, their sessions, loading a model onto one,
the batched forward pass, throughput measurement and INT8 quantization."""
