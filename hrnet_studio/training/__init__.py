"""Training: datasets, targets, loss, trainer, evaluation."""
