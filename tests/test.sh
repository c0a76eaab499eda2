#!/usr/bin/env bash
# The test command: installs the emulator if needed, then every test of the workspace (unit tests
# beside the code, provider tests and binary-level tests against moto and the Cloudflare emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/moto-venv.sh
# One build shared by all test binaries (debug profile), then the run.
cargo test --workspace --no-run --quiet
cargo test --workspace "$@"
