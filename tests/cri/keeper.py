"""The keeper of one CRI test world (tests/cri/world.rs): it starts containerd with the CRI
plugin in a network namespace of its own, is the subreaper of everything containerd starts,
then waits for its owner, the test process, to go, and takes down everything the world is.

Its stdin is a pipe whose only writer is the test process: reading it returns end of file
however the test process ends (returns, panics, aborts, is SIGKILLed), or when a test drops a
private world. stdout: one line for the owner, `containerd PID` (or `error: ...`); stderr: what
teardown could not do (and containerd's own log is WORLD_DIR/containerd.log).

usage: python3 keeper.py WORLD_DIR CONFIG SOCKET CGROUP TESTS_CRI_DIR
  WORLD_DIR      the world's directory: containerd's root and state, hull's root, the CNI
                 config, the pods' logs (removed at teardown, once nothing is mounted below it)
  CONFIG         containerd's config.toml
  SOCKET         containerd's socket (for the orderly part of teardown, through CRI)
  CGROUP         the name of the world's cgroup below the root of every hierarchy, under which
                 the tests put their pods (cgroup_parent); removed at teardown
  TESTS_CRI_DIR  tests/cri (client.py; the proto is WORLD_DIR/proto/api.proto)

Why a keeper of its own kind (compare tests/common/*_keeper.sh): containerd's shims daemonize,
and PID 1 on the test hosts does not always reap orphans; as a child subreaper
(PR_SET_CHILD_SUBREAPER) the keeper is the parent every shim is reparented to, reaps them, and
finds every process of the world among its descendants. Python, because /bin/sh can neither be
a subreaper nor reap what it did not start (the CRI client the tests use is Python too).

Teardown, each step bounded:
1. Orderly, while containerd answers: every pod sandbox stopped and removed through CRI (what
   kubelet does), so that the shims exit and remove their sockets, and CNI releases the pods'
   addresses and its cache entries.
2. SIGTERM to containerd (SIGKILL after 5 s).
3. SIGKILL to every process left below the keeper, until none is (shims, containers).
4. What a killed world leaves at fixed host paths: the shims' sockets (each shim's bundle names
   its socket in an `address` file) and CNI's result cache entries of the world's sandboxes.
5. Every mount below WORLD_DIR (the rootfs overlays, the pods' /dev/shm and netns files),
   deepest first; the world's cgroups in every hierarchy, deepest first; WORLD_DIR.
6. /run/containerd/s, /run/containerd, /var/lib/cni/results, /var/lib/cni when the world made
   them and they are empty.
"""

import ctypes
import os
import shutil
import signal
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
MNT_DETACH = 2
HOST_DIRS = ["/run/containerd/s", "/run/containerd", "/var/lib/cni/results", "/var/lib/cni"]

libc = ctypes.CDLL(None, use_errno=True)
problems = []


def say(msg):
    problems.append(msg)
    sys.stderr.write("cri world %s: %s\n" % (os.path.basename(world), msg))
    sys.stderr.flush()


def reaper():
    """Reap every child: containerd, and each shim once it is reparented here."""
    global containerd_status
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
            if pid == containerd:
                containerd_status = status
        except ChildProcessError:
            time.sleep(0.05)
        except InterruptedError:
            pass


