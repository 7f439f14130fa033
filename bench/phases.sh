#!/usr/bin/env bash
# make bench, issue #16's part: each lifecycle command on its own against the floor (a bare
# fork+exec of a static binary), and 100 sequential and 20 concurrent lifecycles, for hull, runc
# and crun side by side; the targets of issue #16 printed as met or not (the bench does not fail
# on them: they are goals, not guards).
#   floor   hyperfine -N of the static busybox's `true`
#   state   of a created container            kill   SIGKILL of a running `sleep` container
#   create  of a container running /bin/true (from no container)
#   start   of a created container (its /bin/true runs and exits)
#   delete  of a stopped container (its /bin/true has run), as in a lifecycle
#   delete -f  --force of a created container (the kill and the wait for init's end included)
#   seq100  100 create+start+delete in a row  conc20  20 of them at once
# Interleaved: BENCH_ROUNDS rounds (5), each timing the floor and then every runtime in turn
# (the order rotated round by round), BENCH_RUNS runs of each command per round (10), so a burst
# of other load on the machine spoils one round of every column, not a whole column. Each figure
# is the median of all its runs (p10-p90 beside it); each ratio is the median of the rounds'
# ratios (each round's medians against the same round's floor or crun), with their range.
# As bench/run.sh: on a hybrid host (crun refuses it) everything runs in a private mount
# namespace without /sys/fs/cgroup/unified. BENCH_CGROUP=v2 runs the same on cgroup2 alone:
# where /sys/fs/cgroup is not cgroup2 already, in a private mount namespace with a cgroup2
# mount over it (on a hybrid host its controllers are those v1 does not hold). Results go to
# stdout and are appended to bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
HULL=$PWD/target/release/hull
RUNS=${BENCH_RUNS:-10}
ROUNDS=${BENCH_ROUNDS:-5}
WORLD=${BENCH_CGROUP:-v1}
if [ "$WORLD" = v2 ]; then
    if [ -z "${BENCH_PRIVATE_CGROUP:-}" ] && [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
        echo "bench: cgroup2 alone: all runtimes run in a private mount namespace with a cgroup2 mount over /sys/fs/cgroup (controllers: $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || echo none); those in use by v1 hierarchies stay there)"
        exec unshare -m --propagation private env BENCH_PRIVATE_CGROUP=1 \
            sh -c 'umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$0" "$@"' "$0" "$@"
    fi
elif [ -z "${BENCH_PRIVATE_CGROUP:-}" ] && command -v crun >/dev/null \
    && mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
    echo "bench: hybrid cgroups here, which crun refuses: all runtimes run in a private mount namespace without /sys/fs/cgroup/unified (cgroup v1 only)"
    exec unshare -m --propagation private env BENCH_PRIVATE_CGROUP=1 \
        sh -c 'umount /sys/fs/cgroup/unified && exec "$0" "$@"' "$0" "$@"
fi
command -v hyperfine >/dev/null || { echo "bench: hyperfine is missing (make bench installs it)"; exit 1; }
work=$(mktemp -d /tmp/hull-bench-phases.XXXXXX)
RUNTIMES=("$HULL")
for rt in runc crun; do command -v $rt >/dev/null && RUNTIMES+=("$(command -v $rt)"); done
cleanup() {
    for rt in "${RUNTIMES[@]}"; do
        n=$(basename "$rt")
        for id in ph ph-sleep; do "$rt" --root "$work/state-$n" delete -f $id >/dev/null 2>&1 || true; done
        for i in $(seq 20); do "$rt" --root "$work/state-$n" delete -f c$i >/dev/null 2>&1 || true; done
    done
    rm -rf "$work"
}
trap cleanup EXIT

python3 - "$PWD/bundles/busybox" "$work" <<'PY'
import json, os, sys
src, work = sys.argv[1], sys.argv[2]
c = json.load(open(src + "/config.json"))
c["root"]["path"] = src + "/rootfs"
c["ociVersion"] = "1.0.2"
# No cgroupsPath: each runtime's default, a cgroup per container (20 at once must not share
# one: a delete would kill the others).
c["linux"].pop("cgroupsPath", None)
for name, args in (("true", ["/bin/true"]), ("sleep", ["/bin/sleep", "1000"])):
    os.makedirs(f"{work}/{name}", exist_ok=True)
    c["process"]["args"] = args
    json.dump(c, open(f"{work}/{name}/config.json", "w"))
PY

# hyperfine with its results in the JSON file only: its warnings (outliers, a slow first run)
# are left out; its output is shown when it fails.
hf() {
    local out
    out=$(hyperfine "$@" 2>&1 >/dev/null) || { echo "$out"; return 1; }
}

# One runtime's commands for round $2, into $work/r$2-<name>-<column>.json.
measure() {
    local rt=$1 k=$2 n st r
    n=$(basename "$rt"); st="$work/state-$n"; r="$rt --root $st"
    $r create -b "$work/true" ph >/dev/null
    hf -N --warmup 3 --runs "$RUNS" --export-json "$work/r$k-$n-state.json" "$r state ph"
    $r delete -f ph
    # -N: the command runs without a shell (no shell start-up to subtract); the preparation
    # through sh, each beginning from no container.
    hf -N --warmup 2 --runs "$RUNS" --export-json "$work/r$k-$n-create.json" \
        --prepare "sh -c '$r delete -f ph >/dev/null 2>&1; true'" \
        "$r create -b $work/true ph"
    hf -N --warmup 2 --runs "$RUNS" --export-json "$work/r$k-$n-start.json" \
        --prepare "sh -c '$r delete -f ph >/dev/null 2>&1; $r create -b $work/true ph >/dev/null'" \
        "$r start ph"
    # delete as a lifecycle (and an engine after every exit) does it: of a stopped container.
    hf -N --warmup 2 --runs "$RUNS" --export-json "$work/r$k-$n-delete.json" \
        --prepare "sh -c '$r delete -f ph >/dev/null 2>&1; $r create -b $work/true ph >/dev/null && $r start ph && until $r state ph | grep -q stopped; do :; done'" \
        "$r delete ph"
    # delete --force of a created container: the kill, and the kernel's teardown of init's
    # namespaces it waits for, included.
    hf -N --warmup 2 --runs "$RUNS" --export-json "$work/r$k-$n-deletef.json" \
        --prepare "sh -c '$r delete -f ph >/dev/null 2>&1; $r create -b $work/true ph >/dev/null'" \
        "$r delete -f ph"
    hf -N --warmup 2 --runs "$RUNS" --export-json "$work/r$k-$n-kill.json" \
        --prepare "sh -c '$r delete -f ph-sleep >/dev/null 2>&1; $r create -b $work/sleep ph-sleep >/dev/null && $r start ph-sleep'" \
        "$r kill ph-sleep KILL"
    $r delete -f ph-sleep >/dev/null 2>&1 || true
    hf --shell sh --runs 1 --export-json "$work/r$k-$n-seq100.json" \
        "for i in \$(seq 100); do $r create -b $work/true ph >/dev/null && $r start ph && $r delete -f ph; done"
    hf --shell bash --runs 1 --export-json "$work/r$k-$n-conc20.json" \
        "for i in \$(seq 20); do ($r create -b $work/true c\$i >/dev/null && $r start c\$i && $r delete -f c\$i) & done; wait"
}

for k in $(seq "$ROUNDS"); do
    echo "== round $k of $ROUNDS: floor (fork+exec of a static binary), then state, create, start, delete, delete -f, kill, 100 sequential, 20 concurrent of each runtime"
    hf -N --warmup 5 --runs "$RUNS" --export-json "$work/r$k-floor.json" "/bin/busybox true"
    # Rotate the order: no runtime always runs first (or right after another's burst).
    n=${#RUNTIMES[@]}
    for j in $(seq 0 $((n - 1))); do
        measure "${RUNTIMES[$(((j + k) % n))]}" "$k"
    done
done

python3 - "$work" "$ROUNDS" "$WORLD" "${RUNTIMES[@]}" <<'PY'
import json, os, statistics, sys
work, rounds, world = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rts = [os.path.basename(r) for r in sys.argv[4:]]
where = "cgroup v1 only" if world == "v1" else "cgroup2 only"
times = lambda f: json.load(open(f"{work}/{f}.json"))["results"][0]["times"]
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]
cols = ["state", "create", "start", "delete", "deletef", "kill", "seq100", "conc20"]
# Per round: medians (ms); overall: every run of every round.
rmed = {(k, n, c): statistics.median(times(f"r{k}-{n}-{c}")) * 1000
        for k in range(1, rounds + 1) for n in rts for c in cols}
rfloor = {k: statistics.median(times(f"r{k}-floor")) * 1000 for k in range(1, rounds + 1)}
allt = {(n, c): [t * 1000 for k in range(1, rounds + 1) for t in times(f"r{k}-{n}-{c}")]
        for n in rts for c in cols}
floor_all = [t * 1000 for k in range(1, rounds + 1) for t in times(f"r{k}-floor")]
floor = statistics.median(floor_all)
fig = lambda xs: f"{statistics.median(xs):.1f} ({pct(xs, .1):.1f}-{pct(xs, .9):.1f})"
lines = ["", f"Lifecycle commands, {where}, {rounds} interleaved rounds (median ms, p10-p90; floor = fork+exec of a static binary, {floor:.2f} ms):", "",
         "| runtime | state | create | start | delete | delete -f (created) | kill | 100 sequential | 20 concurrent |",
         "|---|---|---|---|---|---|---|---|---|"]
for n in rts:
    lines.append(f"| {n} | " + " | ".join(fig(allt[(n, c)]) for c in cols) + " |")
lines.append("")
def target(what, ratios, limit):
    m = statistics.median(ratios)
    lines.append(f"#16 target ({where}): hull {what} <= {limit}: {m:.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}) "
                 f"{'met' if m <= float(limit.split('x')[0]) else 'NOT met'}")
for c in ["state", "start", "delete", "kill"]:
    target(c, [rmed[(k, "hull", c)] / rfloor[k] for k in range(1, rounds + 1)], "1.6x floor")
if "crun" in rts:
    for c, what in [("create", "create"), ("seq100", "create+start+delete (100 in a row)"), ("conc20", "20 concurrent lifecycles")]:
        target(what, [rmed[(k, "hull", c)] / rmed[(k, "crun", c)] for k in range(1, rounds + 1)], "0.5x crun")
out = "\n".join(lines)
print(out)
with open("bench/results.md", "a") as f:
    f.write(out + "\n")
PY
