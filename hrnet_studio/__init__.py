"""HRNet Studio: real-time human pose estimation with HRNet."""

__version__ = "0.1.0"
