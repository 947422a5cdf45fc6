#!/bin/sh
# Not run in CI. Times `scedit bench` and PyTorch (diffusers, tests/reference/bench_torch.py) on the same
# job back to back, in one run, and prints both lines and the ratios. Both use the same weights:
# `scedit bench` builds its random source with seed 1, and `scedit make-model --seed 1` writes exactly
# those tensors, which diffusers loads. Run on an idle machine; each side is its own process, so each
# peak RSS is that side's alone.
#
# Usage: tests/reference/bench_compare.sh [-s SCEDIT] [-p PYTHON] [-d MODELDIR] [-i ITERS]
#                                         unet|vae-decode ARCH RES BATCH THREADS
# e.g.   tests/reference/bench_compare.sh unet sd15 512 2 2
#        tests/reference/bench_compare.sh vae-decode sd15 512 1 2
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
scedit="$root/build/app/scedit"
python=/work/venv-ref/bin/python
modeldir=
iters=3
while getopts s:p:d:i: opt; do
  case $opt in
    s) scedit=$OPTARG ;;
    p) python=$OPTARG ;;
    d) modeldir=$OPTARG ;;
    i) iters=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -ne 5 ]; then
  echo "usage: $0 [-s SCEDIT] [-p PYTHON] [-d MODELDIR] [-i ITERS] unet|vae-decode ARCH RES BATCH THREADS" >&2
  exit 2
fi
what=$1 arch=$2 res=$3 batch=$4 threads=$5
[ -n "$modeldir" ] || modeldir="${TMPDIR:-/tmp}/scedit-bench-$arch-seed1"
if [ ! -f "$modeldir/model_index.json" ]; then
  echo "Writing $arch weights (seed 1, diffusers layout) to $modeldir…" >&2
  "$scedit" make-model --arch "$arch" --seed 1 --layout diffusers -o "$modeldir" >&2
fi

ours=$("$scedit" bench "$what" --arch "$arch" --res "$res" --batch "$batch" --threads "$threads" --iters "$iters")
echo "$ours"
theirs=$(OMP_NUM_THREADS=$threads "$python" "$here/bench_torch.py" "$what" --model "$modeldir" --res "$res" \
  --batch "$batch" --threads "$threads" --iters "$iters")
echo "$theirs"

# "… median 1234.5 ms over 3 iterations, peak RSS 567.8 MiB"
field() { echo "$1" | sed -n "s/.*median \([0-9.]*\) ms.*peak RSS \([0-9.]*\) MiB.*/\\$2/p"; }
awk -v a="$(field "$ours" 1)" -v b="$(field "$theirs" 1)" -v ra="$(field "$ours" 2)" -v rb="$(field "$theirs" 2)" \
  'BEGIN { printf "speed-up over torch: %.2fx (scedit %.0f ms, torch %.0f ms); peak RSS scedit/torch: %.2f (%.0f / %.0f MiB)\n",
           b / a, a, b, ra / rb, ra, rb }'
