"""Crafted hostile and broken input files, and the check that a command refused one in a single line."""

import warnings

import numpy as np
import pandas as pd


class CreatesMarker:
    """Unpickling this calls ``open(marker, 'w')``: the marker file appearing means a reader ran the file's code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def dlc_columns(*parts: str) -> pd.MultiIndex:
    return pd.MultiIndex.from_tuples(
        [("scorer", part, coord) for part in parts for coord in ("x", "y", "likelihood")],
        names=["scorer", "bodyparts", "coords"],
    )


def hostile_dlc_h5(path, marker):
    """A DeepLabCut table in pandas' "fixed" layout whose object column holds a pickle that creates ``marker``."""
    frame = pd.DataFrame(
        [[CreatesMarker(marker), 2.0, 0.9], [1.0, 2.0, 0.9]], columns=dlc_columns("snout"), dtype=object
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns that it pickles the object column: that is the point
        frame.to_hdf(path, key="df_with_missing", format="fixed", mode="w")
    return path


def dlc_frame(rows: int = 3, parts=("snout", "tailbase")) -> pd.DataFrame:
    """Numbers 0, 1, 2... row by row, likelihood columns included."""
    columns = dlc_columns(*parts)
    return pd.DataFrame(np.arange(rows * len(columns), dtype=np.float64).reshape(rows, -1), columns=columns)


def assert_one_line_error(result):
    """A click CliRunner result of a command that refused its input: exit status 2, one line, no traceback.
    A progress bar that the terminal overwrote (tqdm's carriage returns) is not a line."""
    lines = [line.rsplit("\r", 1)[-1] for line in result.output.strip().split("\n")]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("posekit: error: "), result.output
    assert "Traceback" not in result.output
