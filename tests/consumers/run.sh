#!/usr/bin/env bash
# Builds and runs consumer.cpp the way a user of urm.cpp would:
#   run.sh add_subdirectory|find_package|plain URM_ROOT WORK_DIR
set -euo pipefail
mode=$1 root=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
case "$mode" in
  add_subdirectory)
    cmake -S "$here/add_subdirectory" -B "$work/build" -DURM_ROOT="$root" >/dev/null
    cmake --build "$work/build" >/dev/null
    "$work/build/consumer" ;;
  find_package)
    # Install the library into a private prefix, then find it from there only.
    cmake -S "$root" -B "$work/urm-build" -DURM_BUILD_TESTS=OFF -DURM_BUILD_TOOLS=OFF \
      -DURM_BUILD_BENCHMARKS=OFF -DURM_BUILD_EXAMPLES=OFF -DURM_BUILD_C_API=OFF >/dev/null
    cmake --install "$work/urm-build" --prefix "$work/prefix" >/dev/null
    test -f "$work/prefix/include/urm/core/error.hpp"
    cmake -S "$here/find_package" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
    cmake --build "$work/build" >/dev/null
    "$work/build/consumer" ;;
  plain)
    # Vendoring: only the include folder and the system packages' headers.
    c++ -std=c++20 -Wall -Wextra -Wpedantic -Werror -O2 -I "$root/include" -isystem /usr/include/eigen3 \
      "$here/consumer.cpp" -o "$work/consumer" -pthread
    "$work/consumer" ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
