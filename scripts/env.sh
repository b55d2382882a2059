# Shared setup for the project's scripts (sourced, not run).
#
# - CARGO_TARGET_DIR defaults to a folder outside the clone, so the RocksDB C++ build
#   (about 12-14 minutes on two cores) survives between clones and CI runs on one machine.
# - ensure_system_packages installs clang/libclang (bindgen for RocksDB) and Prometheus
#   (promtool and the server for the monitoring tests) with apt-get when they are missing,
#   and with `test`, Chromium (the tracking page test).
# - ensure_npm_tools installs anvil (a local EVM chain, npm package @foundry-rs/anvil) and
#   solc (solcjs, npm package solc) into CORRIDOR_NPM_DIR (default ~/.cache/corridor-npm,
#   outside the clone) when missing, and exports CORRIDOR_ANVIL and CORRIDOR_SOLCJS for the
#   EVM integration test.

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
    # npm (and Node.js) install anvil and solc for the EVM integration test.
    command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# Pinned versions of the npm tools (the EVM integration test's chain and compiler).
CORRIDOR_ANVIL_VERSION=1.7.1
CORRIDOR_SOLC_VERSION=0.8.37

ensure_npm_tools() {
  local dir="${CORRIDOR_NPM_DIR:-$HOME/.cache/corridor-npm}"
  local anvil="$dir/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
  local solcjs="$dir/node_modules/.bin/solcjs"
  if ! { [ -x "$anvil" ] && "$anvil" --version 2>/dev/null | grep -q "$CORRIDOR_ANVIL_VERSION" \
      && [ -x "$solcjs" ] && "$solcjs" --version 2>/dev/null | grep -q "^$CORRIDOR_SOLC_VERSION+"; }; then
    echo "== installing anvil $CORRIDOR_ANVIL_VERSION and solc $CORRIDOR_SOLC_VERSION (npm) into $dir"
    mkdir -p "$dir"
    [ -f "$dir/package.json" ] || echo '{"name":"corridor-npm-tools","private":true}' >"$dir/package.json"
    # The anvil package's postinstall only copies the binary that its platform package
    # (an optional dependency) already holds; the test runs that binary directly.
    (cd "$dir" && npm install --no-audit --no-fund --silent \
      "@foundry-rs/anvil@$CORRIDOR_ANVIL_VERSION" "solc@$CORRIDOR_SOLC_VERSION")
  fi
  # Linux x86_64 only for now (the machines' platform); elsewhere the test says it skips.
  export CORRIDOR_ANVIL="$anvil"
  export CORRIDOR_SOLCJS="$solcjs"
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
