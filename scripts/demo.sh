#!/usr/bin/env bash
# Runs the embedded devnet demo: three partner chains on loopback, traders, and the courier
# that carries their messages; the destination chains verify everything. Installs what it
# needs when missing (see scripts/env.sh).
#
# It builds in the dev profile, the one the test suite uses, so RocksDB's C++ is compiled
# once for both (the workspace optimises the signature and hash crates even in dev).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_system_packages
cargo build --locked --bin corridor
exec "$CARGO_TARGET_DIR/debug/corridor" devnet "$@"
