#!/usr/bin/env bash
# Runs the whole test suite: the formatter's check, then every test target.
# Expects the packages from Scripts/apt-packages (Scripts/install.sh installs them), and for
# the end-to-end container tests Docker or Podman, git and busybox (Scripts/apt-packages-test).
set -euo pipefail
cd "$(dirname "$0")/.."

swift format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks Fuzz
swift build --build-tests

# The end-to-end container tests need an engine that answers; see Scripts/engines.sh.
# shellcheck source=Scripts/engines.sh
. Scripts/engines.sh
trap stop_engines EXIT
start_engines
swift test --skip-build
# Every input the fuzzer kept, through every parser of vault bytes, in the normal build.
"$(swift build --show-bin-path)/vault-format-fuzz" Fuzz/corpus
