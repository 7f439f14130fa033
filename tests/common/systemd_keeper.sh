# The keeper of one systemd world (tests/common/systemd.rs): it starts systemd-nspawn in the
# world's host cgroups, then waits for its owner, the test process, to go, and takes down
# everything the world is.
#
# Its stdin is a pipe whose only writer is the test process: read returns at end of file, which
# the kernel delivers however the test process ends (returns, panics, aborts, is SIGKILLed), or
# when the test drops a private world. stdout: one line for the owner, `nspawn PID` (or
# `error: …`); stderr: what teardown could not do.
#
# usage: sh WORLD_DIR/keeper.sh V2_CGROUP V2_PATH V1_CGROUP WORLD_DIR MACHINE NSPAWN_ARGV...
#   V2_CGROUP  the world's host cgroup2 directory (made here, removed at teardown)
#   V2_PATH    the same as /proc/PID/cgroup names it (0::V2_PATH)
#   V1_CGROUP  its name=systemd v1 directory on hybrid hosts, or "" (nspawn takes its
#              cgroup path from there on hybrid hosts)
#   WORLD_DIR  the host directory of the world's files (removed at teardown)
#   MACHINE    the machine name (nspawn's /run/systemd/nspawn/propagate/MACHINE)
set -u
# Terminal signals are not ours to obey (the keeper runs in a session of its own anyway): only
# the end of the pipe stops the world.
trap '' HUP INT QUIT TERM PIPE
v2=$1 rel=$2 v1=$3 dir=$4 machine=$5
shift 5

say() { echo "systemd world $machine: $*" >&2; }

if ! mkdir "$v2" || { [ -n "$v1" ] && ! mkdir "$v1"; }; then
	echo "error: cannot make the world's host cgroup $v2 ${v1:+or $v1}"
	rmdir "$v2" 2>/dev/null
	rm -rf --one-file-system "$dir"
	exit 1
fi

# nspawn starts in the world's cgroups (it makes payload/ and supervisor/ below them) and gets
# SIGTERM, an orderly halt of the world, should this keeper die before it.
(
	trap - HUP INT QUIT TERM PIPE
	echo 0 >"$v2/cgroup.procs" || exit 101
	if [ -n "$v1" ]; then echo 0 >"$v1/cgroup.procs" || exit 101; fi
	exec setpriv --pdeathsig TERM -- "$@"
) </dev/null >"$dir/nspawn.log" 2>&1 &
nspawn=$!

# Whether process $1 is in the world's cgroup (nspawn: once it has joined, until reaped).
in_world() { grep -Eq "^0::$rel(/|\$)" "/proc/$1/cgroup" 2>/dev/null; }
# Whether process $1 (our child) exists and is no zombie.
alive() {
	st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null)
	[ -n "$st" ] && [ "$st" != Z ]
}
# Until nspawn is in the world's cgroup (or failed to get there): from then on the cgroup is
# populated as long as anything of the world lives, and an empty one means the world is gone.
while alive "$nspawn" && ! in_world "$nspawn"; do sleep 0.01; done
echo "nspawn $nspawn"
exec >/dev/null

# Until the owner goes.
while read -r _; do :; done

empty() { [ ! -e "$v2/cgroup.events" ] || grep -q '^populated 0' "$v2/cgroup.events"; }
# wait_empty TENTHS: until no process is left in the world's cgroup, at most TENTHS/10 s.
wait_empty() {
	i=0
	while ! empty; do
		[ "$i" -ge "$1" ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}
pids() { find "$v2" -name cgroup.procs -exec cat {} + 2>/dev/null; }

# An orderly halt: nspawn passes SIGTERM on as SIGRTMIN+3 to the world's systemd, which halts
# (services get DefaultTimeoutStopSec=3s, what is left after them 3 s more). A second SIGTERM
# makes nspawn end the world at once: a world still booting misses the first.
term() { if alive "$nspawn"; then kill -TERM "$nspawn" 2>/dev/null; fi; }
term
if ! wait_empty 100; then
	say "did not halt within 10 s; SIGTERM again"
	term
fi
if ! wait_empty 50; then
	say "still there 5 s later; SIGKILL to every process of $v2"
	if [ -e "$v2/cgroup.kill" ]; then
		echo 1 >"$v2/cgroup.kill"
	else
		for p in $(pids); do kill -KILL "$p" 2>/dev/null; done
	fi
	wait_empty 100 || say "processes left in $v2: $(pids | tr '\n' ' ')"
fi
# Reap nspawn (never wait for one that still runs).
if alive "$nspawn"; then
	say "systemd-nspawn ($nspawn) survived SIGKILL"
else
	wait "$nspawn" 2>/dev/null
fi

# The cgroups, deepest first (a dying cgroup may refuse rmdir for a moment).
status=0
for cg in "$v2" "$v1"; do
	[ -n "$cg" ] || continue
	i=0
	while [ -d "$cg" ]; do
		find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$cg" ] || break
		if [ "$i" -ge 50 ]; then
			say "cannot remove $cg"
			status=1
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
done

# nspawn removes this itself unless it was killed.
rm -rf --one-file-system "/run/systemd/nspawn/propagate/$machine"
rm -rf --one-file-system "$dir" || status=1
exit $status
