"""Training data loading sized to the machine: worker processes per training process, pinned memory on CUDA."""
import pytest
from helpers import tiny_recipe

from hrnet_studio.training.loading import AUTO, loader_settings, loader_workers
from hrnet_studio.training.trainer import Trainer


@pytest.mark.parametrize(("cores", "world", "device", "expected"), [
    (16, 1, "cuda", 8),   # an H200 box: every core but the GPU's driver, capped
    (16, 8, "cuda", 1),   # eight GPUs share 16 cores: two each, one of them drives its GPU
    (4, 1, "cuda", 3),
    (1, 1, "cuda", 1),    # a GPU is never fed by its own training process alone
    (2, 1, "cpu", 0),     # this class of laptop: the step uses both cores, loading happens between steps
    (16, 1, "cpu", 4),
    (64, 1, "cpu", 4),
])
def test_auto_workers_follow_the_cores_the_device_and_the_processes(cores, world, device, expected):
    assert loader_workers(AUTO, device, world, cores) == expected


def test_a_recipe_s_own_count_is_kept_and_memory_is_pinned_only_for_cuda():
    assert loader_workers(3, "cuda", 1, 64) == 3 and loader_workers(0, "cuda", 1, 64) == 0
    assert loader_settings(AUTO, "cuda", 1, 16) == {"num_workers": 8, "pin_memory": True}
    assert loader_settings(2, "cpu", 1, 16) == {"num_workers": 2, "pin_memory": False}


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # more workers than this machine's cores: asked for
def test_the_trainer_loads_with_the_recipe_s_workers_and_the_default_is_auto(assets, tmp_path, monkeypatch):
    import hrnet_studio.training.loading as loading

    monkeypatch.setattr(loading, "available_cores", lambda: 8)
    trainer = Trainer(tiny_recipe(assets, tmp_path, epochs=1, workers=AUTO), say=lambda _: None,
                      show_progress=False)
    loader = trainer._loader(trainer.train_set, train=True)
    assert loader.num_workers == 2 and not loader.pin_memory  # 8 cores on the CPU: a quarter
    x, *_ = next(iter(loader))  # the workers really load
    assert x.shape[1:] == (3, 128, 96)


def test_recipes_size_their_loading_to_the_machine_unless_they_say():
    from hrnet_studio.training.recipe import load_recipe

    assert load_recipe(None, []).workers == AUTO
    assert load_recipe(None, ["workers=3"]).workers == 3
