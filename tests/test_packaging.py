"""A regular (non-editable) install carries the model zoo, the written schemas and the layouts: build the wheel,
install it into a fresh venv, validate a store and train with a default config from another folder."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import posekit
from posekit.sample import ACTIONS, IMAGE_SIZE, make_sample, sample_split
from posekit.store import Clip, StoreWriter

ROOT = Path(__file__).resolve().parents[1]
# Left out of the copy the wheel is built from: environments, VCS data, earlier build outputs.
NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "work_dirs", "*.h5"
)


def run(*command, cwd, env=None):
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of a copy of the checkout, so the in-tree build outputs land in the copy, not in the checkout."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--disable-pip-version-check",
        "-q",
        "-w",
        tmp / "dist",
        ".",
        cwd=source,
    )
    (path,) = (tmp / "dist").glob("posekit-*.whl")
    return path


def test_the_wheel_carries_the_zoo_the_schemas_the_layouts_and_only_the_two_packages(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert wheel.name.startswith(f"posekit-{posekit.__version__}-")
    assert {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")} == {
        "posekit",
        "pose_refine",
    }  # never a top-level models or datasets package
    zoo = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "models").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert "models/unik/unik_1xb16-joint_store.py" in zoo and "models/unik/metafile.yml" in zoo
    assert {f"posekit/.mim/{name}" for name in zoo} <= set(names)
    schemas = {f"posekit/.mim/{path.relative_to(ROOT).as_posix()}" for path in (ROOT / "data_schemas").glob("*.json")}
    assert {"posekit/.mim/data_schemas/store.schema.json", "posekit/.mim/data_schemas/metafile.schema.json"} <= schemas
    assert schemas <= set(names)
    layouts = {f"posekit/layouts/{path.name}" for path in (ROOT / "posekit" / "layouts").glob("*.json")}
    assert "posekit/layouts/coco-17.json" in layouts and layouts | {"posekit/layouts/__init__.py"} <= set(names)


def test_installed_wheel_lists_the_zoo_validates_a_store_and_trains_from_another_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    # The dependencies come from this interpreter's site-packages, added as a plain path: its .pth files (the
    # editable install's finder among them) are not run, so the only posekit the new venv can import is the wheel's.
    venv_site = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip()
    )
    deps = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (venv_site / "posekit_test_deps.pth").write_text("\n".join(deps) + "\n")
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--no-deps",
        "--no-index",
        "--disable-pip-version-check",
        "-q",
        wheel,
        cwd=tmp_path,
    )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    where = json.loads(
        run(
            python,
            "-c",
            "import json, posekit, posekit.package_data, posekit.zoo; "
            "print(json.dumps([posekit.__file__, str(posekit.zoo.models_dir()), "
            "str(posekit.package_data.schemas_dir())]))",
            cwd=elsewhere,
            env=env,
        )
    )
    installed = Path(where[0]).parent
    assert installed.is_relative_to(venv) and Path(where[1]) == installed / ".mim" / "models"
    assert Path(where[2]) == installed / ".mim" / "data_schemas"

    listed = json.loads(run(venv / "bin" / "posekit", "models", "--json", cwd=elsewhere, env=env))
    assert "unik/unik_1xb16-joint_store.py" in {model["config"] for model in listed}

    with StoreWriter(elsewhere / "tiny.h5", "coco-17", coord_dims=2, classes=list(ACTIONS)) as writer:
        for clip_id, label, keypoints, scores in make_sample(6):
            writer.add(
                Clip(
                    id=clip_id,
                    keypoints=keypoints[:24],
                    scores=scores[:24],
                    label=label,
                    fps=30.0,
                    image_size=IMAGE_SIZE,
                    splits=(sample_split(clip_id),),
                )
            )
    assert "tiny.h5: valid posekit store" in run(
        venv / "bin" / "posekit", "store", "validate", "tiny.h5", cwd=elsewhere, env=env
    )
    out = run(
        venv / "bin" / "posekit",
        "train",
        "unik",
        "--store",
        "tiny.h5",
        "--work-dir",
        "run",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--workers",
        "0",
        cwd=elsewhere,
        env=env,
    )
    assert "test top-1" in out
    metrics = json.loads((elsewhere / "run" / "metrics.json").read_text())
    assert Path(metrics["config"]) == Path(where[1]) / "unik" / "unik_1xb16-joint_store.py"
