"""Models in the app: downloads and imports, and INT8 quantization of the chosen model."""
