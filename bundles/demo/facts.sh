# What a process sees of its world, one "key value" line each: the container's process runs this
# (bundles/demo/config.json binds bundles/demo over /home, a directory the image has), and
# bundles/demo.sh runs it on the host beside it. POSIX sh, for
# busybox inside and dash outside.
first() { for f in "$@"; do [ -r "$f" ] && { cat "$f"; return; }; done; echo -; }
echo "hostname $(hostname)"
echo "pid $$"
echo "uid $(id -u)"
echo "processes $(ls /proc | grep -c '^[0-9]')"
mem=$(first /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes)
case $mem in max|-|9223372036854771712) echo "memory none" ;; *) echo "memory $((mem / 1048576)) MiB" ;; esac
pids=$(first /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max)
case $pids in max|-) echo "tasks none" ;; *) echo "tasks $pids" ;; esac
echo "files $(ulimit -n)"
for ns in pid net mnt uts ipc cgroup; do echo "ns/$ns $(readlink /proc/self/ns/$ns)"; done
if touch /.hull-demo-probe 2>/dev/null; then rm -f /.hull-demo-probe; echo "rootfs writable"; else echo "rootfs read-only"; fi
echo "caps $(grep CapEff /proc/self/status | cut -f2)"
