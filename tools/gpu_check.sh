#!/usr/bin/env bash
# Every GPU figure posekit claims, measured once into one file. Run from the repository root on a machine with a
# GPU (under 8 minutes on one H100):
#
#     bash tools/gpu_check.sh [--data DIR] [--out FILE] [--device cpu|cuda] [--quick]
#
# --data: the shared data folder (default ../shared/data; sections whose data is absent are skipped, saying so);
# --out: the report (default gpu_check.md); --device: default cuda when torch sees a GPU, else cpu; --quick: tiny
# sizes, to try the script itself on a CPU (`--device cpu --quick`: its figures then mean nothing).
#
# It uses the machine's own PyTorch (a CUDA build) and does not install posekit: the repository runs from
# PYTHONPATH. Python dependencies the machine lacks are installed with --no-deps from the wheels that
# tools/gpu_wheels.sh downloaded beforehand into tools/wheels/ (no package registry needed), into .gpu_deps/
# beside this repository, never into the system's site-packages.
#
# Sections (each under its own time limit; a failure is recorded and the next section runs):
#   1. UNIK / ST-GCN / CTR-GCN training and inference samples/s, float32 and AMP, pyskl's setting (batch 16,
#      T=100, V=25, M=2), beside mmaction2's ST-GCN when mmaction2 is importable (tools/bench_nets.py);
#   2. one short UNIK training run on Penn Action ground truth: accuracy and time (posekit train unik);
#   3. the rodent FCN: posekit rodent detect --device cuda on the DeepLabCut open-field video, frames/s;
#   4. SST-A refine throughput (tools/bench_ssta.py: CPU arrays, recorded for the machine);
#   5. extraction frames/s per expert (tools/bench_extract.py; MediaPipe's experts run on the CPU).
set -uo pipefail

data=../shared/data
out=gpu_check.md
quick=0
device=
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --device) device=$2; shift 2 ;;
    *) echo "gpu_check: unknown option $1 (use --data DIR, --out FILE, --device cpu|cuda, --quick)" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
export PYTHONPATH="$root:$root/.gpu_deps${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

# Dependencies: what posekit imports for these sections, by import name = wheel name.
missing=$("$python" tools/gpu_deps.py missing)
if [ -n "$missing" ]; then
  if [ -d tools/wheels ]; then
    echo "gpu_check: installing from tools/wheels: $missing"
    # shellcheck disable=SC2086  # one argument per package
    "$python" -m pip install -q --no-index --find-links tools/wheels --no-deps --target .gpu_deps $missing \
      || echo "gpu_check: some wheels failed to install; the sections that need them will say so"
  else
    echo "gpu_check: missing $missing and no tools/wheels (run tools/gpu_wheels.sh where the registry is reachable)"
  fi
fi

[ -n "$device" ] || device=$("$python" -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")
{
  echo "# posekit GPU check, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "    bash tools/gpu_check.sh --data $data --out $out --device $device$([ $quick = 1 ] && echo ' --quick')"
  echo
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- $("$python" -c "import torch, platform; print(f'python {platform.python_version()}, torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}')")"
  echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo none)"
  echo "- CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "- device used: $device$([ $quick = 1 ] && echo ', --quick: tiny sizes, figures not meaningful')"
  [ -n "$missing" ] && echo "- installed from tools/wheels: $missing"
  echo
} > "$out"
[ "$device" = cpu ] && [ $quick = 0 ] && echo "gpu_check: no CUDA device seen by torch; figures will be CPU figures" >&2

# section TITLE SECONDS COMMAND...: runs COMMAND under a time limit, its output in the report as a block.
section() {
  local title=$1 limit=$2
  shift 2
  echo "gpu_check: $title"
  local start=$SECONDS log="$work/section.log"
  timeout "$limit" "$@" > "$log" 2>&1
  local code=$?
  {
    echo "## $title"
    echo
    echo "    $*"
    echo
    if [ $code = 0 ]; then  # progress bars: only their last state (100%, with the mean rate)
      tr '\r' '\n' < "$log" | awk 'NF && (!/%\|/ || /100%\|/)'
    else
      echo "**failed** (exit $code$([ $code = 124 ] && echo ", over ${limit} s")); last lines:"
      echo
      tail -n 15 "$log" | sed 's/^/    /'
    fi
    echo
    echo "($((SECONDS - start)) s)"
    echo
  } >> "$out"
}

skip() {
  echo "gpu_check: skip $1 ($2)"
  printf '## %s\n\nskipped: %s\n\n' "$1" "$2" >> "$out"
}

if [ $quick = 1 ]; then
  nets=(--batch 2 --frames 16 --iters 2 --warmup 1)
  epochs=1 frames=10 persons=50 fraction=0.05
else
  nets=(--iters 20 --warmup 5)
  epochs=5 frames=60 persons=1000 fraction=1
fi
amp=()
[ "$device" = cuda ] && amp=(--amp)  # on a CPU, posekit trains in bfloat16 only where the CPU has the kernels
mmaction=()
"$python" -c "import mmaction" 2>/dev/null && mmaction=(--mmaction2)

section "Networks, float32 (batch 16, T=100, V=25, M=2 unless --quick)" 240 \
  "$python" tools/bench_nets.py --device "$device" "${nets[@]}" "${mmaction[@]}"
section "Networks, AMP" 240 "$python" tools/bench_nets.py --device "$device" --amp "${nets[@]}" "${mmaction[@]}"

penn=$data/actions/penn_action
if [ -d "$penn" ]; then
  section "UNIK on Penn Action ground truth, $epochs epochs${amp:+, AMP}" 300 bash -c "
    $python -m posekit.cli convert penn-action '$penn' -o '$work/penn.h5' &&
    $python -m posekit.cli train unik --store '$work/penn.h5' --work-dir '$work/penn_unik' --epochs $epochs ${amp[*]} \
      --label-fraction $fraction --workers 4 && cat '$work/penn_unik/metrics.json'"
else
  skip "UNIK on Penn Action" "no $penn"
fi

video=$data/animal/dlc_openfield/videos/m3v1mp4.mp4
if [ -f "$video" ]; then
  section "Rodent FCN: posekit rodent detect on m3v1 (the 'detecting' bar: FCN frames/s; the wall time: with training)" 240 \
    bash -c "frames=\$($python -c \"import cv2, sys; print(int(cv2.VideoCapture(sys.argv[1]).get(7)))\" '$video');
      start=\$(date +%s.%N);
      $python -m posekit.cli rodent detect '$video' -o '$work/m3v1.h5' --device $device $([ $quick = 1 ] && echo '--iters 5 --rounds 1') &&
      echo \"\$frames frames, \$(echo \"\$frames / (\$(date +%s.%N) - \$start)\" | bc -l | cut -c1-6) frames/s\""
else
  skip "Rodent FCN" "no $video"
fi

section "SST-A refine throughput (CPU)" 120 "$python" tools/bench_ssta.py --persons "$persons" --frames 100

if [ -d "$data/human_video" ] && "$python" -c "import mediapipe" 2>/dev/null; then
  section "Extraction frames/s per expert (MediaPipe runs on the CPU)" 240 \
    "$python" tools/bench_extract.py --data "$data/human_video" --frames "$frames"
else
  skip "Extraction" "needs $data/human_video and mediapipe"
fi

rm -rf "$work"
echo "gpu_check: report -> $out"
