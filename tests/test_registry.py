"""posekit.registry: each registry lists what its modules register, with nothing kept by hand elsewhere."""

import pytest

from posekit.errors import InputError, PosekitError
from posekit.registry import EXPERTS, EXPORTERS, IMPORTERS, TRANSFORMS, names

FORMATS = {
    "penn-action",
    "nw-ucla",
    "ntu",
    "kinetics-skeleton",
    "openpose",
    "coco",
    "pyskl",
    "dlc",
    "sleap",
    "nwb",
    "npz",
    "csv",
}


def test_each_registry_lists_what_its_modules_register():
    assert set(names(IMPORTERS)) == FORMATS
    assert names(EXPORTERS) == ["pyskl"]
    assert set(names(EXPERTS)) == {"blazepose", "blazepose-multi", "blazepose-detector", "mmpose", "rtmlib", "file"}
    assert {"RandomTemporalCrop", "JointToBone", "RemapLayout", "FormatCTVM", "ToTensor"} <= set(names(TRANSFORMS))
    assert TRANSFORMS.get("ToTensor") is TRANSFORMS.get("FormatCTVM")


def test_readers_keep_the_file_endings_they_take_from_a_folder():
    assert IMPORTERS.get("openpose").suffixes == ("_keypoints.json",)
    assert IMPORTERS.get("pyskl").suffixes == (".pkl", ".pickle")
    assert all(IMPORTERS.get(name).suffixes for name in names(IMPORTERS))


def test_unknown_names_give_the_one_line_errors(tmp_path):
    from posekit.convert import convert
    from posekit.data.transforms import build_transforms
    from posekit.exporters import export

    with pytest.raises(PosekitError, match=r"^unknown format 'nope'; formats: coco, csv, dlc, "):
        convert("nope", [tmp_path], tmp_path / "out.h5")
    with pytest.raises(PosekitError, match=r"^unknown export format 'nope'; formats: pyskl$"):
        export("nope", tmp_path / "in.h5", tmp_path / "out.pkl")
    with pytest.raises(InputError, match=r"^unknown transform 'Nope'; known: (?=.*\bJointToBone\b)(?=.*\bToTensor\b)"):
        build_transforms([{"type": "Nope"}])
