#!/usr/bin/env python3
"""Write the seed corpus for fuzz-request: hand-encoded protobuf requests
(valid and deliberately invalid), each prefixed with the byte fuzz-request
reads as the number of fds that came with the datagram. Run from this
directory; the output is committed, so this only needs rerunning when the
schema grows."""
import os


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fv(n, v):
    return varint(n << 3) + varint(v)


def fb(n, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(n << 3 | 2) + varint(len(b)) + b


def spawn(argv, user=b"nobody", extra=b""):
    body = b"".join(fb(1, a) for a in argv)
    if user is not None:
        body += fb(2, user)
    return body + extra


def request(body_field, body, version=1, rid=1):
    return fv(1, version) + fv(2, rid) + fb(body_field, body)


fdmap = lambda i, t: fb(7, fv(1, i) + fv(2, t))
seeds = {
    "spawn-minimal": (0, request(3, spawn([b"/usr/bin/id"]))),
    "spawn-bare-name": (0, request(3, spawn([b"id", b"-u"]))),
    "spawn-full": (3, request(3, spawn(
        [b"/bin/sh", b"-c", b"echo hi"], b"nobody",
        fb(3, b"nogroup") + fb(4, b"nogroup") + fb(5, b"/tmp") + fv(6, 0o77)
        + fdmap(0, 0) + fdmap(1, 1) + fdmap(2, 2) + fdmap(1, 7)
        + fb(8, b"TERM=xterm") + fb(8, b"LANG=C.UTF-8") + fb(9, b"FOO=bar")
        + fv(10, 1) + fv(11, 5000)))),
    "spawn-swap": (2, request(3, spawn([b"/bin/true"], b"root", fdmap(0, 1) + fdmap(1, 0)))),
    "spawn-argc0": (0, request(3, spawn([]))),
    "spawn-empty-argv0": (0, request(3, spawn([b""]))),
    "spawn-relative": (0, request(3, spawn([b"./x"]))),
    "spawn-nul": (0, request(3, spawn([b"/bin/echo", b"a\x00b"]))),
    "spawn-no-user": (0, request(3, spawn([b"/bin/true"], None))),
    "spawn-uid-max": (0, request(3, spawn([b"/bin/true"], b"4294967295"))),
    "spawn-env-dup": (0, request(3, spawn([b"/bin/true"], b"nobody", fb(9, b"A=1") + fb(9, b"A=2")))),
    "spawn-env-noeq": (0, request(3, spawn([b"/bin/true"], b"nobody", fb(8, b"LD_PRELOAD")))),
    "spawn-fd-range": (1, request(3, spawn([b"/bin/true"], b"nobody", fdmap(5, 1)))),
    "spawn-fd-dup": (1, request(3, spawn([b"/bin/true"], b"nobody", fdmap(0, 1) + fdmap(0, 1)))),
    "spawn-exec-path": (0, request(3, spawn([b"-sh", b"-c", b"id"], b"nobody",
                                            fb(15, b"/bin/sh") + fv(16, 1)))),
    "spawn-exec-path-relative": (0, request(3, spawn([b"/bin/true"], b"nobody",
                                                     fb(15, b"bin/sh")))),
    "spawn-no-groups-with-groups": (0, request(3, spawn([b"/bin/true"], b"nobody",
                                                        fb(4, b"nogroup") + fv(16, 1)))),
    "spawn-unknown-field": (0, request(3, spawn([b"/bin/true"], b"nobody", fv(99, 1)))),
    "signal": (0, request(4, fv(1, 1) + fv(2, 15) + fv(3, 1), rid=2)),
    "signal-zero": (0, request(4, fv(1, 1) + fv(2, 0))),
    "version-2": (0, request(3, spawn([b"/bin/true"]), version=2)),
    "empty": (0, b""),
    "garbage": (0, bytes(range(256))),
}
os.makedirs("corpus/request", exist_ok=True)
for name, (n_fds, data) in seeds.items():
    with open(os.path.join("corpus/request", name), "wb") as f:
        f.write(bytes([n_fds]) + data)
