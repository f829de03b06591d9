#!/usr/bin/env bash
# Runs the loom models in loom-tests/ (see loom-tests/src/lib.rs):
#   RUSTFLAGS="--cfg loom" cargo test --profile loom -p loom-tests --tests
#
# Environment (all optional):
#   LOOM_MAX_PREEMPTIONS  overrides every model's in-code preemption bound
#                         (unset: each model uses the bound written in it)
#   LOOM_MAX_BRANCHES     overrides the harness's branch limit per execution
#   LOOM_TARGET_DIR       target directory for the loom build (as in
#                         scripts/test.sh); else CARGO_TARGET_DIR; else
#                         target/loom, so that the --cfg loom build does not
#                         evict the normal one
# Extra arguments go to `cargo test`, e.g.
#   scripts/loom.sh --test cycles -- --nocapture
#   LOOM_MAX_PREEMPTIONS=3 scripts/loom.sh --test resolve_orderings -- --exact all_orderings_with_waiting_resolver
# (--nocapture shows each model's bound, execution count and time).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-${CARGO_TARGET_DIR:-target/loom}}"
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--cfg loom"

exec cargo test --profile loom -p loom-tests --tests "$@"