def ppids():
    """pid -> (ppid, state) of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        out[int(name)] = (int(fields[1]), fields[0])
    return out


def descendants():
    """The live (not zombie) processes below the keeper."""
    procs = ppids()
    me = os.getpid()
    below = set()
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in procs.items():
            if pid not in below and (ppid == me or ppid in below):
                below.add(pid)
                changed = True
    return [p for p in below if procs[p][1] not in ("Z", "X")]


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def wait_until(cond, seconds):
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def orderly():
    """Step 1: every pod stopped and removed through CRI."""
    sys.path.insert(0, tests_cri)
    try:
        import client

        cri = client.Cri(socket, os.path.join(world, "proto"), os.path.join(world, "client"))
        pods = cri.call("ListPodSandbox", {}, timeout=5).get("items", [])
    except Exception as e:
        say("no orderly teardown (CRI does not answer): %s" % e)
        return
    for pod in pods:
        sid = pod["id"]
        for method in ("StopPodSandbox", "RemovePodSandbox"):
            try:
                cri.call(method, {"podSandboxId": sid}, timeout=15)
            except Exception as e:
                say("%s %s: %s" % (method, sid, e))
                break


def mounts_below(path):
    prefix = path.rstrip("/") + "/"
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split(" ")[4].replace("\\040", " ")
            if point.startswith(prefix) or point == path:
                points.append(point)
    return points


def shim_sockets():
    """The sockets the world's shims serve on, from their bundles' `address` files."""
    out = []
    tasks = os.path.join(world, "state", "io.containerd.runtime.v2.task")
    for root, _, files in os.walk(tasks):
        if "address" in files:
            try:
                with open(os.path.join(root, "address")) as f:
                    addr = f.read().strip()
            except OSError:
                continue
            if addr.startswith("unix://"):
                out.append(addr[len("unix://") :])
    return out


def sandbox_ids():
    try:
        return os.listdir(os.path.join(world, "root", "io.containerd.grpc.v1.cri", "sandboxes"))
    except OSError:
        return []


def remove_cgroups():
    roots = ["/sys/fs/cgroup"]
    try:
        roots += [
            os.path.join("/sys/fs/cgroup", h)
            for h in os.listdir("/sys/fs/cgroup")
            if os.path.isdir(os.path.join("/sys/fs/cgroup", h))
        ]
    except OSError:
        pass
    for root in roots:
        top = os.path.join(root, cgroup)
        if not os.path.isdir(top):
            continue
        deadline = time.monotonic() + 5
        while os.path.isdir(top):
            for d, _, _ in sorted(os.walk(top), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
            if not os.path.isdir(top):
                break
            if time.monotonic() > deadline:
                say("cannot remove cgroup %s" % top)
                break
            time.sleep(0.1)


def teardown():
    if alive(containerd):
        orderly()
    else:
        wait_until(lambda: containerd_status is not None, 1)
        code = None if containerd_status is None else os.waitstatus_to_exitcode(containerd_status)
        say("containerd had ended before teardown (%s): no orderly teardown" % code)
    # 2: containerd.
    if alive(containerd):
        os.kill(containerd, signal.SIGTERM)
        if not wait_until(lambda: not alive(containerd), 5):
            say("containerd did not exit within 5 s of SIGTERM; SIGKILL")
            os.kill(containerd, signal.SIGKILL)
    # 3: whatever is left below us.
    first = True
    deadline = time.monotonic() + 10
    while True:
        left = descendants()
        if not left:
            break
        if first:
            say("SIGKILL to what is left: %s" % " ".join(map(str, sorted(left))))
            first = False
        if time.monotonic() > deadline:
            say("processes left: %s" % left)
            break
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
    # 4: fixed host paths of a killed world.
    for s in shim_sockets():
        if os.path.lexists(s):
            os.unlink(s)
    results = "/var/lib/cni/results"
    ids = sandbox_ids()
    if ids and os.path.isdir(results):
        for name in os.listdir(results):
            if any("-%s-" % sid in name for sid in ids):
                os.unlink(os.path.join(results, name))
    # 5: mounts, cgroups, the world's directory.
    deadline = time.monotonic() + 5
    while True:
        points = mounts_below(world)
        if not points:
            break
        if time.monotonic() > deadline:
            say("mounts left: %s" % points)
            break
        for p in sorted(points, key=len, reverse=True):
            libc.umount2(p.encode(), MNT_DETACH)
    remove_cgroups()
    if not mounts_below(world):
        shutil.rmtree(world, ignore_errors=True)
        if os.path.exists(world):
            say("cannot remove %s" % world)
    # 6: the host directories the world made, when empty.
    for d in HOST_DIRS:
        if d in made_here:
            try:
                os.rmdir(d)
            except OSError:
                pass


world, config, socket, cgroup, tests_cri = sys.argv[1:6]
containerd = 0
containerd_status = None
for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGPIPE):
    signal.signal(sig, signal.SIG_IGN)
made_here = [d for d in HOST_DIRS if not os.path.exists(d)]
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    print("error: prctl(PR_SET_CHILD_SUBREAPER): %s" % os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(1)

log = os.open(os.path.join(world, "containerd.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
pid = os.fork()
if pid == 0:
    try:
        for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        # A network namespace of the world's own (its loopback up: the CRI plugin's streaming
        # server listens on 127.0.0.1): the pods' bridge, their veths' host ends and
        # everything CNI does stay in it.
        os.execvp(
            "unshare",
            [
                "unshare",
                "--net",
                "--",
                "sh",
                "-c",
                'ip link set lo up && exec containerd --config "$0"',
                config,
            ],
        )
    finally:
        os._exit(127)
containerd = pid
threading.Thread(target=reaper, daemon=True).start()
print("containerd %d" % containerd, flush=True)
devnull = os.open("/dev/null", os.O_WRONLY)
os.dup2(devnull, 1)

# Until the owner goes.
while os.read(0, 4096):
    pass
teardown()
sys.exit(1 if problems and any(not p.startswith("SIGKILL to") for p in problems) else 0)
