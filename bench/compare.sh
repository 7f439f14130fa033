#!/usr/bin/env bash
# make bench-compare BASE=<rev>: this tree's hull against the hull of revision BASE, for a
# change that must not cost time (issue #9: "lifecycle within 5%"). Builds BASE's release
# binary in a temporary git worktree, then times ITERATIONS iterations of `run /bin/true`,
# `create`, `start` and `delete` of both binaries, interleaved (each iteration runs both, in
# alternating order), and prints the medians, their ratios (new/base) and the syscall counts
# of one `run` of each (strace -f -c: noise-free). Exits 1 when `run` or create+start+delete
# is slower than BASE's by more than TOLERANCE (default 0.05).
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:?set BASE=<git revision> to compare against}
ITERATIONS=${ITERATIONS:-100}
TOLERANCE=${TOLERANCE:-0.05}
NEW=$PWD/target/release/hull
for tool in strace; do
    command -v $tool >/dev/null || {
        echo "bench-compare: installing $tool"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $tool >/dev/null
    }
done
work=$(mktemp -d /tmp/hull-compare.XXXXXX)
base_tree=$work/base
cleanup() {
    for b in "$NEW" "$base_tree/target/release/hull"; do
        for st in "$work"/state-*; do
            [ -d "$st" ] && "$b" --root "$st" delete -f hcmp >/dev/null 2>&1 || true
        done
    done
    git worktree remove --force "$base_tree" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "bench-compare: building $BASE in $base_tree"
git worktree add -q --detach "$base_tree" "$BASE"
# The base's own build recipe (CARGO_TARGET_DIR unset: its own target dir).
make -s -C "$base_tree" build >/dev/null
OLD=$base_tree/target/release/hull

mkdir -p "$work/bundle"
python3 - "$PWD/bundles/busybox" "$work/bundle" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
c = json.load(open(src + "/config.json"))
c["root"]["path"] = src + "/rootfs"
c["process"]["args"] = ["/bin/true"]
c["linux"]["cgroupsPath"] = "/hull-compare"
json.dump(c, open(dst + "/config.json", "w"))
PY

# Each iteration times both binaries back to back, in alternating order, phase by phase:
# the VM's drift (±30% between hyperfine runs) then hits both sides alike.
python3 - "$OLD" "$NEW" "$work" "$ITERATIONS" > "$work/times.json" <<'PY'
import json, subprocess, sys, time
old, new, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
bins = {"base": old, "new": new}
phases = {
    "run": ["run", "-b", f"{work}/bundle", "hcmp"],
    "create": ["create", "-b", f"{work}/bundle", "hcmp"],
    "start": ["start", "hcmp"],
    "delete": ["delete", "-f", "hcmp"],
}
times = {k: {p: [] for p in phases} for k in bins}
for i in range(n + 3):
    order = ["base", "new"] if i % 2 == 0 else ["new", "base"]
    for k in order:
        for p, args in phases.items():
            t = time.perf_counter()
            r = subprocess.run([bins[k], "--root", f"{work}/state-{k}"] + args,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            if r.returncode != 0:
                sys.exit(f"{k} {p} failed with {r.returncode}")
            if i >= 3:  # warm-up
                times[k][p].append((time.perf_counter() - t) * 1000)
json.dump(times, sys.stdout)
PY
for b in "$OLD:base" "$NEW:new"; do
    strace -f -qq -c -o "$work/strace-${b##*:}" "${b%%:*}" --root "$work/state-strace" run -b "$work/bundle" hcmp
done

python3 - "$work" "$TOLERANCE" "$BASE" <<'PY'
import json, statistics, sys
work, tol, base = sys.argv[1], float(sys.argv[2]), sys.argv[3]
t = json.load(open(f"{work}/times.json"))
med = {k: {p: statistics.median(v) for p, v in t[k].items()} for k in t}
n = len(t["base"]["run"])
print(f"== median ms of {n} interleaved iterations (base {base} / this tree)")
for p in ("run", "create", "start", "delete"):
    print(f"  {p:7s} base {med['base'][p]:6.2f}  new {med['new'][p]:6.2f}  ratio {med['new'][p] / med['base'][p]:.3f}")
life = {k: med[k]["create"] + med[k]["start"] + med[k]["delete"] for k in med}
ratios = {"run": med["new"]["run"] / med["base"]["run"], "create+start+delete": life["new"] / life["base"]}
print(f"  create+start+delete base {life['base']:.2f}  new {life['new']:.2f}  ratio {ratios['create+start+delete']:.3f}")
def total(f):
    for line in open(f):
        w = line.split()
        if w and w[-1] == "total":
            return int(w[3] if len(w) == 6 else w[-2])
tb, tn = total(f"{work}/strace-base"), total(f"{work}/strace-new")
print(f"== syscalls of one run (strace -f -c): base {tb}, new {tn} ({tn - tb:+d})")
slow = [k for k, r in ratios.items() if r > 1 + tol]
if slow:
    print(f"bench-compare: {', '.join(slow)} slower than {base} by more than {tol:.0%}")
    sys.exit(1)
print(f"bench-compare: run and create+start+delete within {tol:.0%} of {base}")
PY
