# The keeper of one VM world (tests/common/vm.rs): it makes the world's initramfs, starts qemu (a
# Debian kernel, this host's / read-only under a tmpfs overlay, systemd as PID 1 on pure cgroup
# v2), then waits for its owner, the test process, to go, and takes the VM and its files down.
#
# Its stdin is a pipe whose only writer is the test process: read returns at end of file, which
# the kernel delivers however the test process ends (returns, panics, is SIGKILLed). qemu also
# runs with PDEATHSIG=KILL, should this keeper itself be killed. stdout: one line for the owner,
# `qemu PID` (or `error: …`); stderr: what teardown could not do.
#
# usage: sh vm_keeper.sh KERNEL_DIR WORLD_DIR ACCEL [KEEP…]
#   KERNEL_DIR  an extracted linux-image .deb (boot/vmlinuz-*, lib/modules/*), make vm-kernel
#   WORLD_DIR   the world's host directory, shared read-write with the VM at the same path
#               (the agent's commands and their output; removed at teardown)
#   KEEP        host directories the VM must show at their own paths even where the VM mounts a
#               fresh /tmp or /run (the repository and cargo's target dir: a clone in /tmp)
#   ACCEL       qemu's accelerator: kvm (the default), or tcg (emulation, to check the world
#               itself on a host without usable KVM: minutes, not seconds)
set -u
trap '' HUP INT QUIT TERM PIPE
kdir=$1 dir=$2 accel=${3:-kvm}
shift 3 2>/dev/null || shift $#
# Lines of /init that keep the KEEP dirs lying under /tmp or /run across the fresh mounts
# there: bound aside from the overlay, then moved back onto the new mount.
hold= unhold=
n=0
for k in "$@"; do
	case $k in /tmp/* | /run/*) ;; *) continue ;; esac
	n=$((n + 1))
	hold="$hold
mkdir -p /hold$n && mount --bind /newroot$k /hold$n"
	unhold="$unhold
mkdir -p /newroot$k && mount --move /hold$n /newroot$k"
done

fail() {
	echo "error: $*"
	rm -rf --one-file-system "$dir"
	exit 1
}

vmlinuz=$(ls "$kdir"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || fail "no kernel in $kdir/boot (make vm-kernel)"
kver=${vmlinuz##*/vmlinuz-}
# The uncompressed ELF kernel (PVH entry) when make vm-kernel made it: no decompressor to run,
# which nested KVM makes slow.
[ -e "$kdir/boot/vmlinux" ] && vmlinuz=$kdir/boot/vmlinux
mods=$kdir/lib/modules/$kver/kernel

# The initramfs: static busybox, the modules for virtio 9p and overlay, and /init. Also the
# bridge and veth modules (CNI's bridge plugin), loaded up front: the extracted package has no
# modules.dep (depmod runs at install) and this host no modprobe, so the kernel could not load
# them on demand.
ird=$dir/initramfs
mkdir -p "$ird/bin" "$ird/m" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/lower" "$ird/upper" "$ird/newroot" ||
	fail "cannot make $ird"
cp /bin/busybox "$ird/bin/busybox" || fail "cannot copy /bin/busybox"
order="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev
drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/char/virtio_console
fs/netfs/netfs fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p fs/overlayfs/overlay
net/llc/llc net/802/stp net/bridge/bridge drivers/net/veth"
list=
for m in $order; do
	[ -e "$mods/$m.ko" ] || continue
	cp "$mods/$m.ko" "$ird/m/" || fail "cannot copy $m.ko"
	list="$list ${m##*/}"
