"""tools/gpu_check.sh's dependencies: a bare CUDA image plus the wheels of tools/gpu_wheels.sh must run it."""

import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def test_every_module_posekit_imports_comes_with_torch_the_image_or_a_listed_wheel():
    unlisted = subprocess.run(
        [sys.executable, str(TOOLS / "gpu_deps.py"), "unlisted"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert unlisted == [], f"add these to tools/gpu_deps.py WHEELS: {unlisted}"


def test_the_gpu_check_script_parses_and_refuses_an_unknown_option():
    subprocess.run(["bash", "-n", str(TOOLS / "gpu_check.sh")], check=True)
    refused = subprocess.run(["bash", str(TOOLS / "gpu_check.sh"), "--bogus"], capture_output=True, text=True)
    assert refused.returncode == 2 and "unknown option --bogus" in refused.stderr
