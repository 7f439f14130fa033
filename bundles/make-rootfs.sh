#!/bin/sh
# Build a busybox rootfs at $1 from the host's static busybox (package busybox-static).
# The rootfs is generated, never committed.
set -eu
mkdir -p "$(dirname "$1")"
dest=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
bb=/bin/busybox   # from busybox-static: statically linked, so it runs in an empty rootfs
if [ ! -x "$bb" ]; then
    echo "make-rootfs: $bb not found (apt-get install busybox-static)" >&2
    exit 1
fi
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
cd "$dest.tmp"
mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev tmp root var/tmp home run
chmod 1777 tmp var/tmp
cp "$bb" bin/busybox
for applet in $(bin/busybox --list); do
    [ -e "bin/$applet" ] || ln -s busybox "bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000:user:/home:/bin/sh\n' > etc/passwd
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\nuser:x:1000:\n' > etc/group
printf 'NAME="hull test rootfs (busybox)"\n' > etc/os-release
# Targets the engine-generated configs bind over (as real images have them), so that running
# those configs never has to create them in this shared rootfs.
touch etc/hostname etc/hosts etc/resolv.conf run/.containerenv
cd ..
rm -rf "$dest"
mv "$dest.tmp" "$dest"
