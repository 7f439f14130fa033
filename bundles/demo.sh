#!/bin/sh
# make run: one busybox container (bundles/demo), and what its process sees beside what a process
# on the host sees — hostname, pid, processes, limits, namespaces, root filesystem, capabilities.
# Usage: bundles/demo.sh HULL STATE_ROOT
set -eu
hull=$1 root=$2
cd "$(dirname "$0")"
id=hull-demo-$$
inside=$("$hull" --root "$root" run --bundle demo "$id")
outside=$(sh demo/facts.sh)
echo "hull ran container $id (bundles/demo: busybox, read-only root, 64 MiB, 32 tasks):"
echo
printf '%-10s %-26s %s\n' "" "on the host" "in the container"
echo "$outside" | while read -r key value; do
    printf '%-10s %-26s %s\n' "$key" "$value" "$(echo "$inside" | sed -n "s|^$key ||p")"
done
