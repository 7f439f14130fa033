#!/usr/bin/env bash
# make bench-systemd: the systemd cgroup driver's lifecycle, hull beside runc, in the same real
# systemd host: this machine's /usr booted by systemd-nspawn with systemd as PID 1 and pure
# cgroup v2 (the test world of tests/common/systemd.rs, made here by hand), torn down on exit.
#   1. wall time of `--systemd-cgroup run` of /bin/true (a transient scope made and stopped
#      over D-Bus each time), hyperfine's mean ± σ
#   2. wall time of `--systemd-cgroup` create + start + delete -f
# Each runtime's unit is `system.slice:hbench:<runtime>`. Results go to stdout and are appended
# to bench/results.md, with the ratio against issue #16's target (hull at most 0.5x runc).
set -euo pipefail
cd "$(dirname "$0")/.."
HULL=$PWD/target/release/hull
RUNS=${BENCH_RUNS:-40}
command -v systemd-nspawn >/dev/null || {
    echo "bench-systemd: installing systemd-container (systemd-nspawn)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container >/dev/null
}
command -v hyperfine >/dev/null || {
    echo "bench-systemd: installing hyperfine"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
}

work=$(mktemp -d /tmp/hull-bench-sd.XXXXXX)
machine=hull-bench-$$
# The world's own host cgroups (cgroup2; and name=systemd on hybrid hosts, where nspawn takes
# its path from): teardown finds every process of the world there.
if [ -d /sys/fs/cgroup/unified ]; then
    v2=/sys/fs/cgroup/unified/$machine v1=/sys/fs/cgroup/systemd/$machine
else
    v2=/sys/fs/cgroup/$machine v1=
fi
nspawn=
cleanup() {
    if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
        kill -TERM "$nspawn"
        for _ in $(seq 100); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
    fi
    # Whatever is left in the world's cgroups (nothing after an orderly halt).
    for d in "$v2" ${v1:+"$v1"}; do
        [ -d "$d" ] || continue
        [ -e "$d/cgroup.kill" ] && echo 1 >"$d/cgroup.kill" 2>/dev/null || true
        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

mkdir "$v2"
[ -n "$v1" ] && mkdir "$v1"
tr -d - </proc/sys/kernel/random/uuid >"$work/machine-id"
mkdir -p "$work/bundle"
python3 - "$PWD/bundles/busybox" "$work/bundle" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
c = json.load(open(src + "/config.json"))
c["root"]["path"] = src + "/rootfs"
c["process"]["args"] = ["/bin/true"]
c["ociVersion"] = "1.0.2"  # the oldest version every runtime here accepts
json.dump(c, open(dst + "/config.json", "w"))
PY
(
    echo 0 >"$v2/cgroup.procs"
    [ -n "$v1" ] && echo 0 >"$v1/cgroup.procs"
    exec env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 setpriv --pdeathsig TERM -- systemd-nspawn \
        --keep-unit --register=no --volatile=yes -D / --private-network --machine="$machine" \
        --console=read-only --link-journal=no \
        --bind-ro="$work/machine-id:/etc/machine-id" --bind="$work" --bind-ro="$PWD" \
        -b systemd.unit=multi-user.target systemd.firstboot=off \
        systemd.mask=console-getty.service
) </dev/null >"$work/nspawn.log" 2>&1 &
nspawn=$!
leader=
for _ in $(seq 200); do
    leader=$(cat "$v2/payload/init.scope/cgroup.procs" 2>/dev/null | head -1) || true
    [ -n "$leader" ] && nsenter -t "$leader" -a systemctl is-system-running --wait >/dev/null 2>&1 && break
    sleep 0.1
done
state=$(nsenter -t "$leader" -a systemctl is-system-running 2>/dev/null || true)
case "$state" in running|degraded) ;; *) echo "bench-systemd: the world did not boot ($state)"; tail "$work/nspawn.log"; exit 1;; esac
echo "bench-systemd: systemd world $machine up ($state), pure cgroup v2"

inw() { nsenter -t "$leader" -a "$@"; }
run_cmds=(); cycle_cmds=(); names=()
for rt in "$HULL" "$(command -v runc || true)"; do
    [ -n "$rt" ] || continue
    n=$(basename "$rt"); st=/run/hbench-$n
    b=$work/bundle-$n
    cp -r "$work/bundle" "$b"
    python3 -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['linux']['cgroupsPath']='system.slice:hbench:'+sys.argv[2]; json.dump(c,open(p,'w'))" "$b/config.json" "$n"
    if ! err=$(inw "$rt" --root "$st" --systemd-cgroup run -b "$b" hb 2>&1 </dev/null); then
        echo "bench-systemd: $n cannot run here, skipped: $err"
        continue
    fi
    names+=("$n")
    run_cmds+=("$rt --root $st --systemd-cgroup run -b $b hb")
    cycle_cmds+=("$rt --root $st --systemd-cgroup create -b $b hb >/dev/null && $rt --root $st start hb && $rt --root $st delete -f hb")
done
echo "== --systemd-cgroup run ($RUNS runs)"
inw hyperfine -N -w 3 -r "$RUNS" --export-json "$work/run.json" "${run_cmds[@]}" 2>&1 | grep -E "Time|±|Benchmark|faster" || true
echo "== --systemd-cgroup create + start + delete -f ($RUNS runs)"
inw hyperfine -w 3 -r "$RUNS" -S bash --export-json "$work/cycle.json" "${cycle_cmds[@]}" 2>&1 | grep -E "Time|±|Benchmark|faster|Error" || true
# Medians, and issue #16's target for this world: hull at most half of runc's (a goal, printed
# as met or not; the bench fails only when a runtime could not be measured).
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def load(name):
    return {os.path.basename(r["command"].split()[0]): r for r in json.load(open(f"{work}/{name}.json"))["results"]}
run, cyc = load("run"), load("cycle")
lines = ["", "--systemd-cgroup in a systemd world (pure cgroup v2):", "",
         "| runtime | run /bin/true (median ms, p10-p90) | create+start+delete -f (median ms, p10-p90) |",
         "|---|---|---|"]
def cell(r):
    t = sorted(r["times"])
    q = lambda f: t[min(len(t) - 1, int(f * len(t)))] * 1000
    return f"{r['median'] * 1000:.1f} ({q(0.1):.1f}-{q(0.9):.1f})"
for n in run:
    lines.append(f"| {n} | {cell(run[n])} | {cell(cyc[n])} |")
if "hull" in run and "runc" in run:
    rr = run["hull"]["median"] / run["runc"]["median"]
    rc = cyc["hull"]["median"] / cyc["runc"]["median"]
    ok = lambda x: "met" if x <= 0.5 else "NOT met"
    lines.append(f"\n--systemd-cgroup hull/runc: run {rr:.2f}x, create+start+delete {rc:.2f}x "
                 f"(#16's target <= 0.5x: {ok(max(rr, rc))})")
out = "\n".join(lines)
print(out)
with open("bench/results.md", "a") as f:
    f.write(out + "\n")
PY
for n in "${names[@]}"; do
    left=$(inw systemctl list-units --all --no-legend "hbench-$n*" | wc -l)
    [ "$left" = 0 ] || echo "bench-systemd: $n left $left unit(s)"
done
