"""Lab Streaming Layer in these tests stays on this machine: discovery on the loopback only, IPv4, quiet. liblsl reads
its configuration once, when first used, so it is set before any test here imports pylsl. (liblsl has no setting
for the address its outlets' data sockets bind to; with discovery confined to the machine no other host finds them.)"""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

_folder = Path(tempfile.mkdtemp(prefix="hrnet-studio-lsl-"))
atexit.register(shutil.rmtree, _folder, ignore_errors=True)
(_folder / "lsl_api.cfg").write_text("[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n"
                                     "ListenAddress = 127.0.0.1\n[log]\nlevel = -2\n")
os.environ["LSLAPICFG"] = str(_folder / "lsl_api.cfg")
