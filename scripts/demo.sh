#!/usr/bin/env bash
# Runs the embedded devnet demo: partner chains, relays and traders on loopback.
# Installs what it needs when missing (see scripts/env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_system_packages
cargo build --release --locked --bin corridor
exec "$CARGO_TARGET_DIR/release/corridor" devnet "$@"
