"""From a frame to poses: the pipeline (detect, crop, infer, decode, track), the engine that runs its stages
overlapped, the factory that builds it from the user's choice, tracking, the whole-body stage and INT8 quantization;
beneath, ``codec``, ``runtime`` and ``detect``."""
