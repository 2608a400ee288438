#!/usr/bin/env bash
# Build the aer library for wasm32-unknown-unknown and generate its browser bindings into
# target/web/pkg/ (pkg/aer.js + pkg/aer_bg.wasm, wasm-bindgen --target web).
#
# Two routes:
#   rustup  - the rustup toolchain has the wasm32-unknown-unknown std installed: plain cargo.
#   debian  - it does not (e.g. `rustup target add` cannot download): Debian's rustc-web /
#             cargo-web / rust-web-src rebuild std for wasm with -Zbuild-std, linked with
#             rustup's rust-lld (or any wasm-ld on PATH).
# AER_WEB_ROUTE=rustup|debian forces one; AER_WEB_PROFILE=release|dev picks the profile.
# Native builds are untouched: wasm artifacts go to target/wasm.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

TARGET=wasm32-unknown-unknown
TARGET_DIR="$ROOT/target/wasm"
PKG_DIR="$ROOT/target/web/pkg"
PROFILE=${AER_WEB_PROFILE:-release}
CRATE=aer

die() { echo "build-web: error: $*" >&2; exit 1; }
log() { echo "build-web: $*"; }

case "$PROFILE" in
    release) PROFILE_ARGS=(--release); PROFILE_DIR=release ;;
    dev) PROFILE_ARGS=(); PROFILE_DIR=debug ;;
    *) die "AER_WEB_PROFILE must be release or dev, not '$PROFILE'" ;;
esac

# rustup's tools (and a wasm-bindgen it installed) live here, on PATH or not.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# An enclosing cargo invocation's RUSTC would pin the wrong compiler for one of the routes.
unset RUSTC RUSTDOC

# ---- pick the route -------------------------------------------------------------------------
ROUTE=${AER_WEB_ROUTE:-}
if [[ -z "$ROUTE" ]]; then
    if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
        ROUTE=rustup
    else
        ROUTE=debian
    fi
fi

BUILD_ENV=()
case "$ROUTE" in
rustup)
    command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs)"
    rustup target list --installed | grep -qx "$TARGET" \
        || die "rustup has no $TARGET std: run 'rustup target add $TARGET' or use AER_WEB_ROUTE=debian"
    CARGO=cargo
    BUILD_ARGS=()
    log "route: rustup ($(cargo --version))"
    ;;
debian)
    if [[ ! -x /usr/bin/cargo || ! -x /usr/bin/rustc ]]; then
        [[ $(id -u) -eq 0 ]] || die "/usr/bin/cargo missing: run 'sudo apt-get install rustc-web cargo-web rust-web-src' (or 'rustup target add $TARGET')"
        command -v apt-get >/dev/null || die "/usr/bin/cargo missing and no apt-get: run 'rustup target add $TARGET'"
        log "installing Debian's rustc-web cargo-web rust-web-src"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc-web cargo-web rust-web-src
    fi
    CARGO=/usr/bin/cargo
    SYSROOT=$(/usr/bin/rustc --print sysroot)
    [[ -f "$SYSROOT/lib/rustlib/src/rust/library/Cargo.lock" ]] \
        || die "std sources missing under $SYSROOT/lib/rustlib/src: apt-get install rust-web-src"
    # Debian ships no wasm linker with rustc-web: use rustup's rust-lld, else LLVM's wasm-ld.
    LINKER=${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER:-}
    if [[ -z "$LINKER" ]] && command -v rustup >/dev/null; then
        RUSTUP_RUSTC=$(rustup which rustc 2>/dev/null || true)
        if [[ -n "$RUSTUP_RUSTC" ]]; then
            LLD="$("$RUSTUP_RUSTC" --print sysroot)/lib/rustlib/$("$RUSTUP_RUSTC" -vV | sed -n 's/^host: //p')/bin/rust-lld"
            [[ -x "$LLD" ]] && LINKER=$LLD
        fi
    fi
    if [[ -z "$LINKER" ]]; then
        LINKER=$(compgen -c | grep -E '^(rust-lld|wasm-ld(-[0-9]+)?)$' | sort -u | head -n1 || true)
    fi
    [[ -n "$LINKER" ]] || die "no wasm linker: install Rust with rustup (it ships rust-lld) or 'apt-get install lld'"
    BUILD_ENV=(RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=$LINKER")
    BUILD_ARGS=(-Zbuild-std=std,panic_abort)
    log "route: debian build-std ($(/usr/bin/cargo --version), $(/usr/bin/rustc --version), linker $LINKER)"
    ;;
*) die "AER_WEB_ROUTE must be rustup or debian, not '$ROUTE'" ;;
esac

