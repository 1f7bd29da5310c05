"""Exports at scale: many videos, one set of outputs each, recorded in a manifest so that a re-run skips what is
done and redoes what failed or changed; on this machine (one process or several) or on a Ray cluster."""
