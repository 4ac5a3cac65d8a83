#!/usr/bin/env bash
# Runs the whole test suite: the formatter's check, then every test target.
# Expects the packages from Scripts/apt-packages (Scripts/install.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

swift format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks Fuzz
swift build --build-tests
swift test --skip-build
# Every input the fuzzer kept, through every parser of vault bytes, in the normal build.
"$(swift build --show-bin-path)/vault-format-fuzz" Fuzz/corpus
