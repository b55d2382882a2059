# Shared setup for the project's scripts (sourced, not run).
#
# - CARGO_TARGET_DIR defaults to a folder outside the clone, so the RocksDB C++ build
#   (about 12-14 minutes on two cores) survives between clones and CI runs on one machine.
# - ensure_system_packages installs clang/libclang (bindgen for RocksDB) and Prometheus
#   (promtool for the monitoring checks) with apt-get when they are missing.

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/corridor-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

ensure_system_packages() {
  local missing=()
  command -v clang >/dev/null 2>&1 || missing+=(clang)
  ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || missing+=(libclang-dev)
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}
