#!/usr/bin/env bash
# liburm_c exports the C ABI and nothing else: every function declared in
# urm/c_api.h, and no other symbol (no C++ template instance leaks out to
# clash with a host's own copy of the standard library).
#
#   check_exports.sh LIBURM_C URM_C_API_H
set -euo pipefail
lib=$1 header=$2
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
declared=$(grep -o 'URM_C_EXPORT [^(]*(' "$header" | grep -o 'urm_[a-z_]*(' | tr -d '(' | sort)
if [ "$exported" != "$declared" ]; then
  echo "exported symbols differ from the functions urm/c_api.h declares:" >&2
  diff <(echo "$declared") <(echo "$exported") >&2 || true
  exit 1
fi
echo "$(echo "$exported" | wc -l) symbols, all declared in urm/c_api.h"
