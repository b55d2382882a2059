#!/usr/bin/env bash
# Runs the embedded devnet demo: three partner chains on loopback, three operators' relays
# (one process each) and their traders; messages cross only through the relays. Options go
# to `corridor devnet` (--chaos, --messages N, --keep-running, --data-dir DIR). Installs
# what it needs when missing (see scripts/env.sh).
#
# It builds exactly what scripts/test.sh builds (every target of the workspace, dev
# profile), so RocksDB's C++ is compiled once for both commands.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_system_packages
build_all
exec "$CARGO_TARGET_DIR/debug/corridor" devnet "$@"
