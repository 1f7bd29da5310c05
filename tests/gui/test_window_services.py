"""The window's parts use the window only through ``WindowServices``, and the window provides all of it."""
import re
from pathlib import Path

from hrnet_studio.gui import services
from hrnet_studio.gui.services import WindowServices

GUI = Path(services.__file__).parent


def members(protocol) -> set[str]:
    return set(protocol.__annotations__) | {n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")}


def test_the_parts_use_only_what_the_services_name():
    parts = [p for p in GUI.rglob("*.py") if re.search(r"import (WindowPart|WindowServices)\b", p.read_text())]
    assert len(parts) >= 6  # source bar, review, outputs, model installs, quantization, training sets
    allowed = members(WindowServices)
    used = {(p.name, m) for p in parts for m in re.findall(r"self\.window\.([A-Za-z_]\w*)", p.read_text())}
    assert used and not {u for u in used if u[1] not in allowed}


def test_the_main_window_provides_every_service(window):
    missing = [name for name in members(WindowServices) if not hasattr(window, name)]
    assert not missing
    for name in members(services.SourceServices):
        assert callable(getattr(window.sources, name))
    assert callable(window.review.for_export)
