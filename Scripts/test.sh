#!/usr/bin/env bash
# Runs the whole test suite: the formatter's check, then every test target.
# Expects the packages from Scripts/apt-packages (Scripts/install.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

swift format lint --strict --recursive --parallel Package.swift Sources Tests Benchmarks
swift build --build-tests
swift test --skip-build
