#!/usr/bin/env bash
# mpi_score on R ranks gives byte for byte what one urm-score process gives
# (same lines, same order, same errors, same exit status).
#
#   mpi_matches_urm_score.sh MPIEXEC MPI_SCORE URM_SCORE MODEL_DIR INPUT WORK_DIR RANKS...
set -euo pipefail
mpiexec=$1 mpi_score=$2 urm_score=$3 model=$4 input=$5 work=$6
shift 6
mkdir -p "$work"
# CI runs as root, which Open MPI refuses unless told otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

set +e
"$urm_score" --model "$model" --threads 1 --input "$input" --output "$work/single.jsonl" 2>"$work/single.err"
single_status=$?
set -e
for ranks in "$@"; do
  set +e
  "$mpiexec" --allow-run-as-root --oversubscribe -np "$ranks" \
    "$mpi_score" --model "$model" --threads 1 --input "$input" --output "$work/mpi-$ranks.jsonl" 2>"$work/mpi-$ranks.err"
  status=$?
  set -e
  if [ "$status" -ne "$single_status" ]; then
    echo "mpi_score on $ranks ranks exited $status, urm-score $single_status" >&2
    cat "$work/mpi-$ranks.err" >&2
    exit 1
  fi
  if ! cmp "$work/single.jsonl" "$work/mpi-$ranks.jsonl"; then
    diff "$work/single.jsonl" "$work/mpi-$ranks.jsonl" | head -20 >&2
    exit 1
  fi
  echo "$ranks ranks: $(wc -l <"$work/mpi-$ranks.jsonl") lines identical to urm-score (exit status $status)"
done
