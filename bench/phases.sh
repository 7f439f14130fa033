#!/usr/bin/env bash
# make bench, issue #16's part: each lifecycle command on its own against the floor (a bare
# fork+exec of a static binary), and 100 sequential and 20 concurrent lifecycles, for hull, runc
# and crun side by side; the targets of issue #16 printed as met or not (the bench does not fail
# on them: they are goals, not guards).
#   floor   hyperfine -N of the static busybox's `true`
#   state   of a created container            kill   SIGKILL of a running `sleep` container
#   start   of a created container (its /bin/true runs and exits)
#   delete  --force of a created container
#   seq100  100 create+start+delete in a row  conc20  20 of them at once
# As bench/run.sh: on a hybrid host (crun refuses it) everything runs in a private mount
# namespace without /sys/fs/cgroup/unified. Results go to stdout and are appended to
# bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
HULL=$PWD/target/release/hull
RUNS=${BENCH_RUNS:-40}
if [ -z "${BENCH_PRIVATE_V1:-}" ] && command -v crun >/dev/null \
    && mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
    echo "bench: hybrid cgroups here, which crun refuses: all runtimes run in a private mount namespace without /sys/fs/cgroup/unified (cgroup v1 only)"
    exec unshare -m --propagation private env BENCH_PRIVATE_V1=1 \
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

echo "== floor: fork+exec of a static binary (median of $RUNS)"
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/floor.json" "/bin/busybox true" >/dev/null
for rt in "${RUNTIMES[@]}"; do
    n=$(basename "$rt"); st="$work/state-$n"; r="$rt --root $st"
    echo "== $n: state, start, delete, kill, 100 sequential, 20 concurrent"
    $r create -b "$work/true" ph >/dev/null
    hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/$n-state.json" "$r state ph" >/dev/null
    $r delete -f ph
    # -N: the command runs without a shell (no shell start-up to subtract); the preparation
    # through sh, each beginning from no container.
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/$n-start.json" \
        --prepare "sh -c '$r delete -f ph >/dev/null 2>&1; $r create -b $work/true ph >/dev/null'" \
        "$r start ph" >/dev/null
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/$n-delete.json" \
        --prepare "sh -c '$r delete -f ph >/dev/null 2>&1; $r create -b $work/true ph >/dev/null'" \
        "$r delete -f ph" >/dev/null
    hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/$n-kill.json" \
        --prepare "sh -c '$r delete -f ph-sleep >/dev/null 2>&1; $r create -b $work/sleep ph-sleep >/dev/null && $r start ph-sleep'" \
        "$r kill ph-sleep KILL" >/dev/null
    $r delete -f ph-sleep >/dev/null 2>&1 || true
    hyperfine --shell sh --runs 3 --export-json "$work/$n-seq100.json" \
        "for i in \$(seq 100); do $r create -b $work/true ph >/dev/null && $r start ph && $r delete -f ph; done" >/dev/null
    hyperfine --shell bash --runs 3 --export-json "$work/$n-conc20.json" \
        "for i in \$(seq 20); do ($r create -b $work/true c\$i >/dev/null && $r start c\$i && $r delete -f c\$i) & done; wait" >/dev/null
done

python3 - "$work" "${RUNTIMES[@]}" <<'PY'
import json, os, sys
work, rts = sys.argv[1], [os.path.basename(r) for r in sys.argv[2:]]
med = lambda f: json.load(open(f"{work}/{f}.json"))["results"][0]["median"] * 1000
floor = med("floor")
cols = ["state", "start", "delete", "kill", "seq100", "conc20"]
t = {(n, c): med(f"{n}-{c}") for n in rts for c in cols}
lines = ["", f"Lifecycle commands (median ms; floor = fork+exec of a static binary, {floor:.2f} ms):", "",
         "| runtime | state | start | delete | kill | 100 sequential | 20 concurrent |", "|---|---|---|---|---|---|---|"]
for n in rts:
    lines.append(f"| {n} | " + " | ".join(f"{t[(n, c)]:.1f}" for c in cols) + " |")
lines.append("")
for c in ["state", "start", "delete", "kill"]:
    r = t[("hull", c)] / floor
    lines.append(f"#16 target: hull {c} <= 1.6x floor: {r:.2f}x {'met' if r <= 1.6 else 'NOT met'}")
if "crun" in rts:
    for c in ["seq100", "conc20"]:
        r = t[("hull", c)] / t[("crun", c)]
        lines.append(f"#16 target: hull {c} <= 0.5x crun: {r:.2f}x {'met' if r <= 0.5 else 'NOT met'}")
out = "\n".join(lines)
print(out)
with open("bench/results.md", "a") as f:
    f.write(out + "\n")
PY
