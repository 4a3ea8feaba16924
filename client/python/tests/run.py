#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The spawnd Python package's tests (test_spawnd.py) against the real
# daemon: spawnd on its own socket with a temporary root-owned policy, the
# suite run once as root and once as nobody (setresuid in the child, the
# way setpriv does), each in its own interpreter.
#
#   run.py SPAWND PYTHONPATH [PRELOAD]
#
# PRELOAD: in a sanitized build, the sanitizer runtime that the interpreter
# must load first (LD_PRELOAD) to import the instrumented extension; leak
# detection is off in the interpreter (CPython keeps objects at exit), the
# daemon runs with the caller's ASAN_OPTIONS. "unavailable": skipped.
# Exit 0 when both runs passed, 1 otherwise, 77 (skipped) when not root or
# when the sanitizer runtime could not be found.
#
# nobody and daemon get one more group (for extra_groups=[]), in a private
# copy of /etc/group bind-mounted in a mount namespace of this script's own
# (unshare), so the real account files and other tests never see it.
import grp
import os
import shutil
import subprocess
import sys
import tempfile
import time

if len(sys.argv) not in (3, 4):
    print("usage: run.py SPAWND PYTHONPATH [PRELOAD]", file=sys.stderr)
    sys.exit(2)
PRELOAD = sys.argv[3] if len(sys.argv) == 4 else ""
if PRELOAD == "unavailable":
    print("skipped: sanitized build and no sanitizer runtime to preload into python3; "
          "the gcc build runs this test")
    sys.exit(77)
if os.geteuid() != 0:
    print("skipped: run.py starts the daemon and switches users, and needs root")
    sys.exit(77)
if not os.environ.get("SPAWND_PY_NS"):
    os.environ["SPAWND_PY_NS"] = "1"
    os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", sys.executable,
                          os.path.abspath(__file__), *sys.argv[1:]])
SPAWND, PYPATH = sys.argv[1:3]
HERE = os.path.dirname(os.path.abspath(__file__))
NOBODY = 65534

work = tempfile.mkdtemp(prefix="spawnd-py.")
os.chmod(work, 0o755)
sock = os.path.join(work, "sock")
conf = os.path.join(work, "spawnd.conf")
with open(conf, "w") as f:
    f.write("permit root\ndeny root as www-data\npermit nobody as nobody\n"
            "permit narrowgroups root as daemon\ndeny root as nobody cmd /bin/false\n")
os.chmod(conf, 0o644)


def gid_unused(gid):
    try:
        grp.getgrgid(gid)
        return False
    except KeyError:
        return True


extra_gid = next(g for g in range(4242500, 4242600) if gid_unused(g))
groupfile = os.path.join(work, "group")
with open("/etc/group") as src, open(groupfile, "w") as f:
    f.write(src.read())
    f.write(f"spawnd-py-extra:x:{extra_gid}:nobody,daemon\n")
os.chmod(groupfile, 0o644)
subprocess.run(["mount", "--bind", groupfile, "/etc/group"], check=True)

log = open(os.path.join(work, "log"), "w")
daemon = subprocess.Popen([SPAWND, "-s", sock, "-c", conf], stdin=subprocess.DEVNULL,
                          stderr=log)
for _ in range(400):
    if os.path.exists(sock):
        break
    time.sleep(0.05)
os.chmod(sock, 0o666)

env = dict(os.environ, SPAWND_SOCKET=sock, PYTHONPATH=PYPATH,
           SPAWND_TEST_DENY_RULE=f"{conf}:2", SPAWND_TEST_FALSE_RULE=f"{conf}:5",
           SPAWND_TEST_EXTRA_GID=str(extra_gid), LANG="C.UTF-8")
env.pop("PYTHONHOME", None)
if PRELOAD:
    env["LD_PRELOAD"] = PRELOAD
    env["ASAN_OPTIONS"] = "detect_leaks=0"
    print(f"sanitized build: the interpreter runs with LD_PRELOAD={PRELOAD}", flush=True)


def as_nobody():
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


failed = 0
try:
    for who, pre in (("root", None), ("nobody", as_nobody)):
        print(f"==== the suite as {who} ====", flush=True)
        r = subprocess.run([sys.executable, "-m", "unittest", "-v", "test_spawnd"], cwd=HERE,
                           env=env, preexec_fn=pre, timeout=600)
        if r.returncode != 0:
            print(f"FAIL: the suite as {who} (exit {r.returncode})", flush=True)
            failed += 1
finally:
    daemon.terminate()
    daemon.wait(30)
    log.close()
    if failed:
        sys.stdout.write(open(os.path.join(work, "log")).read()[-4000:])
    shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if failed else 0)
