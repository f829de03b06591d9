#!/usr/bin/env bash
# Every check, in the order CI runs them: formatting, lints (std and loom
# builds), unit, integration and doc tests, benches compiled and run once in
# test mode, rustdoc without warnings, `cargo package`, then the loom models
# (scripts/loom.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-target/loom}" \
  cargo clippy --workspace --all-targets --profile loom -- -D warnings

echo "== cargo test (unit, integration, examples, benches in test mode)"
cargo test --workspace --all-targets

echo "== cargo test --doc"
cargo test --workspace --doc

echo "== cargo doc (no warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p halo-alias

echo "== cargo package (what a release would publish builds on its own)"
cargo package -p halo-alias --allow-dirty

echo "== loom models"
bash scripts/loom.sh
