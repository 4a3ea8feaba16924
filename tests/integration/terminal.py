#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A terminal that the daemon allocates for the child (DESIGN.md section 10),
# end to end: the real spawnd on its own socket, spawnctl -t and the
# library's pty-relay example under a real pseudo-terminal that plays the
# user's terminal (python3's pty module), real uid switches.
#
#   [SPAWND_IT_ENGINE=fork|vfork] terminal.py SPAWND SPAWNCTL PTY_RELAY
#
# Exit 0 when every case passed, 1 otherwise, 77 (skipped) when not root.
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

if os.geteuid() != 0:
    print("skipped: terminal.py switches users and needs root")
    sys.exit(77)
if len(sys.argv) != 4:
    print("usage: terminal.py SPAWND SPAWNCTL PTY_RELAY", file=sys.stderr)
    sys.exit(2)
SPAWND, SPAWNCTL, RELAY = sys.argv[1:4]
NOBODY = 65534
TTY_GID = None
try:
    import grp
    TTY_GID = grp.getgrnam("tty").gr_gid
except KeyError:
    pass

work = tempfile.mkdtemp(prefix="pty-it.")
os.chmod(work, 0o777)
sock = os.path.join(work, "sock")
conf = os.path.join(work, "spawnd.conf")
with open(conf, "w") as f:
    f.write("permit root\npermit nobody as nobody\n")
os.chmod(conf, 0o644)
failures = 0
passed = 0


def fail(case, msg):
    global failures
    failures += 1
    print(f"FAIL: {case}: {msg}", file=sys.stderr)


def ok(case):
    global passed
    passed += 1
    print(f"ok: {case}")


engine = os.environ.get("SPAWND_IT_ENGINE")
args = [SPAWND, "-s", sock, "-c", conf] + (["--engine", engine] if engine else [])
daemon = subprocess.Popen(args, stdin=subprocess.DEVNULL, stderr=open(os.path.join(work, "log"), "w"))
for _ in range(200):
    if os.path.exists(sock):
        break
    time.sleep(0.05)


