"""Restricted unpicklers: data comes back, code is refused before it runs."""

import pickle
from collections import OrderedDict

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.safe_pickle import load_pickle, loads_plain
from tests.crafted import CreatesMarker


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_containers_and_arrays_come_back_in_every_protocol(tmp_path, protocol):
    data = {
        "ids": ["a", "b"],
        "scores": np.arange(6, dtype=np.float32).reshape(2, 3),
        "label": np.int64(4),
        "order": OrderedDict(x=(1, 2.5, None)),
        "raw": b"\x00\xff",
    }
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps(data, protocol))
    back = load_pickle(path)
    np.testing.assert_array_equal(back.pop("scores"), data.pop("scores"))
    assert back == data


def test_a_pickle_that_calls_code_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"scores": [CreatesMarker(marker)]}))
    with pytest.raises(
        InputError,
        match=r"evil\.pkl: not a readable data pickle \(UnpicklingError: refusing to load "
        r"io\.open",
    ):
        load_pickle(path)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load io.open"):
        loads_plain(pickle.dumps([CreatesMarker(marker)], 0))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load numpy"):  # plain means no arrays either
        loads_plain(pickle.dumps(np.zeros(2), 0))
    assert not marker.exists()


def test_plain_pickles_of_pytables_attributes_come_back():
    assert loads_plain(b"(lp0\n(I1\n(lp1\n(VS\np2\nVnose\np3\nVx\np4\ntp5\natp6\na.") == [(1, [("S", "nose", "x")])]
    assert loads_plain(b"N.") is None
    assert loads_plain(b"S'caf\\xe9'\np0\n.") == "caf\xe9"  # a Python 2 str, read as latin-1 like PyTables does
