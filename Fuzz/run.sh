#!/usr/bin/env bash
# Builds the vault-format fuzz target under libFuzzer and AddressSanitizer and runs it.
#   Fuzz/run.sh [SECONDS]      default 300
# New interesting inputs go to Fuzz/corpus-work/ (not committed); crashes are written to
# Fuzz/ as crash-*; copy a minimised one into Fuzz/corpus/ so that every test run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
swift build --product vault-format-fuzz --build-path .build/fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING -Xswiftc -enable-testing -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld
mkdir -p Fuzz/corpus-work
.build/fuzz/debug/vault-format-fuzz -max_total_time="$seconds" -max_len=8192 -artifact_prefix=Fuzz/ \
    Fuzz/corpus-work Fuzz/corpus
