"""Checkpoints never run code: crafted pickles and config text are refused by every command that loads one,
posekit's own checkpoints load weights-only (even under TORCH_FORCE_WEIGHTS_ONLY_LOAD=1), --trust-checkpoint
opens older ones with a warning, and --init refuses to fill less than the backbone."""

import copy
import fractions
import json
import pickle
import shutil

import pytest
import torch
from click.testing import CliRunner
from mmengine.config import Config

from posekit import checkpoints
from posekit.cli import main
from tests.crafted import CreatesMarker
from tests.train.test_train import run, tiny_config

WARNING = "posekit: warning: --trust-checkpoint: loading {} with full unpickling; it can run code"


@pytest.fixture(scope="module")
def trained(sample_store, tmp_path_factory):
    """A 1-epoch run (no hold-out), trained with torch forced to weights-only loading."""
    root = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
        run(
            "train",
            "unik",
            "--store",
            sample_store,
            "--work-dir",
            root / "run",
            "--config",
            tiny_config(root),
            "--epochs",
            "1",
            "--holdout",
            "0",
        )
    return root / "run"


def _clean(trained) -> dict:
    return checkpoints.load(trained / "best.pth")


def _craft(trained, path, kind: str, marker) -> None:
    """A copy of a posekit checkpoint that creates ``marker`` when loaded the unsafe way."""
    checkpoint = _clean(trained)
    meta = checkpoint["meta"]
    code = f"_r = __import__('os').system('touch {marker}')"
    if kind == "pickle":
        meta["note"] = CreatesMarker(marker)
    elif kind == "config-text":  # mmengine's Config.fromstring (checkpoint) and Runner.resume ('config') run it
        del meta[checkpoints.CONFIG_KEY]
        meta["cfg"] = meta["config"] = code
    else:  # "config-beside-json": data config, and code where Runner.resume would read it
        meta["config"] = code
    torch.save(checkpoint, path)


def _commands(path, store, tmp_path) -> dict:
    """Each command that loads a checkpoint, and the file it loads: ``path``, or its copy that --resume finds."""
    config = tiny_config(tmp_path)
    resume_dir = tmp_path / "resumed"
    resume_dir.mkdir()
    shutil.copyfile(path, resume_dir / "epoch_1.pth")
    (resume_dir / "last_checkpoint").write_text(str(resume_dir / "epoch_1.pth"))
    train = ["train", "unik", "--store", store, "--config", config, "--epochs", "2", "--holdout", "0"]
    return {
        "predict": (["predict", path, store], path),
        "eval": (["eval", path, "--store", store, "--work-dir", tmp_path / "eval"], path),
        "init": (train + ["--work-dir", tmp_path / "init", "--init", path], path),
        "resume": (train + ["--work-dir", resume_dir, "--resume"], resume_dir / "epoch_1.pth"),
    }


def _fails_in_one_line(args, *expected):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("posekit: error:")]
    assert len(errors) == 1, result.output
    for text in expected:
        assert text in errors[0]
    return errors[0]


@pytest.mark.parametrize("kind", ["pickle", "config-text", "config-beside-json"])
@pytest.mark.parametrize("command", ["predict", "eval", "init", "resume"])
def test_a_crafted_checkpoint_runs_no_code_and_stops_in_one_line(trained, sample_store, tmp_path, kind, command):
    marker, crafted = tmp_path / "MARKER", tmp_path / "crafted.pth"
    _craft(trained, crafted, kind, marker)
    args, loaded = _commands(crafted, sample_store, tmp_path)[command]
    _fails_in_one_line(args, f"error: {loaded}: ", "--trust-checkpoint only for files you trust")
    assert not marker.exists()
    assert not (tmp_path / "init" / "metrics.json").exists()


def test_posekit_checkpoints_hold_their_config_as_json_and_load_weights_only(trained):
    checkpoint = _clean(trained)
    meta = checkpoint["meta"]
    assert not {"cfg", "config"} & set(meta)
    assert json.loads(meta[checkpoints.CONFIG_KEY])["model"]["net"]["type"] == "UNIK"
    assert json.loads(checkpoint["message_hub"]["runtime_info"]["cfg"])["train_cfg"]["max_epochs"] == 1
    cfg = checkpoints.training_config(checkpoint, trained / "best.pth")
    assert cfg.trained_on["classes"] and cfg.filename == checkpoints.CONFIG_FILE
    with pytest.raises(pickle.UnpicklingError):  # torch alone refuses the message hub: the allow-list is needed
        torch.load(trained / "best.pth", weights_only=True)


def test_own_checkpoints_eval_predict_init_resume_with_weights_only_forced(
    trained, sample_store, tmp_path, monkeypatch
):
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    best = trained / "best.pth"
    run("eval", best, "--store", sample_store, "--work-dir", tmp_path / "eval")
    evaluated = json.loads((tmp_path / "eval/metrics.json").read_text())
    assert evaluated["top1"] == pytest.approx(json.loads((trained / "metrics.json").read_text())["top1"])
    assert (tmp_path / "eval" / checkpoints.CONFIG_FILE).is_file()  # the config, saved from the JSON as Python
    out = run("predict", best, sample_store, "-o", tmp_path / "p.json")
    assert len(json.loads((tmp_path / "p.json").read_text())) == 24 and "24 predictions" in out
    config = tiny_config(tmp_path)
    out = run(
        "train",
        "unik",
        "--store",
        sample_store,
        "--work-dir",
        tmp_path / "init",
        "--config",
        config,
        "--epochs",
        "1",
        "--holdout",
        "0",
        "--init",
        best,
    )
    expected = len([k for k in _clean(trained)["state_dict"] if not k.startswith("net.head.")])
    assert f"initialised from {best}: {expected} of {expected} backbone tensors loaded" in out
    resumed = tmp_path / "resumed"
    shutil.copytree(trained, resumed)
    (resumed / "last_checkpoint").write_text(str(resumed / "epoch_1.pth"))
    run(
        "train",
        "unik",
        "--store",
        sample_store,
        "--work-dir",
        resumed,
        "--config",
        config,
        "--epochs",
        "2",
        "--holdout",
        "0",
        "--resume",
    )
    assert checkpoints.load(resumed / "best.pth")["meta"]["epoch"] == 2


