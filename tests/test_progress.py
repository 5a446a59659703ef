"""Progress bars are drawn on a terminal only: a log or a pipe would keep every redraw."""

import io

from posekit.progress import progress_bar
from tests.train.conftest import sample_store  # noqa: F401  (the training tests' 24-clip COCO-17 store)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def drawn(stream, show=True) -> str:
    for _ in progress_bar(range(3), show=show, file=stream, desc="work", mininterval=0):
        pass
    return stream.getvalue()


def test_a_bar_is_drawn_on_a_terminal_only_and_when_asked():
    assert "work" in drawn(Terminal()) and "3/3" in drawn(Terminal())
    assert drawn(io.StringIO()) == ""  # a file or pipe: nothing
    assert drawn(Terminal(), show=False) == ""


def test_a_command_writing_to_a_log_leaves_no_bar_in_it(sample_store, tmp_path):  # noqa: F811
    from click.testing import CliRunner

    from posekit.cli import main

    result = CliRunner().invoke(main, ["synth", "untrimmed", str(sample_store), "-o", str(tmp_path / "u.h5")])
    assert result.exit_code == 0, result.output
    assert "sequence/s" not in result.stderr and "\r" not in result.stderr
    assert result.stdout.startswith("chained ")
