#!/usr/bin/env bash
# The test command: installs the emulators if needed (moto; Pebble, the ACME test CA), then every
# test of the workspace (unit tests beside the code, provider tests and binary-level tests against
# moto, Pebble and the Cloudflare, Fastly, Google Cloud and KeyCDN emulators).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/moto-venv.sh
source tests/pebble.sh
# One build shared by all test binaries (debug profile), then the run.
cargo test --workspace --no-run --quiet
cargo test --workspace "$@"
