"""Everything an export writes: the export job, the one table layout (CSV columns, written and read by name),
COCO JSON, the overlay video and its drawing, and the analysis outputs beneath (``analysis/``)."""
