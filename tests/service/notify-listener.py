#!/usr/bin/env python3
"""A stand-in for systemd's notification socket: binds a datagram socket at
argv[1] and appends every message to argv[2], one line per assignment, with
a '--' line after each datagram. Exits after argv[3] seconds."""
import socket
import sys
import time

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
deadline = time.monotonic() + float(sys.argv[3])
with open(sys.argv[2], "a", buffering=1) as out:
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        out.write(data.decode(errors="replace") + "\n--\n")
