"""Rerun every bad input, fault and crafted file of docs/reliability.md and print what each one did.

Each row of that table is checked by a test (crafted files that would create a marker file, damaged and invalid
stores, killed runs, existing outputs); this script runs exactly those tests and prints one Markdown row per case:
the test, and whether the command still ends as the table says (one line, non-zero exit, no marker, nothing lost).

    python tools/reliability_check.py            # all cases
    python tools/reliability_check.py -k dlc     # the cases whose test name contains 'dlc'
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The test files that hold the cases, by what they attack.
CASES = {
    "checkpoints (pickles, config text, --init)": "tests/train/test_checkpoints.py",
    "score files": "tests/train/test_fusion.py",
    "restricted unpickler": "tests/test_safe_pickle.py",
    "DLC tables (object columns, truncated, empty)": "tests/importers/test_dlc.py",
    "kinematics on degenerate files": "tests/rodent/test_kinematics.py",
    "damaged and invalid stores": "tests/store/test_integrity.py",
    "one writer at a time, leftovers": "tests/test_locks.py",
    "existing outputs (--force)": "tests/cli/test_outputs.py",
    "killed and concurrent runs": "tests/extract/test_extract.py",
    "refine: killed runs, --trust-checkpoint": "tests/cli/test_refine_show.py",
    "demo outputs": "tests/cli/test_demo.py",
    "rodent arena frames file": "tests/rodent/test_arena.py",
    "rodent label checksums": "tests/rodent/test_ratpose.py",
}


def run(selection: str | None) -> list[tuple[str, str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={report}",
            *CASES.values(),
        ] + (["-k", selection] if selection else [])
        subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if not report.exists():
            sys.exit("reliability_check: pytest wrote no report; run the command by hand to see why")
        rows = []
        for case in ET.parse(report).iter("testcase"):
            outcome = "holds"
            for tag, word in (("failure", "BROKEN"), ("error", "BROKEN"), ("skipped", "skipped")):
                if case.find(tag) is not None:
                    outcome = word
            rows.append((case.get("classname", "").replace(".", "/") + ".py", case.get("name", ""), outcome))
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="selection", help="Only the cases whose test name matches (pytest's -k).")
    rows = run(parser.parse_args().selection)
    print("| test file | case | result |\n| --- | --- | --- |")
    for path, name, outcome in rows:
        print(f"| {path} | {name} | {outcome} |")
    broken = sum(outcome == "BROKEN" for *_, outcome in rows)
    print(f"\n{len(rows)} cases: {len(rows) - broken} hold, {broken} broken")
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
