"""tools/gpu_check.sh's dependencies: a bare CUDA image plus the wheels of tools/gpu_wheels.sh must run it."""

import os
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


def test_the_cpu_fallback_runs_every_section_it_has_data_for_and_skips_the_others(tmp_path):
    report, no_data = tmp_path / "gpu_check.md", tmp_path / "no_data"
    no_data.mkdir()
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    command = ["bash", str(TOOLS / "gpu_check.sh"), "--device", "cpu", "--quick", "--data", str(no_data)]
    done = subprocess.run([*command, "--out", str(report)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    text = report.read_text()
    assert "- device used: cpu, --quick" in text and "**failed**" not in text
    for network in ("UNIK", "ST-GCN", "CTR-GCN"):  # the networks' table, float32 and AMP
        assert text.count(f"| {network} |") == 2
    assert "## SST-A refine throughput (CPU)" in text
    for section in ("UNIK on Penn Action", "Rodent FCN", "Extraction"):
        assert f"## {section}\n\nskipped: " in text
