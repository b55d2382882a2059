# Shared setup for the project's scripts (sourced, not run).
#
# - CARGO_TARGET_DIR defaults to a folder outside the clone, so the RocksDB C++ build
#   (about 12-14 minutes on two cores) survives between clones and CI runs on one machine.
# - ensure_system_packages installs clang/libclang (bindgen for RocksDB) and Prometheus
#   (promtool and the server for the monitoring tests) with apt-get when they are missing,
#   and with `test`, Chromium (the tracking page test).

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/corridor-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

ensure_system_packages() {
  local missing=()
  command -v clang >/dev/null 2>&1 || missing+=(clang)
  ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || missing+=(libclang-dev)
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  # The test command only (`ensure_system_packages test`): headless Chromium for the
  # trader API's tracking page test.
  if [ "${1:-}" = test ]; then
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# The one build both commands share: every target of the workspace in the dev profile.
# Building only the binary (or one package) would resolve other features for RocksDB's
# build-time dependencies (bindgen's regex, syn...) and compile its C++ a second time.
build_all() {
  cargo build --workspace --all-targets --locked
}

# Runs a type-checking cargo command (clippy, doc) in its own target folder, with
# ROCKSDB_LIB_DIR set so that RocksDB's build script compiles no C++: check mode links
# nothing, and the shared build folder's fingerprints are left alone.
check_env() {
  local dir="$CARGO_TARGET_DIR/check"
  mkdir -p "$dir/no-rocksdb-link"
  CARGO_TARGET_DIR="$dir" ROCKSDB_LIB_DIR="$dir/no-rocksdb-link" ROCKSDB_STATIC=1 "$@"
}
