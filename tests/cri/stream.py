"""The client side of containerd's streaming server (k8s.io/kubelet's cri/streaming, which
CRI's Exec and Attach answer with a URL of): a WebSocket (RFC 6455) with the
`v4.channel.k8s.io` subprotocol, by hand on Python's standard library. Every binary message
is one byte of channel (0 stdin, 1 stdout, 2 stderr, 3 the status as JSON, 4 a terminal
resize as JSON) and its data.

usage: python3 stream.py URL  (run in containerd's network namespace: the server listens on
its loopback). Reads a JSON list of things to send on stdin: ["stdin", TEXT] or
["resize", WIDTH, HEIGHT] or ["wait", SECONDS] or ["until", TEXT] (until stdout holds TEXT,
30 s at most: a resize sent before the process runs is dropped by the server); prints {"stdout": ..., "stderr": ...,
"status": {...} or null} once the server closes. A PortForward URL (with `?port=N`) is
the same WebSocket with two channels a port (0 data, 1 error), each opened by the server with
the port number (2 bytes, little-endian): ["data", TEXT] sends on the data channel, ["close"]
ends the session; stdout is then what came back on the data channel, stderr the error's.
"""

import base64
import json
import os
import socket
import struct
import sys
import threading
import time
from urllib.parse import urlparse


def frame(payload, opcode=2):
    """A masked client frame (RFC 6455 5.2)."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_frame(sock):
    b0, b1 = read_exact(sock, 2)
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack(">H", read_exact(sock, 2))
    elif n == 127:
        (n,) = struct.unpack(">Q", read_exact(sock, 8))
    mask = read_exact(sock, 4) if b1 & 0x80 else None
    data = read_exact(sock, n)
    if mask:
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return b0 & 0x0F, data


def connect(url):
    u = urlparse(url)
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    path = u.path + ("?" + u.query if u.query else "")
    sock.sendall(
        (
            "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n" % (path, u.netloc, key)
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        c = sock.recv(1)
        if not c:
            raise EOFError("no answer to the upgrade: %r" % head)
        head += c
    status = head.split(b"\r\n")[0]
    if b" 101 " not in status:
        sys.exit("upgrade refused: %r" % head)
    return sock, head.decode("latin-1")


def main():
    sock, head = connect(sys.argv[1])
    plan = json.load(sys.stdin)
    forward = "/portforward/" in sys.argv[1]
    seen = set()
    out = {"stdout": b"", "stderr": b"", "status": None, "handshake": head}

    def sender():
        for step in plan:
            if step[0] == "stdin":
                sock.sendall(frame(b"\x00" + step[1].encode()))
            elif step[0] == "resize":
                msg = json.dumps({"Width": step[1], "Height": step[2]}).encode()
                sock.sendall(frame(b"\x04" + msg))
            elif step[0] == "wait":
                time.sleep(step[1])
            elif step[0] == "until":
                deadline = time.monotonic() + 30
                while step[1].encode() not in out["stdout"] and time.monotonic() < deadline:
                    time.sleep(0.05)
            elif step[0] == "data":
                sock.sendall(frame(b"\x00" + step[1].encode()))
            elif step[0] == "close":
                sock.sendall(frame(b"\x03\xe8", 8))

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    try:
        while True:
            opcode, data = read_frame(sock)
            if opcode == 8:
                break
            if opcode == 9:
                sock.sendall(frame(data, 10))
                continue
            if not data:
                continue
            ch, body = data[0], data[1:]
            if forward:
                # Each channel's first message is the port (2 bytes, little-endian).
                if ch not in seen:
                    seen.add(ch)
                    out.setdefault("ports", []).append(struct.unpack("<H", body[:2])[0])
                    body = body[2:]
                if ch == 0:
                    out["stdout"] += body
                elif ch == 1:
                    out["stderr"] += body
                continue
            if ch == 1:
                out["stdout"] += body
            elif ch == 2:
                out["stderr"] += body
            elif ch == 3:
                out["status"] = json.loads(body)
    except EOFError:
        pass
    out["stdout"] = out["stdout"].decode("utf-8", "replace")
    out["stderr"] = out["stderr"].decode("utf-8", "replace")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