def _old_style(trained, path, **extra) -> None:
    """A checkpoint as posekit wrote them before: the config as mmengine's Python text."""
    checkpoint = _clean(trained)
    meta = checkpoint["meta"]
    meta["cfg"] = checkpoints.training_config(checkpoint, path).pretty_text
    del meta[checkpoints.CONFIG_KEY]
    meta.update(extra)
    torch.save(checkpoint, path)


def test_trust_checkpoint_opens_an_older_checkpoint_with_one_warning(trained, sample_store, tmp_path):
    old = tmp_path / "old.pth"
    _old_style(trained, old, share=fractions.Fraction(1, 3))  # a Fraction: outside the allow-list
    _fails_in_one_line(["predict", old, sample_store], "old.pth", "needs full unpickling", "fractions.Fraction")
    result = CliRunner().invoke(main, ["predict", str(old), str(sample_store), "--trust-checkpoint"])
    assert result.exit_code == 0, result.output
    assert result.output.count(WARNING.format(old)) == 1 and len(result.output.splitlines()) == 25
    run("eval", old, "--store", sample_store, "--work-dir", tmp_path / "eval", "--trust-checkpoint")
    assert (tmp_path / "eval/metrics.json").is_file()


def test_trust_checkpoint_resumes_from_an_older_checkpoint(trained, sample_store, tmp_path):
    resumed = tmp_path / "resumed"
    shutil.copytree(trained, resumed)
    _old_style(trained, resumed / "epoch_1.pth")
    (resumed / "last_checkpoint").write_text(str(resumed / "epoch_1.pth"))
    args = [
        "train",
        "unik",
        "--store",
        sample_store,
        "--work-dir",
        resumed,
        "--config",
        tiny_config(tmp_path),
        "--epochs",
        "2",
        "--holdout",
        "0",
        "--resume",
    ]
    _fails_in_one_line(args, "epoch_1.pth", "Python text", "--trust-checkpoint")
    out = run(*args, "--trust-checkpoint")
    assert WARNING.format(resumed / "epoch_1.pth") in out
    assert checkpoints.load(resumed / "best.pth")["meta"]["epoch"] == 2


def test_init_that_matches_no_tensor_stops_unless_partial_init_is_allowed(trained, sample_store, tmp_path):
    checkpoint = _clean(trained)
    backbone = [k for k in checkpoint["state_dict"] if not k.startswith("net.head.")]
    checkpoint["state_dict"] = {f"other.{k}": v for k, v in checkpoint["state_dict"].items()}
    foreign = tmp_path / "foreign.pth"
    torch.save(checkpoint, foreign)
    args = [
        "train",
        "unik",
        "--store",
        sample_store,
        "--config",
        tiny_config(tmp_path),
        "--epochs",
        "1",
        "--holdout",
        "0",
        "--init",
        foreign,
    ]
    error = _fails_in_one_line(
        args + ["--work-dir", tmp_path / "refused"],
        f"loaded 0 of {len(backbone)} backbone tensors",
        backbone[0],
        "--allow-partial-init",
    )
    assert error.endswith("from scratch") and not (tmp_path / "refused/metrics.json").exists()
    out = run(*args, "--work-dir", tmp_path / "partial", "--allow-partial-init")
    assert f"initialised from {foreign}: 0 of {len(backbone)} backbone tensors loaded" in out
    assert json.loads((tmp_path / "partial/metrics.json").read_text())["init_tensors"] == {
        "loaded": 0,
        "expected": len(backbone),
    }


def test_the_mmpose_expert_refuses_a_crafted_checkpoint(trained, tmp_path):
    from posekit.errors import InputError
    from posekit.extract.experts.mmpose_topdown import MmposeTopDown
    from posekit.train.overrides import config_path

    marker, crafted = tmp_path / "MARKER", tmp_path / "crafted.pth"
    _craft(trained, crafted, "pickle", marker)
    with pytest.raises(InputError, match="needs full unpickling.*trust_checkpoint"):
        MmposeTopDown(config_path("student"), crafted)
    assert not marker.exists()


def test_a_file_that_is_no_checkpoint_stops_in_one_line(sample_store, tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_text("not a checkpoint")
    _fails_in_one_line(["predict", junk, sample_store], "junk.pth: cannot be loaded weights-only")


def test_a_runners_config_formats_once_and_again_when_it_changes(monkeypatch):
    cfg = Config(dict(model=dict(type="UNIK", layout=dict(joints=["a", "b"], bones=[[0, 1]])), lr=0.1))
    expected = cfg.pretty_text
    once = checkpoints.formatted_once(cfg)
    formatted = []
    original = Config.pretty_text.fget
    monkeypatch.setattr(Config, "pretty_text", property(lambda self: formatted.append(1) or original(self)))
    assert once.pretty_text == expected and once.pretty_text == expected and len(formatted) == 1
    once.lr = 0.2  # a changed config is formatted anew
    assert "lr = 0.2" in once.pretty_text and len(formatted) == 2
    assert copy.deepcopy(once).pretty_text == once.pretty_text and len(formatted) == 2
