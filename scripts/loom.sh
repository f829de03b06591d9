#!/usr/bin/env bash
# Runs the loom models in loom-tests/ (see loom-tests/src/lib.rs).
#
# Environment (all optional):
#   LOOM_MAX_PREEMPTIONS  overrides every model's in-code preemption bound
#                         (unset: each model uses the bound written in it)
#   CARGO_TARGET_DIR      defaults to target/loom, so that the --cfg loom
#                         build does not evict the normal one
# Extra arguments go to `cargo test`, e.g.
#   scripts/loom.sh --test cycles -- --nocapture
# (--nocapture shows each model's bound, execution count and time).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}"
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg loom"

exec cargo test --profile loom -p loom-tests --tests "$@"
