import pytest

from posekit.errors import InputError, PosekitError
from posekit.outputs import check_file_path, refuse_existing


def test_a_file_path_in_an_existing_folder_passes_as_a_path(tmp_path):
    assert check_file_path(str(tmp_path / "p.h5")) == tmp_path / "p.h5"


def test_a_folder_is_not_a_file_path(tmp_path):
    with pytest.raises(PosekitError, match=f"^{tmp_path}: is a folder, expected a file path$"):
        check_file_path(tmp_path)


def test_the_caller_chooses_the_kind_of_error(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        check_file_path(tmp_path, InputError)


def test_a_file_in_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(PosekitError, match=f"^{tmp_path / 'no' / 'p.h5'}: folder {tmp_path / 'no'} does not exist$"):
        check_file_path(tmp_path / "no" / "p.h5")


def test_an_existing_output_is_refused_unless_forced(tmp_path):
    (tmp_path / "p.h5").write_text("x")
    with pytest.raises(PosekitError, match="p.h5: exists; use --force"):
        refuse_existing(None, tmp_path / "q.h5", tmp_path / "p.h5", force=False)
    refuse_existing(tmp_path / "p.h5", force=True)
