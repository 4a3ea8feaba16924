#!/usr/bin/env python3
"""A stand-in for journald's native socket: binds a datagram socket at
argv[1] and writes each entry to argv[2] as FIELD=value lines followed by a
'--' line. Understands the text form and the binary form (a field name, a
newline, a 64-bit little-endian length and the value) of the native
protocol. Exits after argv[3] seconds."""
import socket
import struct
import sys
import time


def parse(data):
    fields = []
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            fields.append(line.decode(errors="replace"))
            i = nl + 1
        else:
            (size,) = struct.unpack_from("<Q", data, nl + 1)
            start = nl + 9
            value = data[start:start + size]
            fields.append(line.decode() + "=" + value.decode(errors="replace"))
            i = start + size + 1
    return fields


sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
deadline = time.monotonic() + float(sys.argv[3])
with open(sys.argv[2], "a", buffering=1) as out:
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            break
        out.write("\n".join(parse(data)) + "\n--\n")
