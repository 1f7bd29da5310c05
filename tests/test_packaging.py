"""The package as pip builds it: every subpackage listed, the resources inside."""
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_for_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "hrnet_studio").rglob("__init__.py")}
    assert on_disk <= set(config["packages"])
    assert config["package-dir"]["hrnet_studio.resources"] == "resources"
    assert config["package-dir"]["hrnet_studio.recipes"] == "training"


@pytest.mark.skipif(sys.platform == "win32", reason="builds with the local toolchain")
def test_wheel_carries_the_model_zoo(tmp_path):
    import subprocess

    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             str(ROOT), "-w", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("hrnet_studio-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "hrnet_studio/resources/model_zoo.json" in names
    assert "hrnet_studio/recipes/finetune_quick.yaml" in names  # the wizard's presets
    assert "hrnet_studio/models/registry.py" in names and "hrnet_studio/inference/runtime/onnx_backend.py" in names


@pytest.mark.parametrize("platform, machine, expected", [
    ("linux", "x86_64", "onnxruntime-gpu"), ("win32", "AMD64", "onnxruntime-gpu"),
    ("darwin", "arm64", "onnxruntime"), ("darwin", "x86_64", "onnxruntime"), ("linux", "aarch64", "onnxruntime"),
])
def test_exactly_one_onnx_runtime_that_has_wheels_is_asked_for_on_each_platform(platform, machine, expected):
    """README line 1 must install on Linux, Windows and macOS: onnxruntime-gpu has no macOS (or ARM Linux) wheels."""
    from packaging.requirements import Requirement

    requirements = [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
                    ["dependencies"]]
    where = {"sys_platform": platform, "platform_machine": machine, "python_version": "3.11"}
    runtimes = [r.name for r in requirements if r.name.startswith("onnxruntime")
                and (r.marker is None or r.marker.evaluate(where))]
    assert runtimes == [expected]
