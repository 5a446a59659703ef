#!/usr/bin/env bash
# Downloads, on a machine that reaches the package registry, the wheels tools/gpu_check.sh installs on a GPU
# machine that does not: the packages of tools/gpu_deps.py for the GPU machine's Python and platform, into
# tools/wheels/ (git-ignored; about 10 MiB, the limit is 64 MiB). Copy the repository with tools/wheels/ to the GPU
# machine, then run tools/gpu_check.sh there.
#
#     bash tools/gpu_wheels.sh [PYTHON_VERSION] [PLATFORM]     # defaults: 3.11 manylinux2014_x86_64
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${1:-3.11}
platform=${2:-manylinux2014_x86_64}
python=${PYTHON:-python3}
out=$root/tools/wheels
mkdir -p "$out"
# shellcheck disable=SC2046  # one argument per wheel name
"$python" -m pip download -q --only-binary=:all: --no-deps --python-version "$version" --platform "$platform" \
  -c "$root/requirements/constraints.txt" -d "$out" $("$python" "$root/tools/gpu_deps.py" wheels)
size=$(du -sm "$out" | cut -f1)
echo "gpu_wheels: $(ls "$out" | wc -l) wheels for Python $version ($platform), ${size} MiB -> $out"
[ "$size" -lt 64 ] || { echo "gpu_wheels: over 64 MiB; the device copy refuses that much" >&2; exit 1; }
