"""What tools/gpu_check.sh needs beside the machine's own PyTorch, as wheels: which are missing here, and which
tools/gpu_wheels.sh downloads for a GPU machine without the package registry.

    python tools/gpu_deps.py missing    # wheel names whose module does not import here, one line
    python tools/gpu_deps.py wheels     # every wheel name gpu_wheels.sh downloads, one line
    python tools/gpu_deps.py unlisted   # modules posekit imports that no listed wheel provides (should be none)

Pure-Python packages, plus the few small compiled ones posekit cannot start without (h5py for stores, rpds-py
for jsonschema, PyYAML for mmengine); numpy, scipy, OpenCV and matplotlib are large and come with the GPU image or
not at all (the sections that need them then say so).
"""

from __future__ import annotations

import importlib.util
import sys

# import name -> wheel name, for what `posekit train`, `posekit rodent detect` and the benchmark tools import
WHEELS = {
    "addict": "addict",
    "attrs": "attrs",
    "click": "click",
    "h5py": "h5py",
    "jsonschema": "jsonschema",
    "jsonschema_specifications": "jsonschema-specifications",
    "markdown_it": "markdown-it-py",
    "mdurl": "mdurl",
    "mmengine": "mmengine",
    "packaging": "packaging",
    "platformdirs": "platformdirs",
    "pygments": "pygments",
    "referencing": "referencing",
    "rich": "rich",
    "rpds": "rpds-py",
    "termcolor": "termcolor",
    "tqdm": "tqdm",
    "typing_extensions": "typing-extensions",
    "yaml": "pyyaml",
    "yapf": "yapf",
}
LARGE = ("numpy", "scipy", "cv2", "matplotlib")  # never downloaded: the image has them or the section says so
INSIDE = {"attr": "attrs", "yapf_third_party": "yapf"}  # modules a wheel above ships beside its own
OPTIONAL = ("Cython", "cython", "cython_runtime", "idna")  # imported by scipy / jsonschema only when present
WITH_TORCH = ("sympy", "mpmath", "networkx", "jinja2", "markupsafe", "filelock", "fsspec")  # torch's, imported late
# what gpu_check.sh runs: the command line, the three networks, training, rodent detection
ENTRY_POINTS = ("posekit.cli", "posekit.nets", "posekit.train.api", "posekit.rodent.detection", "posekit.train.metric")


def missing() -> list[str]:
    return [wheel for module, wheel in WHEELS.items() if importlib.util.find_spec(module) is None]


def unlisted() -> list[str]:
    """Third-party modules that posekit's entry points import and that neither PyTorch (with its own dependencies),
    the image's large packages nor a wheel of WHEELS provides: each one would stop gpu_check.sh on a bare image."""
    import torch  # noqa: F401  (what it imports comes with it)

    with_torch = {name.split(".")[0] for name in sys.modules}
    for entry in ENTRY_POINTS:
        importlib.import_module(entry)
    imported = {name.split(".")[0] for name in sys.modules} - with_torch - set(sys.stdlib_module_names)
    provided = {*WHEELS, *INSIDE, *LARGE, *OPTIONAL, *WITH_TORCH, "posekit", "pose_refine", "gpu_deps"}
    return sorted(name for name in imported - provided if not name.startswith("_"))


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "missing":
        print(" ".join(missing()))
    elif command == "wheels":
        print(" ".join(WHEELS.values()))
    elif command == "unlisted":
        print(" ".join(unlisted()))
    else:
        sys.exit("usage: python tools/gpu_deps.py missing|wheels|unlisted")


if __name__ == "__main__":
    main()
