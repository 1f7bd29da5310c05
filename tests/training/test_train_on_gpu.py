"""Training on a CUDA GPU: AMP and channels-last (``pytest -m gpu``); skipped without one, as in CI."""
import pytest
import torch
from helpers import tiny_recipe

from hrnet_studio.training.trainer import Trainer

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here (CI has none)")]


def test_training_on_cuda_runs_in_amp_and_channels_last_and_learns(assets, tmp_path):
    trainer = Trainer(tiny_recipe(assets, tmp_path, epochs=4, device="cuda"), say=lambda _: None, show_progress=False)
    assert trainer.amp and trainer.memory_format == torch.channels_last
    assert next(trainer.model.parameters()).is_cuda
    result = trainer.run()
    assert result.epochs_run == 4