class Term:
    """argv run as the session leader of a new pty: the user's terminal."""

    def __init__(self, argv, rows=33, cols=101):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(argv[0], argv)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.buf = b""
        self.status = None

    def expect(self, needle, timeout=10.0):
        """Read until needle (bytes) appears; True when it did."""
        end = time.monotonic() + timeout
        while needle not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            try:
                d = os.read(self.fd, 4096)
            except OSError:
                return needle in self.buf
            if not d:
                return needle in self.buf
            self.buf += d
        return True

    def send(self, data):
        os.write(self.fd, data)

    def lflag(self):
        return termios.tcgetattr(self.fd)[3]

    def wait(self, timeout=15.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.expect(b"\0never\0", 0.05)
            p, st = os.waitpid(self.pid, os.WNOHANG)
            if p:
                self.status = os.waitstatus_to_exitcode(st)
                return self.status
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        return None

    def close(self):
        os.close(self.fd)


def spawnctl(*cmd, user="nobody"):
    return [SPAWNCTL, "-s", sock, "-t", "-u", user, "--"] + list(cmd)


def pty_relay(*cmd, user="nobody"):
    return [RELAY, sock, user] + list(cmd)


def raw_mode_on(t, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not t.lflag() & termios.ICANON:
            return True
        time.sleep(0.02)
    return False


def master_fds(pid):
    """(fd, flags) of every pty master that pid holds."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target in ("/dev/ptmx", "/dev/pts/ptmx"):
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                found.append((fd, int(next(l for l in f if l.startswith("flags:")).split()[1], 8)))
    return found


def tty_nr(name):
    """/proc/PID/stat's tty_nr of /dev/pts/N: major 136, minor N."""
    n = int(name.rsplit("/", 1)[1])
    return (n & 0xFF) | (136 << 8) | ((n & ~0xFF) << 12)


def check_resize(case, argv, rows, cols):
    """A resize of the user's terminal reaches the child (SIGWINCH, new size)."""
    t = Term(argv("/bin/sh", "-c",
                  'trap \'echo "W=$(stty size)"; exit 0\' WINCH; echo READY; '
                  'while :; do sleep 0.05; done'), rows=24, cols=80)
    if not t.expect(b"READY"):
        fail(case, f"child did not start: {t.buf!r}")
    else:
        fcntl.ioctl(t.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if not t.expect(f"W={rows} {cols}".encode()):
            fail(case, f"no new size: {t.buf!r}")
        elif t.wait() != 0:
            fail(case, f"exit {t.status}")
        else:
            ok(case)
    t.close()


def check_round_trip(case, argv, who, line):
    """A line into cat and back; Ctrl-C is cat's SIGINT; the mode comes back."""
    t = Term(argv("/bin/cat"))
    before = t.lflag()
    if not raw_mode_on(t):
        fail(case, f"{who} did not put the terminal in raw mode")
    else:
        t.send(line + b"\r")
        # Once from the child's terminal's echo, once from cat.
        if not t.expect(line + b"\r\n" + line + b"\r\n"):
            fail(case, f"no echo: {t.buf!r}")
        else:
            t.send(b"\x03")
            st = t.wait()
            if st != 128 + signal.SIGINT:
                fail(case, f"exit {st}, wanted {128 + signal.SIGINT}: {t.buf!r}")
            elif t.lflag() != before:
                fail(case, f"terminal mode not restored: {t.lflag():#o} != {before:#o}")
            else:
                ok(case)
    t.close()


def check_hangup(case, argv, mark):
    """Killing the client hangs the terminal up: the child's session leader
    gets SIGHUP from the kernel (it ignores the SIGTERM of on_disconnect)."""
    t = Term(argv("/bin/sh", "-c",
                  f'trap "" TERM; trap \'echo hup > {mark}; exit 3\' HUP; echo READY; '
                  'while :; do sleep 0.05; done'))
    if not t.expect(b"READY"):
        fail(case, f"child did not start: {t.buf!r}")
    else:
        os.kill(t.pid, signal.SIGKILL)
        t.wait()
        for _ in range(100):
            if os.path.exists(mark):
                break
            time.sleep(0.05)
        if not os.path.exists(mark):
            fail(case, "the child got no SIGHUP")
        else:
            ok(case)
    t.close()


# 1. The child's own terminal: its name, controlling terminal, session,
#    owner and size.
case = "tty: a new pty, the child's ctty and session, owned by the target, sized"
own = os.ttyname(0) if os.isatty(0) else None
script = ('echo "T=$(tty)"; echo "S=$(stty size)"; '
          'set -- $(cat /proc/$$/stat); echo "NR=$7 SID=$6 PID=$$"; '
          'stat -c "O=%u:%g:%a" "$(tty)"')
t = Term(spawnctl("/bin/sh", "-c", script), rows=33, cols=101)
st = t.wait()
out = t.buf.decode(errors="replace")
vals = dict(l.split("=", 1) for l in out.replace("\r", "").split("\n") if "=" in l and l[:1] in "TSNO")
if st != 0:
    fail(case, f"exit {st}, output {out!r}")
elif not vals.get("T", "").startswith("/dev/pts/") or vals.get("T") == own:
    fail(case, f"tty {vals.get('T')!r} (test's own {own!r})")
elif vals.get("S") != "33 101":
    fail(case, f"stty size {vals.get('S')!r}, wanted '33 101'")
else:
    fields = dict(kv.split("=") for kv in ("NR=" + vals["NR"]).split())
    o = vals.get("O", "")
    want_o = f"{NOBODY}:{TTY_GID if TTY_GID is not None else ''}"
    if fields["SID"] != fields["PID"]:
        fail(case, f"the child is not its session's leader: {vals['NR']}")
    elif not o.startswith(f"{NOBODY}:") or (TTY_GID is not None and o != f"{want_o}:620"):
        fail(case, f"slave owner:group:mode {o!r}, wanted {want_o}:620")
    else:
        # The slave is gone once the child exits; check tty_nr's major/minor.
        want_nr = tty_nr(vals["T"])
        if int(fields["NR"]) != want_nr:
            fail(case, f"tty_nr {fields['NR']} is not {vals['T']} ({want_nr})")
        else:
            ok(case)
t.close()

# 2. A resize of the user's terminal reaches the child (SIGWINCH, new size).
check_resize("resize: SIGWINCH and the new size reach the child", spawnctl, 40, 120)

# 3. Interactive round trip into cat; Ctrl-C is the child's SIGINT, made by
#    its terminal's line discipline (spawnctl's terminal is raw: no SIGINT
#    for spawnctl); the user's terminal is back in its mode afterwards.
check_round_trip("round trip: a line into cat and back, Ctrl-C kills cat, mode restored",
                 spawnctl, "spawnctl", b"hello through the pty")

# 4. spawnctl's own copy of the master is close-on-exec.
case = "the master is close-on-exec in the client"
t = Term(spawnctl("/bin/sleep", "30"))
found = master_fds(t.pid) if raw_mode_on(t) else []
if not found:
    fail(case, "no master fd in spawnctl")
elif not found[-1][1] & os.O_CLOEXEC:
    fail(case, f"fd {found[-1][0]} flags {found[-1][1]:#o} without O_CLOEXEC")
else:
    ok(case)

# 5. spawnctl killed by SIGTERM: it forwards it, the child dies, the user's
#    terminal gets its mode back, the exit status is 128+15.
case = "SIGTERM: spawnctl restores the terminal mode and exits 143"
os.kill(t.pid, signal.SIGTERM)
st = t.wait()
lf = t.lflag()
if st != 128 + signal.SIGTERM:
    fail(case, f"exit {st}: {t.buf!r}")
elif not (lf & termios.ICANON and lf & termios.ECHO):
    fail(case, f"terminal left raw: lflag {lf:#o}")
else:
    ok(case)
t.close()

# 6. Killing the client hangs the terminal up: the child's session leader
#    gets SIGHUP from the kernel (it ignores the SIGTERM of on_disconnect).
check_hangup("hang-up: killing spawnctl sends SIGHUP to the child", spawnctl,
             os.path.join(work, "hup"))

# 7. The library: the pty-relay example gets a terminal for its child.
case = "library: pty-relay relays a terminal of the child's own"
t = Term(pty_relay("/bin/sh", "-c", 'echo "T=$(tty) S=$(stty size)"'), rows=21, cols=77)
st = t.wait()
out = t.buf.decode(errors="replace")
if st != 0 or "T=/dev/pts/" not in out or "S=21 77" not in out:
    fail(case, f"exit {st}: {out!r}")
else:
    ok(case)
t.close()

# 7b-7g. The same contract through the library: the pty-relay example asks
#    with spawnd_options_set_pty(), takes the master with
#    spawnd_result_take_pty_master() and relays it.
case = "library: the child's ctty is the new pty and it leads its session"
t = Term(pty_relay("/bin/sh", "-c", 'echo "T=$(tty)"; set -- $(cat /proc/$$/stat); '
                   'echo "NR=$7 SID=$6 PID=$$"; ps -o tty= -p $$ | sed "s/^/P=/"'))
st = t.wait()
out = t.buf.decode(errors="replace")
vals = dict(l.split("=", 1) for l in out.replace("\r", "").split("\n") if "=" in l and l[:1] in "TNP")
tty_name = vals.get("T", "")
if st != 0 or not tty_name.startswith("/dev/pts/") or tty_name == own or "NR" not in vals:
    fail(case, f"exit {st}, tty {tty_name!r} (test's own {own!r}): {out!r}")
else:
    fields = dict(kv.split("=") for kv in ("NR=" + vals["NR"]).split())
    want_nr = tty_nr(tty_name)
    if fields["SID"] != fields["PID"]:
        fail(case, f"the child is not its session's leader: {vals['NR']}")
    elif int(fields["NR"]) != want_nr:
        fail(case, f"tty_nr {fields['NR']} is not {tty_name} ({want_nr})")
    elif vals.get("P", "").strip() != tty_name[len("/dev/"):]:
        fail(case, f"ps -o tty says {vals.get('P')!r}, wanted {tty_name[5:]!r}")
    else:
        ok(case)
t.close()

check_resize("library: a resize of the user's terminal reaches the child (SIGWINCH, new size)",
             pty_relay, 41, 121)
check_round_trip("library: a line into cat and back, Ctrl-C kills cat via the line discipline",
                 pty_relay, "pty-relay", b"hello through the library")

case = "library: the master taken from the result is close-on-exec in the relay"
t = Term(pty_relay("/bin/sleep", "30"))
found = master_fds(t.pid) if raw_mode_on(t) else []
if len(found) != 1:
    fail(case, f"pty masters in pty-relay: {found!r}, wanted exactly one")
elif not found[0][1] & os.O_CLOEXEC:
    fail(case, f"fd {found[0][0]} flags {found[0][1]:#o} without O_CLOEXEC")
else:
    ok(case)
os.kill(t.pid, signal.SIGKILL)
t.wait()
t.close()

check_hangup("library: SIGKILL of the relay hangs the child up (SIGHUP)", pty_relay,
             os.path.join(work, "hup-lib"))

# 8. Without a terminal on stdin spawnctl still relays (like ssh -tt).
case = "no terminal on stdin: still relays, input ends with VEOF"
p = subprocess.run(spawnctl("/bin/sh", "-c", 'tty; read x; echo "got $x"'),
                   input=b"word\n", capture_output=True, timeout=20)
if p.returncode != 0 or b"/dev/pts/" not in p.stdout or b"got word" not in p.stdout:
    fail(case, f"exit {p.returncode}: {p.stdout!r} {p.stderr!r}")
else:
    ok(case)

# 9. TIOCSTI: the child pushes input into every terminal it can reach (its
#    fds 0-2 and /dev/tty); none of it arrives in the user's terminal, whose
#    slave we hold here to look at its input queue.
case = "TIOCSTI from the child never reaches the client's terminal"
inject = ("import fcntl, os, termios\n"
          "fds = [0, 1, 2]\n"
          "try:\n"
          "    fds.append(os.open('/dev/tty', os.O_RDWR))\n"
          "except OSError as e:\n"
          "    print('no /dev/tty', e)\n"
          "for fd in fds:\n"
          "    try:\n"
          "        for c in b'INJECTED\\n':\n"
          "            fcntl.ioctl(fd, termios.TIOCSTI, bytes([c]))\n"
          "        print('pushed into', os.ttyname(fd))\n"
          "    except OSError as e:\n"
          "        print('refused', fd, e)\n")
def as_user_terminal():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


for name, front in (("spawnctl -t", spawnctl), ("library: pty-relay", pty_relay)):
    um, us = os.openpty()
    fcntl.ioctl(um, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    user_tty = os.ttyname(us)

    p = subprocess.Popen(front("/usr/bin/python3", "-c", inject), stdin=us, stdout=us, stderr=us,
                         preexec_fn=as_user_terminal)
    got = b""
    end = time.monotonic() + 20
    while p.poll() is None and time.monotonic() < end:
        r, _, _ = select.select([um], [], [], 0.1)
        if r:
            got += os.read(um, 4096)
    st = p.wait(timeout=10)
    pending = struct.unpack("i", fcntl.ioctl(us, termios.FIONREAD, b"\0\0\0\0"))[0]
    text = got.decode(errors="replace")
    if st != 0:
        fail(f"{case} ({name})", f"exit {st}: {text!r}")
    elif user_tty in text:
        fail(f"{case} ({name})", f"the child reached the user's terminal {user_tty}: {text!r}")
    elif pending != 0:
        fail(f"{case} ({name})", f"{pending} bytes injected into the user's terminal {user_tty}: {text!r}")
    else:
        ok(f"{case} ({name})")
    os.close(um)
    os.close(us)

# 10. The daemon's fd count returns to its baseline after 200 pty spawns.
case = "200 pty spawns: the daemon's fds back to baseline"


def daemon_fds():
    return len(os.listdir(f"/proc/{daemon.pid}/fd"))


def daemon_children():
    n = 0
    for t in os.listdir(f"/proc/{daemon.pid}/task"):
        try:
            with open(f"/proc/{daemon.pid}/task/{t}/children") as f:
                n += len(f.read().split())
        except FileNotFoundError:
            pass
    return n


def settled_daemon_fds():
    # The clients of the cases above have exited, but the daemon may not have
    # read their EOF or reaped their children yet: wait until it has no child
    # and its fd count has held still for 100 ms.
    prev, same = -1, 0
    for _ in range(500):
        n = daemon_fds()
        same = same + 1 if n == prev and daemon_children() == 0 else 0
        prev = n
        if same >= 10:
            break
        time.sleep(0.01)
    return prev


base = settled_daemon_fds()
bad = 0
for i in range(200):
    p = subprocess.run(spawnctl("/bin/true"), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=20)
    bad += p.returncode != 0
n = base
for _ in range(100):
    n = daemon_fds()
    if n == base:
        break
    time.sleep(0.05)
if bad:
    fail(case, f"{bad} of 200 spawns failed")
elif n != base:
    fail(case, f"daemon has {n} fds, baseline {base}")
else:
    ok(case)

daemon.terminate()
daemon.wait(timeout=30)
subprocess.run(["rm", "-rf", work])
print(f"{passed} passed, {failures} failed")
sys.exit(1 if failures else 0)
