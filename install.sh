#!/usr/bin/env bash
# Installs posekit and its pinned stack into a virtual environment (default .venv beside this file).
# Idempotent: a second run with unchanged requirements only re-installs posekit itself (editable, instant).
# The order encodes measured facts (see requirements/constraints.txt and docs/install.md):
#   1. torch==2.13.0 first: anything unpinned pulls several GB of CUDA packages;
#   2. everything else under the constraints file (numpy<2.4, setuptools<81, protobuf<5, ...);
#   3. torchvision, mmpose, rtmlib, mediapipe with --no-deps;
#   4. xtcocotools from source against numpy 2 (its wheel is built against numpy 1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${POSEKIT_VENV:-$here/.venv}
req=$here/requirements
python=${PYTHON:-python3}

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
stamp=$venv/.posekit-requirements
want=$(cat "$req"/*.txt | sha256sum | cut -d' ' -f1)

if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "posekit install: building the pinned stack in $venv (a few minutes on a fresh machine)"
  "${pip[@]}" install -c "$req/constraints.txt" "setuptools" wheel
  "${pip[@]}" install -c "$req/constraints.txt" torch
  "${pip[@]}" install -c "$req/constraints.txt" -r "$req/base.txt"
  "${pip[@]}" install -c "$req/constraints.txt" --no-deps -r "$req/no-deps.txt"
  "${pip[@]}" install -c "$req/constraints.txt" --no-binary xtcocotools --no-build-isolation xtcocotools
  echo "$want" > "$stamp"
fi
"${pip[@]}" install -c "$req/constraints.txt" --no-deps --no-build-isolation -e "$here"
echo "posekit install: ready. Run commands as $venv/bin/posekit (or activate: . $venv/bin/activate)"
