"""Between pictures and keypoints: person boxes → network inputs (``transforms``), and heatmaps ↔ keypoints
(``heatmap_codec`` for both directions, ``decode`` for the decoders and the flip test)."""
