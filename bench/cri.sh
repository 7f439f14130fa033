#!/usr/bin/env bash
# make bench, Kubernetes part: the lifecycle of a pod through containerd 1.6's CRI plugin —
# RunPodSandbox, CreateContainer, StartContainer, then StopPodSandbox and RemovePodSandbox —
# with the release hull as the handler `hull` beside runc's handler, interleaved, in the CRI
# world of tests/cri/ (its own containerd, images and CNI bridge under a temp dir, gone after).
# The measuring code is the ignored test `bench::pod_lifecycle` of tests/cri (built here in
# the test profile, as `make test` builds it); BENCH_RUNS iterations per handler (20).
# Results go to stdout and are appended to bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
HULL=$PWD/target/release/hull
[ -x "$HULL" ] || { echo "bench: $HULL is missing (make build)"; exit 1; }
command -v runc >/dev/null || { echo "bench: runc is not installed, the CRI bench skipped"; exit 0; }
# CI=true: a missing prerequisite of the world fails rather than skips.
HULL_TEST_RUNTIME=$HULL CI=true BENCH_RUNS=${BENCH_RUNS:-20} \
    cargo test --test cri -- --ignored --exact bench::pod_lifecycle --nocapture --test-threads=1
