#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, every test of the workspace.
# Installs what it needs when missing (clang/libclang for RocksDB, Prometheus for the
# monitoring checks), so a fresh Debian machine with Rust needs nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_system_packages

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast
echo "== cargo doc of the light client (-D warnings)"
RUSTDOCFLAGS=-Dwarnings cargo doc -p corridor-light-client --no-deps --locked --quiet
echo "== all checks passed"