# ---- build the wasm module ------------------------------------------------------------------
# --lib only: the binaries are native tools (clap, pollster) with no browser build.
# The benchmark files the page writes name the source they were built from.
export AER_GIT_REVISION=${AER_GIT_REVISION:-$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)}
log "cargo build --lib --target $TARGET ($PROFILE, $AER_GIT_REVISION)"
env "${BUILD_ENV[@]}" "$CARGO" build --lib --locked --target "$TARGET" --target-dir "$TARGET_DIR" \
    "${PROFILE_ARGS[@]}" "${BUILD_ARGS[@]}" \
    || die "cargo build for $TARGET failed (see above). --locked: this script never rewrites Cargo.lock, so a stale lock needs a native 'cargo build' first"
WASM="$TARGET_DIR/$TARGET/$PROFILE_DIR/$CRATE.wasm"
[[ -f "$WASM" ]] || die "cargo did not produce $WASM"

# ---- wasm-bindgen ---------------------------------------------------------------------------
# The CLI must match the wasm-bindgen crate in Cargo.lock exactly, or it refuses the module.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[[ -n "$WB_VERSION" ]] || die "no wasm-bindgen in Cargo.lock"
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WB_VERSION" ]]; then
    log "installing wasm-bindgen-cli $WB_VERSION (found: $(wasm-bindgen --version 2>/dev/null || echo none))"
    INSTALL_CARGO=$(command -v cargo || echo /usr/bin/cargo)
    [[ -x "$INSTALL_CARGO" ]] || die "no cargo to install wasm-bindgen-cli with"
    # --locked first for a reproducible CLI; a registry that lacks one of its pinned
    # dependencies (yanked, or a lagging mirror) makes that fail, so fall back to a fresh
    # resolution rather than stop. A debug build compiles in a fraction of a release build's
    # time on a small machine and still binds one module in seconds (AER_WEB_BINDGEN_RELEASE=1
    # for an optimised one).
    INSTALL_ARGS=(--version "$WB_VERSION" --force)
    [[ -n "${AER_WEB_BINDGEN_RELEASE:-}" ]] || INSTALL_ARGS+=(--debug)
    if ! "$INSTALL_CARGO" install wasm-bindgen-cli "${INSTALL_ARGS[@]}" --locked; then
        log "warning: locked install of wasm-bindgen-cli failed; retrying without --locked"
        "$INSTALL_CARGO" install wasm-bindgen-cli "${INSTALL_ARGS[@]}"
    fi
    [[ "$(wasm-bindgen --version 2>/dev/null || true)" == "wasm-bindgen $WB_VERSION" ]] \
        || die "wasm-bindgen $WB_VERSION is not on PATH after installing it (PATH=$PATH)"
fi
log "wasm-bindgen $WB_VERSION -> ${PKG_DIR#"$ROOT"/}"
rm -rf "$PKG_DIR"
wasm-bindgen --target web --no-typescript --out-name "$CRATE" --out-dir "$PKG_DIR" "$WASM"

log "done: $(du -h "$PKG_DIR/${CRATE}_bg.wasm" | cut -f1) wasm, route $ROUTE"
