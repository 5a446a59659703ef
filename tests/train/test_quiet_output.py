"""What train, eval and predict print: progress and their summary, not mmengine's environment, config and notices
(those stay in the work dir's log file); no registry warning; no torch warning about a
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD left in the environment, whose loads stay weights-only."""

import pickle
import warnings
from importlib import import_module

import mmengine.registry as mm
import pytest
import torch
from click.testing import CliRunner
from mmengine.config import Config
from mmengine.runner.checkpoint import _load_checkpoint

from posekit import checkpoints
from posekit.cli import main
from posekit.registry import TRAINERS, names
from posekit.train.overrides import config_path

from .test_train import tiny_config

TERMINAL_NOISE = (
    "System environment",
    "Config:",
    "Hooks will be executed",
    "Failed to import",
    "FileClient",
    "Loads checkpoint by",
    "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD",
)


def invoke(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def runs(sample_store, tmp_path_factory):
    """train, eval and predict once, with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 set as older install notes advised;
    their outputs, the warnings they raised and their folders."""
    tmp = tmp_path_factory.mktemp("quiet")
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings(record=True) as caught:
        patch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
        warnings.simplefilter("always")
        outputs = {
            "train": invoke(
                "train", "unik", "--store", sample_store, "--work-dir", tmp / "run", "--config", tiny_config(tmp)
            ),
            "eval": invoke("eval", tmp / "run/best.pth", "--store", sample_store, "--work-dir", tmp / "eval"),
            "predict": invoke("predict", tmp / "run/best.pth", sample_store),
        }
    return outputs, [str(w.message) for w in caught], tmp


@pytest.mark.parametrize("command", ["train", "eval", "predict"])
def test_the_terminal_gets_progress_and_the_summary_only(runs, command):
    outputs, _, _ = runs
    out = outputs[command]
    assert not [noise for noise in TERMINAL_NOISE if noise in out]
    if command == "predict":  # no mmengine Runner: one line per clip of the 24, nothing else
        assert [len(line.split("\t")) for line in out.splitlines()] == [3] * 24
    else:
        assert "Epoch(test)" in out and ("trained UNIK (joint, 2 epochs)" if command == "train" else "top-1") in out


def test_the_log_file_keeps_the_environment_and_the_config(runs):
    _, _, tmp = runs
    for work_dir in (tmp / "run", tmp / "eval"):
        [log] = work_dir.glob("*/*.log")
        text = log.read_text()
        assert "System environment" in text and "Config:" in text and "Epoch(test)" in text


def test_no_warning_about_the_weights_only_switch(runs):
    _, caught, _ = runs
    assert not [message for message in caught if "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" in message]


class NotAWeight:
    """A pickled object weights-only loading refuses (its class is no tensor, array or allowed global)."""


def test_mmengine_loads_stay_weights_only_whatever_the_environment(tmp_path, monkeypatch):
    """mmengine's loader of local files (resume, load_from) says weights_only=True, so the switch neither warns
    nor unpickles fully past posekit's allow-list."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    weights, unsafe = tmp_path / "weights.pth", tmp_path / "unsafe.pth"
    torch.save({"state_dict": {"w": torch.ones(2)}}, weights)
    torch.save({"state_dict": {}, "extra": NotAWeight()}, unsafe)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning fails the test
        with checkpoints.allowed_globals():
            assert torch.equal(_load_checkpoint(str(weights))["state_dict"]["w"], torch.ones(2))
            with pytest.raises(pickle.UnpicklingError):
                _load_checkpoint(str(unsafe))


def test_every_trainer_config_names_a_scope_whose_registry_mmengine_finds():
    """mmengine builds a config's objects in its default_scope: it imports ``<scope>.registry`` and looks for the
    scope among its registries' children, and warns ("Failed to import `None.registry`") where either fails."""
    for trainer in names(TRAINERS):
        scope = Config.fromfile(config_path(trainer)).get("default_scope")
        assert scope is not None, trainer
        import_module(f"{scope}.registry")
        assert mm.MODELS._search_child(scope) is not None, (trainer, scope)
