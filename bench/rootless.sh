#!/usr/bin/env bash
# make bench, rootless part: hull against runc run by an unprivileged user, side by side in one
# run — the lifecycle a CI job without root pays.
#   The user is `nobody` (65534, on every Debian host; no account is made or changed), with
#   `setpriv` (no login, no PAM); both runtimes get the same `hull spec --rootless` config (its
#   own id mapped to root, no network namespace, /sys bound) on the repository's busybox rootfs,
#   running /bin/true, and a `--root` of their own in a temp dir of the user's. No cgroup: on
#   this hybrid host the user can write none (both runtimes then go without one).
#   1. median wall time of `run` (hyperfine -N)
#   2. median wall time of create + start + delete (hyperfine, through sh for both)
# Results go to stdout and are appended to bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
HULL=$PWD/target/release/hull
RUNS=${BENCH_RUNS:-40}
USER_ID=65534
command -v hyperfine >/dev/null || { echo "bench: hyperfine is missing (make bench installs it)"; exit 1; }
command -v setpriv >/dev/null || { echo "bench: setpriv is missing (util-linux)"; exit 1; }

# crun refuses hybrid cgroups: as bench/run.sh, rerun in a private mount namespace without the
# cgroup2 mount, for all runtimes alike.
if [ -z "${BENCH_PRIVATE_V1:-}" ] && command -v crun >/dev/null \
    && mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
    echo "bench: hybrid cgroups here, which crun refuses: all runtimes run in a private mount namespace without /sys/fs/cgroup/unified (cgroup v1 only)"
    exec unshare -m --propagation private env BENCH_PRIVATE_V1=1 \
        sh -c 'umount /sys/fs/cgroup/unified && exec "$0" "$@"' "$0" "$@"
fi
work=$(mktemp -d /tmp/hull-bench-rootless.XXXXXX)
chown "$USER_ID:$USER_ID" "$work"
chmod 0755 "$work"
as_user() {
    setpriv --reuid="$USER_ID" --regid="$USER_ID" --clear-groups -- \
        env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin HOME="$work" "$@"
}
RUNTIMES=("$HULL")
cleanup() {
    for rt in "${RUNTIMES[@]}"; do
        as_user "$rt" --root "$work/state-$(basename "$rt")" delete -f hbench-rl >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

for d in "$PWD/bundles/busybox/rootfs" "$HULL"; do
    as_user test -r "$d" || { echo "bench: user $USER_ID cannot read $d (a checkout under /root?)"; exit 1; }
done
as_user "$HULL" spec --rootless --bundle "$work"
python3 - "$work/config.json" "$PWD/bundles/busybox/rootfs" <<'PY'
import json, sys
path, rootfs = sys.argv[1], sys.argv[2]
c = json.load(open(path))
c["root"]["path"] = rootfs
c["process"]["args"] = ["/bin/true"]
c["process"]["terminal"] = False
c["ociVersion"] = "1.0.2"  # the oldest version every runtime here accepts
json.dump(c, open(path, "w"))
PY

for rt in runc crun; do
    if ! command -v $rt >/dev/null; then
        echo "bench: $rt not installed, skipped"
    elif err=$(as_user $rt --root "$work/state-$rt" run -b "$work" hbench-rl 2>&1 </dev/null); then
        RUNTIMES+=("$(command -v $rt)")
    else
        echo "bench: $rt cannot run rootless here, skipped: $err"
    fi
done
as_user "$HULL" --root "$work/state-hull" run -b "$work" hbench-rl </dev/null

run_cmds=(); cycle_cmds=()
for rt in "${RUNTIMES[@]}"; do
    st="$work/state-$(basename "$rt")"
    run_cmds+=("$rt --root $st run -b $work hbench-rl")
    cycle_cmds+=("$rt --root $st create -b $work hbench-rl >/dev/null && $rt --root $st start hbench-rl && $rt --root $st delete -f hbench-rl")
done
echo "== rootless (user $USER_ID): run /bin/true (median of $RUNS)"
as_user hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/run.json" "${run_cmds[@]}" >/dev/null
echo "== rootless (user $USER_ID): create + start + delete (median of $RUNS)"
as_user hyperfine --shell sh --warmup 3 --runs "$RUNS" --export-json "$work/cycle.json" "${cycle_cmds[@]}" >/dev/null

python3 - "$work" "${RUNTIMES[@]}" <<'PY'
import json, os, sys
work, rts = sys.argv[1], sys.argv[2:]
def load(name):
    return {r["command"].split()[0]: r for r in json.load(open(f"{work}/{name}.json"))["results"]}
run, cyc = load("run"), load("cycle")
def ms(r):
    return r["median"] * 1000, (r["max"] - r["min"]) * 1000
lines = ["", "Rootless (an unprivileged user, no cgroup):", "",
         "| runtime | run /bin/true (median ms, spread) | create+start+delete (median ms, spread) |",
         "|---|---|---|"]
for rt in rts:
    (r, rs), (c, cs) = ms(run[rt]), ms(cyc[rt])
    lines.append(f"| {os.path.basename(rt)} | {r:.1f} ({rs:.1f}) | {c:.1f} ({cs:.1f}) |")
for rt in rts[1:]:
    lines.append(f"\nrootless hull/{os.path.basename(rt)}: run {run[rts[0]]['median'] / run[rt]['median']:.2f}x, "
                 f"create+start+delete {cyc[rts[0]]['median'] / cyc[rt]['median']:.2f}x")
out = "\n".join(lines)
print(out)
with open("bench/results.md", "a") as f:
    f.write(out + "\n")
PY
