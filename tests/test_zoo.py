import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from posekit.cli.models import models
from posekit.errors import InputError
from posekit.registry import TRAINERS, names
from posekit.zoo import load_card, load_cards, models_dir

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT / "tools" / "zoo_tables.py"
PENN_FIGURE = "Top 1 Accuracy (joint + bone): 97.0"


def zoo_tables(*args):
    return subprocess.run([sys.executable, str(TABLES), *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def zoo_copy(tmp_path):
    root = tmp_path / "models"
    shutil.copytree(models_dir(), root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_a_checkout_reads_the_top_level_models_folder_and_every_default_config_is_there():
    assert models_dir() == ROOT / "models"
    assert all((models_dir() / TRAINERS.get(name).default_config).is_file() for name in names(TRAINERS))


def test_every_model_folder_has_a_card_with_unique_model_names():
    cards = load_cards()
    assert {card.path.parent.name for card in cards} >= {"unik", "stgcn", "dmsd", "lstm_selfsup", "ssta_prs"}
    names = [model.name for card in cards for model in card.models]
    assert len(names) == len(set(names))


def test_every_config_a_card_command_names_exists():
    for card in load_cards():
        for model in card.models:
            words = shlex.split(model.command or "")
            for flag, value in zip(words, words[1:]):
                if flag == "--config":
                    assert (models_dir() / value).is_file(), (card.path, model.name, value)


def test_the_readme_tables_are_up_to_date_with_the_cards():
    result = zoo_tables("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_figure_edited_in_the_card_only_makes_the_readme_stale_until_the_tool_runs(zoo_copy):
    card = zoo_copy / "unik" / "metafile.yml"
    card.write_text(card.read_text().replace(PENN_FIGURE, "Top 1 Accuracy (joint + bone): 97.1"))
    result = zoo_tables("--check", "--root", zoo_copy)
    assert result.returncode == 1 and "unik/README.md" in result.stdout
    assert zoo_tables("--root", zoo_copy).returncode == 0
    assert zoo_tables("--check", "--root", zoo_copy).returncode == 0
    assert "| 97.1 |" in (zoo_copy / "unik" / "README.md").read_text()


def test_a_figure_edited_in_the_readme_only_is_stale(zoo_copy):
    readme = zoo_copy / "dmsd" / "README.md"
    readme.write_text(readme.read_text().replace("| 22.5 |", "| 25.5 |"))
    result = zoo_tables("--check", "--root", zoo_copy)
    assert result.returncode == 1 and "dmsd/README.md" in result.stdout


def test_a_model_folder_without_a_card_is_skipped(zoo_copy):
    (zoo_copy / "half_finished").mkdir()
    (zoo_copy / "half_finished" / "config.py").write_text("model = None\n")
    assert "half_finished" not in {card.path.parent.name for card in load_cards(zoo_copy)}


@pytest.mark.parametrize(
    "edit, problem",
    [
        (lambda text: text + "\n  - [unbalanced", "not a readable YAML card"),
        (
            lambda text: text.replace(PENN_FIGURE, "Top 1 Accuracy (joint + bone): high"),
            "'high' is not of type 'number'",
        ),
        (
            lambda text: text.replace("Config: unik/unik_1xb16-joint_store.py", "Config: unik/gone.py"),
            "Config unik/gone.py does not exist",
        ),
        (lambda text: text.replace("In Collection: UNIK\n", "In Collection: UNKNOWN\n", 1), "is not a collection"),
    ],
)
def test_a_bad_card_is_one_line_naming_the_file(zoo_copy, edit, problem):
    card = zoo_copy / "unik" / "metafile.yml"
    card.write_text(edit(card.read_text()))
    with pytest.raises(InputError) as error:
        load_card(card)
    assert str(error.value).startswith(f"{card}: ") and problem in str(error.value)
    assert "\n" not in str(error.value)


def test_posekit_models_lists_name_config_dataset_and_headline():
    result = CliRunner().invoke(models, [], catch_exceptions=False)
    assert result.exit_code == 0
    penn = next(line for line in result.output.splitlines() if line.startswith("unik_joint-bone_penn-action "))
    assert penn.split()[1:4] == ["unik/unik_1xb16-joint_penn-action.py", "Penn", "Action"]
    assert penn.endswith("Top 1 Accuracy (joint + bone) 97.0")


def test_posekit_models_json_carries_the_card_fields():
    result = CliRunner().invoke(models, ["--json"], catch_exceptions=False)
    listed = {model["name"]: model for model in json.loads(result.output)}
    penn = listed["unik_joint-bone_penn-action"]
    assert penn["results"][0]["metrics"]["Top 1 Accuracy (joint)"] == 96.0
    assert penn["weights"] is None and "posekit fuse" in penn["command"]
    assert listed["stgcn_joint_store"]["results"] == []
