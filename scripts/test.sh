#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, every test of the workspace, docs.
# Installs what it needs when missing (clang/libclang for RocksDB, Prometheus for the
# monitoring checks; Node.js and npm, then anvil and solc from npm, for the EVM integration
# test), so a fresh Debian machine with Rust needs nothing else.
#
# RocksDB's C++ is compiled once per machine, by the one build of every target below
# (`cargo build --workspace --all-targets`, the same command scripts/demo.sh runs, so the
# demo and the tests share it). Lints and docs only type-check: they run in a target folder
# of their own with ROCKSDB_LIB_DIR set, which tells RocksDB's build script that a library
# exists, so it compiles no C++ for them (nothing is linked in check mode).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
ensure_system_packages test
ensure_npm_tools

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo build (every target; RocksDB's C++ the first time on a machine)"
build_all
echo "== cargo clippy (-D warnings)"
check_env cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test (every target, the same selection as the build: the same RocksDB build)"
cargo test --workspace --all-targets --locked --no-fail-fast
echo "== cargo doc of every crate (-D warnings)"
RUSTDOCFLAGS=-Dwarnings check_env cargo doc --workspace --no-deps --locked --quiet
echo "== all checks passed"
