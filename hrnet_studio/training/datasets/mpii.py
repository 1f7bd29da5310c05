"""MPII in the official HRNet json format (a list of persons with centre, scale, joints, joints_vis)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...skeletons import MPII_16
from .records import DatasetError, PersonRecord, read_json


def load_mpii(annotation_file: str | Path, image_root: str | Path) -> list[PersonRecord]:
    """Persons as the official loader reads them: 1-based MATLAB coordinates made 0-based, the centre moved
    down by 15·scale and the scale ×1.25 ("to avoid cropping limbs")."""
    path, root = Path(annotation_file), Path(image_root)
    data = read_json(path, "MPII annotation file")
    if not isinstance(data, list):
        raise DatasetError(f"{path.name} is not an MPII annotation list (official HRNet json format)")
    k = MPII_16.num_joints
    records = []
    for n, person in enumerate(data):
        where = f"{path.name}: entry #{n} ({person.get('image') if isinstance(person, dict) else '?'})"
        try:
            center = np.array(person["center"], dtype=np.float64)
            scale = np.array([person["scale"], person["scale"]], dtype=np.float64)
            joints = np.array(person.get("joints", np.zeros((k, 2))), dtype=np.float64)
            vis = np.array(person.get("joints_vis", np.zeros(k)), dtype=np.float64)
            image = root / person["image"]
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{where} is malformed ({type(exc).__name__}: {exc})") from None
        if joints.shape != (k, 2) or vis.shape != (k,):
            raise DatasetError(f"{where} has {len(joints)} joints; MPII has {k}")
        if center[0] != -1:
            center[1] = center[1] + 15 * scale[1]
            scale = scale * 1.25
        center = center - 1
        joints_3d = np.zeros((k, 3))
        joints_3d[:, :2] = joints - 1
        vis_3d = np.zeros((k, 3))
        vis_3d[:, 0] = vis_3d[:, 1] = vis
        records.append(PersonRecord(image, center, scale, joints_3d, vis_3d, n))
    return records