done
cat >"$ird/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in $list; do insmod /m/\$m.ko || echo "vm init: insmod \$m failed"; done
fail() { echo "vm init: \$*"; poweroff -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose root /lower || fail "cannot mount the host's /"
mount -t tmpfs -o mode=0755 upper /upper && mkdir /upper/u /upper/w
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w overlay /newroot || fail "cannot mount the overlay"
mkdir -p /newroot$dir && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 world /newroot$dir || fail "cannot mount the world dir"
mkdir -p /newroot/lib/modules/$kver && mount --bind /lower$kdir/lib/modules/$kver /newroot/lib/modules/$kver
# Not the host's: its mounts, its machine id, its enabled services.
: >/newroot/etc/fstab
rm -f /newroot/etc/machine-id
mkdir -p /newroot/etc/systemd/system
# Slow over 9p and of no use here: tmpfiles would walk the host's /tmp and /var (in the
# overlay only); no network but loopback, so nothing to wait online for.
for u in systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer systemd-networkd.service \\
	systemd-networkd-wait-online.service networking.service systemd-networkd.socket; do
	ln -sf /dev/null /newroot/etc/systemd/system/\$u
done
cat >/newroot/etc/systemd/system/hull-vm.target <<UNIT
[Unit]
Description=hull's VM test world
Requires=basic.target hull-agent.service
After=basic.target hull-agent.service
AllowIsolate=yes
UNIT
cat >/newroot/etc/systemd/system/hull-agent.service <<UNIT
[Unit]
Description=hull's test agent (commands over virtio-serial)
DefaultDependencies=no
StartLimitIntervalSec=0
After=sysinit.target
[Service]
ExecStart=/bin/sh $dir/agent.sh
Restart=always
RestartSec=0.2
Delegate=no
UNIT
# The VM's own /proc, /sys, /dev, /run and /tmp: the 9p share shows the host's mounts there,
# which systemd would take for its own (reading the host's /proc/cmdline).
umount /proc
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount --move /dev /newroot/dev
$hold
mount -t tmpfs -o mode=0755,nosuid,nodev run /newroot/run
mount -t tmpfs -o mode=1777,nosuid,nodev tmp /newroot/tmp
$unhold
exec switch_root /newroot /lib/systemd/systemd --unit=hull-vm.target --show-status=0 --log-target=console
INIT
chmod +x "$ird/init"

# The agent, in the VM: each line on the port names a script in the world dir, run at once
# beside any still running, in a session of its own (a signal to the agent's group cannot reach
# the agent); its output goes to files beside it, its exit status to ID.rc (written whole, then
# renamed), which the host waits for. The port reads end of file while the host side is not
# connected: the agent waits and reads again, it does not exit (systemd's restart would lose a
# request in flight). Each start is logged in agent.log, for a host that waits in vain.
cat >"$dir/agent.sh" <<AGENT
# The port by its name (udev's /dev/virtio-ports/ link may not be made yet).
port=
for p in /sys/class/virtio-ports/*; do
	[ "\$(cat "\$p/name" 2>/dev/null)" = hull.agent ] && port=/dev/\${p##*/}
done
[ -n "\$port" ] || exit 1
echo "agent started \$(cat /proc/uptime)" >>$dir/agent.log
exec 3<\$port
: >$dir/ready
while :; do
	while read -r id <&3; do
		case \$id in c[0-9]*) ;; *) continue ;; esac
		(
			setsid -w sh "$dir/\$id.sh" >"$dir/\$id.out" 2>"$dir/\$id.err" </dev/null
			echo \$? >"$dir/\$id.rc.new" && mv "$dir/\$id.rc.new" "$dir/\$id.rc"
		) &
	done
	sleep 0.2
done
AGENT

(cd "$ird" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$dir/initramfs.gz") ||
	fail "cannot pack the initramfs"
rm -rf "$ird"

(
	trap - HUP INT QUIT TERM PIPE
	exec setpriv --pdeathsig KILL -- qemu-system-x86_64 -accel "$accel" -smp 2 -m 2048 \
		-nographic -serial "file:$dir/console.log" -monitor none -nic none -no-reboot \
		-kernel "$vmlinuz" -initrd "$dir/initramfs.gz" \
		-append "console=ttyS0 panic=-1 systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all systemd.unit=hull-vm.target systemd.show_status=0 systemd.log_target=console" \
		-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$dir,mount_tag=world,security_model=none,multidevs=remap" \
		-device virtio-serial-pci \
		-chardev "socket,id=agent,path=$dir/agent.sock,server=on,wait=off" \
		-device virtserialport,chardev=agent,name=hull.agent
) </dev/null >"$dir/qemu.log" 2>&1 &
qemu=$!
i=0
while [ ! -S "$dir/agent.sock" ]; do
	if ! kill -0 "$qemu" 2>/dev/null || [ "$i" -ge 100 ]; then
		wait "$qemu" 2>/dev/null
		echo "error: qemu did not start: $(tail -n 5 "$dir/qemu.log" | tr '\n' ' ')"
		cp "$dir/qemu.log" "${dir%/*}/vm-last-qemu.log" 2>/dev/null
		rm -rf --one-file-system "$dir"
		exit 1
	fi
	sleep 0.05
	i=$((i + 1))
done
echo "qemu $qemu"
exec >/dev/null

while read -r _; do :; done

# The VM holds nothing of the host's but the world dir: it is killed, not halted.
kill -KILL "$qemu" 2>/dev/null
wait "$qemu" 2>/dev/null
cp "$dir/console.log" "${dir%/*}/vm-last-console.log" 2>/dev/null
rm -rf --one-file-system "$dir" || exit 1
exit 0
