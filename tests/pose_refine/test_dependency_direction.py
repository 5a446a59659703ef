"""posekit depends on pose_refine, never the reverse: every pose_refine module imports with posekit blocked, and
none names posekit in an import, not even one inside a function."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pose_refine

MODULES = [m.name for m in pkgutil.iter_modules(pose_refine.__path__)]


def test_pose_refine_imports_without_posekit():
    assert {"ssta", "tracks", "pseudo_labels", "simulate", "report", "errors"} <= set(MODULES)
    # None in sys.modules makes any `import posekit`, direct or nested, raise ImportError.
    code = "import sys\nsys.modules['posekit'] = None\n" + "".join(f"import pose_refine.{m}\n" for m in MODULES)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_no_pose_refine_function_imports_posekit_when_called():
    for path in Path(pose_refine.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [name for name in names if name.split(".")[0] == "posekit"], f"{path}:{node.lineno}"
