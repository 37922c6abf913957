#!/usr/bin/env bash
# Vendoring urm.cpp, the whole procedure: copy include/urm into the project's
# own tree, build with one compiler command (no CMake), run.
#
#   examples/vendored/build.sh WORK_DIR MODEL_DIR
#
# WORK_DIR receives the project (main.cpp + third_party/urm); CTest runs this
# on the demo model. The only flags the library needs: C++20, its include
# directory, Eigen's (Debian keeps it in /usr/include/eigen3; xsimd and
# nlohmann/json are found in /usr/include), and threads.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
URM_DIR=$(cd "$here/../.." && pwd)
work=${1:?usage: build.sh WORK_DIR MODEL_DIR}
model=$(cd "${2:?usage: build.sh WORK_DIR MODEL_DIR}" && pwd)

rm -rf "$work"
mkdir -p "$work"
cp "$here/main.cpp" "$work/"
cd "$work"
mkdir -p third_party
cp -R "$URM_DIR/include/urm" third_party/urm
c++ -std=c++20 -O2 -I third_party -I /usr/include/eigen3 main.cpp -o score -pthread
./score "$model"
