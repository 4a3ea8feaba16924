# SPDX-License-Identifier: MIT
"""unittest suite of the spawnd Python package against a real daemon.

run.py starts the daemon and runs this suite as root and as nobody; the
daemon's socket comes in $SPAWND_SOCKET (libspawnd reads it), the policy is

    permit root
    deny root as www-data
    permit nobody as nobody
    permit narrowgroups root as daemon
    deny root as nobody cmd /bin/false

with nobody and daemon in one more group, $SPAWND_TEST_EXTRA_GID (a
private /etc/group).
"""
import asyncio
import errno
import gc
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import spawnd

ME = os.geteuid()
ROOT = ME == 0
# A target that the policy refuses to this caller, and the rule that says so.
DENIED = "www-data" if ROOT else "root"
DENIED_RULE = os.environ.get("SPAWND_TEST_DENY_RULE") if ROOT else None
FALSE_RULE = os.environ.get("SPAWND_TEST_FALSE_RULE")
EXTRA_GID = os.environ.get("SPAWND_TEST_EXTRA_GID")


def fd_count():
    return len(os.listdir("/proc/self/fd"))


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone_soon(pid, seconds=10):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return False


class Parameters(unittest.TestCase):
    def test_user_default_is_caller(self):
        p = spawnd.run(["id", "-u"], capture_output=True, text=True, check=True)
        self.assertEqual(p.stdout, f"{ME}\n")
        self.assertEqual(p.args, ["id", "-u"])
        self.assertIsInstance(p, subprocess.CompletedProcess)

    @unittest.skipUnless(ROOT, "only root may act as another user here")
    def test_user_and_group(self):
        p = spawnd.run(["id"], user="nobody", capture_output=True, text=True)
        self.assertIn("uid=65534(nobody)", p.stdout)
        p = spawnd.run(["id", "-g"], user=0, group="root", extra_groups=["root"],
                       capture_output=True, text=True)
        self.assertEqual(p.stdout, "0\n")

    def test_cwd_default_is_callers_and_relative(self):
        with tempfile.TemporaryDirectory(dir="/tmp") as d:
            os.chmod(d, 0o755)
            os.mkdir(os.path.join(d, "sub"))
            old = os.getcwd()
            os.chdir(d)
            try:
                self.assertEqual(spawnd.run(["pwd"], capture_output=True).stdout,
                                 d.encode() + b"\n")
                self.assertEqual(spawnd.run(["pwd"], cwd="sub", capture_output=True).stdout,
                                 d.encode() + b"/sub\n")
                # A relative program is taken from cwd, as execv after chdir.
                with open("sub/prog", "w") as f:
                    f.write("#!/bin/sh\necho prog\n")
                os.chmod("sub/prog", 0o755)
                self.assertEqual(spawnd.run(["./prog"], cwd="sub", capture_output=True,
                                            text=True).stdout, "prog\n")
            finally:
                os.chdir(old)

    def test_env_goes_as_inherited_list(self):
        env = {"LANG": "C.UTF-8", "FOO": "1", "PATH": "/nowhere", "HOME": "/x",
               "LD_PRELOAD": "/tmp/evil.so"}
        p = spawnd.run(["/usr/bin/env"], env=env, capture_output=True, text=True, check=True)
        lines = p.stdout.splitlines()
        self.assertIn("LANG=C.UTF-8", lines)
        self.assertNotIn("FOO=1", lines)  # filtered silently, no refusal
        self.assertFalse(any(v.startswith("LD_PRELOAD=") for v in lines))
        self.assertIn("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", lines)
        self.assertTrue(any(v.startswith("SPAWND_UID=") for v in lines))
        # env=None: the caller's own environment, filtered the same way.
        os.environ["TZ"] = "UTC"
        try:
            p = spawnd.run(["/usr/bin/env"], capture_output=True, text=True)
        finally:
            del os.environ["TZ"]
        self.assertIn("TZ=UTC", p.stdout.splitlines())

    def test_bare_name_found_on_callers_path(self):
        with tempfile.TemporaryDirectory(dir="/tmp") as d:
            os.chmod(d, 0o755)
            prog = os.path.join(d, "only-here")
            with open(prog, "w") as f:
                f.write("#!/bin/sh\necho \"$0\"\n")
            os.chmod(prog, 0o755)
            p = spawnd.run(["only-here"], env={"PATH": d}, capture_output=True, text=True)
            self.assertEqual(p.stdout, prog + "\n")  # sent absolute
            with self.assertRaises(FileNotFoundError) as cm:
                spawnd.run(["only-here"])
            self.assertEqual(cm.exception.filename, "only-here")

    def test_umask(self):
        p = spawnd.run(["sh", "-c", "umask"], umask=0o027, capture_output=True, text=True)
        self.assertEqual(p.stdout.strip(), "0027")
        old = os.umask(0o077)
        try:
            p = spawnd.run(["sh", "-c", "umask"], capture_output=True, text=True)
        finally:
            os.umask(old)
        self.assertEqual(p.stdout.strip(), "0077")

    def test_stdio_none_inherits_callers_fds(self):
        with tempfile.TemporaryFile() as f:
            saved = os.dup(1)
            os.dup2(f.fileno(), 1)
            try:
                spawnd.run(["echo", "to-my-stdout"], check=True)
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            f.seek(0)
            self.assertEqual(f.read(), b"to-my-stdout\n")

    def test_stdio_devnull_fd_file_stdout(self):
        with tempfile.TemporaryFile() as f:
            spawnd.run(["sh", "-c", "echo out; echo err >&2"], stdout=f, stderr=spawnd.STDOUT)
            f.seek(0)
            self.assertEqual(sorted(f.read().split()), [b"err", b"out"])
        with tempfile.TemporaryFile() as f:
            spawnd.run(["sh", "-c", "echo fd"], stdout=f.fileno())
            f.seek(0)
            self.assertEqual(f.read(), b"fd\n")
        p = spawnd.run(["cat"], stdin=spawnd.DEVNULL, stdout=spawnd.PIPE)
        self.assertEqual(p.stdout, b"")
        p = spawnd.run(["sh", "-c", "echo x"], stdout=spawnd.DEVNULL)
        self.assertIsNone(p.stdout)

    def test_pass_fds(self):
        r, w = os.pipe()
        try:
            spawnd.run(["sh", "-c", f"echo through >&{w}"], pass_fds=[w], check=True)
            os.close(w)
            w = -1
            self.assertIn(b"through\n", os.read(r, 100))
            # An fd not passed does not reach the child.
            r2, w2 = os.pipe()
            p = spawnd.run(["sh", "-c", f"echo x >&{w2}"], stderr=spawnd.DEVNULL)
            self.assertNotEqual(p.returncode, 0)
            os.close(r2)
            os.close(w2)
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)

    def test_invalid_arguments_before_asking(self):
        with self.assertRaises(ValueError):
            spawnd.Popen(["echo", "a\0b"])
        with self.assertRaises(ValueError):
            spawnd.Popen(["true"], env={"A=B": "1"})
        with self.assertRaises(OverflowError):
            spawnd.Popen(["true"], user=4294967295)
        with self.assertRaises(ValueError):
            spawnd.Popen(["true"], preexec_fn=lambda: None)
        with self.assertRaises(ValueError):
            spawnd.Popen(["true"], close_fds=False)
        # A bad cwd is reported before a bad program name.
        with self.assertRaises(FileNotFoundError) as cm:
            spawnd.Popen(["no-such-program-xyz"], cwd="/no/such/dir")
        self.assertEqual(cm.exception.filename, "/no/such/dir")

    def test_shell_and_bytes_args(self):
        p = spawnd.run("echo $((6 * 7))", shell=True, capture_output=True)
        self.assertEqual(p.stdout, b"42\n")
        self.assertEqual(p.args, "echo $((6 * 7))")
        p = spawnd.run([b"echo", b"bytes"], capture_output=True)
        self.assertEqual(p.stdout, b"bytes\n")
        # env without PATH: os.defpath, as subprocess.
        self.assertEqual(spawnd.run(["true"], env={}).returncode, 0)

    def test_gil_released_while_waiting(self):
        ticks = []
        p = spawnd.Popen(["sleep", "1"])
        t = threading.Thread(target=lambda: ticks.append(p.wait()))
        t.start()
        n = 0
        while t.is_alive():
            n += 1  # this thread runs while the other waits
            time.sleep(0.001)
        t.join()
        self.assertEqual(ticks, [0])
        self.assertGreater(n, 10)

    def test_check_and_text(self):
        with self.assertRaises(subprocess.CalledProcessError) as cm:
            spawnd.run(["sh", "-c", "echo o; exit 3"], check=True, capture_output=True,
                       encoding="utf-8")
        self.assertEqual(cm.exception.returncode, 3)
        self.assertEqual(cm.exception.stdout, "o\n")
        p = spawnd.run(["cat"], input="h\u00e9\r\n", text=True, capture_output=True)
        self.assertEqual(p.stdout, "h\u00e9\n")


class Executable(unittest.TestCase):
    def test_args0_goes_to_the_program(self):
        p = spawnd.run(["my-argv0", "-c", 'echo "$0"'], executable="/bin/sh",
                       capture_output=True, text=True, check=True)
        self.assertEqual(p.stdout, "my-argv0\n")
        self.assertEqual(p.args, ["my-argv0", "-c", 'echo "$0"'])
        # A bare executable is found on PATH as a bare args[0] is.
        p = spawnd.run(["other", "-c", 'echo "$0"'], executable="sh", capture_output=True,
                       text=True, check=True)
        self.assertEqual(p.stdout, "other\n")
        # With shell=True it replaces the shell, argv[0] included, as subprocess.
        want = subprocess.run("echo $0", shell=True, executable="/bin/bash",
                              capture_output=True).stdout
        self.assertEqual(spawnd.run("echo $0", shell=True, executable="/bin/bash",
                                    capture_output=True).stdout, want)

    def test_errors_name_the_executable(self):
        with self.assertRaises(FileNotFoundError) as cm:
            spawnd.run(["sh"], executable="no-such-program-xyz")
        self.assertEqual(cm.exception.filename, "no-such-program-xyz")
        with self.assertRaises(FileNotFoundError) as cm:
            spawnd.run(["sh"], executable="/no/such/program")
        self.assertEqual(cm.exception.filename, "/no/such/program")
        with self.assertRaises(ValueError):
            spawnd.Popen(["sh"], executable="/bin/s\0h")

    @unittest.skipUnless(ROOT and FALSE_RULE, "the policy's cmd rule is root's")
    def test_policy_judges_the_executable(self):
        # deny root as nobody cmd /bin/false: args[0] cannot dodge it ...
        with self.assertRaises(spawnd.PolicyDenied) as cm:
            spawnd.run(["/bin/true"], executable="/bin/false", user="nobody")
        self.assertEqual(cm.exception.rule, FALSE_RULE)
        # ... nor trigger it for another program.
        self.assertEqual(spawnd.run(["/bin/false"], executable="/bin/true",
                                    user="nobody").returncode, 0)


def groups_line(stdout):
    """The gids of a "Groups:" line of /proc/PID/status, as a set of str."""
    return set(stdout.split(":", 1)[1].split())


GROUPS = ["grep", "^Groups:", "/proc/self/status"]


@unittest.skipUnless(EXTRA_GID, "needs run.py's private /etc/group")
class NoGroups(unittest.TestCase):
    @unittest.skipUnless(ROOT, "only root may act as daemon here")
    def test_empty_extra_groups_is_none(self):
        p = spawnd.run(GROUPS, user="daemon", capture_output=True, text=True, check=True)
        self.assertIn(EXTRA_GID, groups_line(p.stdout))
        # The rule has narrowgroups: no supplementary groups at all.
        p = spawnd.run(GROUPS, user="daemon", extra_groups=[], capture_output=True,
                       text=True, check=True)
        self.assertEqual(groups_line(p.stdout), set())
        p = spawnd.run(["id", "-g"], user="daemon", extra_groups=[], capture_output=True,
                       text=True, check=True)
        self.assertEqual(p.stdout, "1\n")  # the primary group stays

    def test_refused_without_narrowgroups(self):
        # nobody has the extra group; the deciding rule has no narrowgroups.
        with self.assertRaises(PermissionError) as cm:
            spawnd.run(["true"], user="nobody", extra_groups=[])
        self.assertEqual(cm.exception.errno, errno.EPERM)
        self.assertIn("narrowgroups", str(cm.exception))
        self.assertIsInstance(cm.exception, spawnd.PolicyDenied)
        self.assertRegex(cm.exception.rule, ":1$" if ROOT else ":3$")


class KillGrace(unittest.TestCase):
    # SIGTERM at the time limit; the trap needs a moment before it exits 7.
    SCRIPT = "trap 'sleep 0.3; exit 7' TERM; echo ready; while :; do sleep 0.05; done"

    def run_with_grace(self, grace):
        with spawnd.Popen(["sh", "-c", self.SCRIPT], stdout=spawnd.PIPE, time_limit=2,
                          kill_grace=grace) as p:
            self.assertEqual(p.stdout.readline(), b"ready\n")
            p.wait(60)
            self.assertTrue(p.exit_report.timed_out)
            return p.returncode

    def test_grace_lets_the_trap_finish(self):
        self.assertEqual(self.run_with_grace(30), 7)

    def test_zero_grace_kills_at_once(self):
        self.assertEqual(self.run_with_grace(0), -signal.SIGKILL)

    def test_invalid(self):
        for bad in (-1, 61, float("nan")):
            with self.assertRaises(ValueError):
                spawnd.Popen(["true"], kill_grace=bad)


class Pipes(unittest.TestCase):
    def test_megabytes_both_ways(self):
        data = os.urandom(8 << 20)
        p = spawnd.Popen(["sh", "-c", "head -c 3000000 /dev/zero >&2; cat"],
                         stdin=spawnd.PIPE, stdout=spawnd.PIPE, stderr=spawnd.PIPE)
        out, err = p.communicate(data, timeout=120)
        self.assertEqual(out, data)
        self.assertEqual(err, b"\0" * 3000000)
        self.assertEqual(p.returncode, 0)

    def test_popen_streams(self):
        with spawnd.Popen(["cat"], stdin=spawnd.PIPE, stdout=spawnd.PIPE, text=True) as p:
            p.stdin.write("line\n")
            p.stdin.flush()
            self.assertEqual(p.stdout.readline(), "line\n")
            p.stdin.close()
            self.assertEqual(p.stdout.read(), "")
        self.assertEqual(p.returncode, 0)


class Timeouts(unittest.TestCase):
    def test_wait_timeout_then_kill(self):
        p = spawnd.Popen(["sleep", "100"])
        with self.assertRaises(subprocess.TimeoutExpired):
            p.wait(timeout=0.2)
        self.assertTrue(alive(p.pid))
        self.assertIsNone(p.poll())
        p.kill()
        self.assertEqual(p.wait(timeout=30), -signal.SIGKILL)
        self.assertFalse(alive(p.pid))

    def test_communicate_timeout_keeps_output(self):
        p = spawnd.Popen(["sh", "-c", "echo early; exec sleep 100"], stdout=spawnd.PIPE)
        with self.assertRaises(subprocess.TimeoutExpired):
            p.communicate(timeout=1)
        p.kill()
        out, _ = p.communicate()
        self.assertEqual(out, b"early\n")
        self.assertFalse(alive(p.pid))

    def test_run_timeout_leaves_no_child(self):
        with tempfile.NamedTemporaryFile(dir="/tmp") as f:
            os.chmod(f.name, 0o666)
            with self.assertRaises(subprocess.TimeoutExpired):
                spawnd.run(["sh", "-c", f"echo $$ > {f.name}; exec sleep 100"], timeout=1)
            with open(f.name) as g:
                pid = int(g.read())
        self.assertFalse(alive(pid))

    def test_time_limit(self):
        p = spawnd.run(["sleep", "100"], time_limit=0.3)
        self.assertEqual(p.returncode, -signal.SIGTERM)


class Signals(unittest.TestCase):
    def test_signals(self):
        for send, sig in ((lambda p: p.send_signal(signal.SIGUSR1), signal.SIGUSR1),
                          (lambda p: p.terminate(), signal.SIGTERM),
                          (lambda p: p.kill(), signal.SIGKILL)):
            p = spawnd.Popen(["sleep", "100"])
            send(p)
            self.assertEqual(p.wait(timeout=30), -sig)
            send(p)  # a child that already exited: a no-op
        self.assertEqual(p.exit_report.signal, signal.SIGKILL)

    def test_kill_while_waiting_in_another_thread(self):
        p = spawnd.Popen(["sleep", "100"])
        t = threading.Thread(target=p.wait)
        t.start()
        time.sleep(0.2)
        p.kill()  # not blocked by the wait
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual(p.returncode, -signal.SIGKILL)

    def test_pid_pidfd_exit_report(self):
        p = spawnd.Popen(["sh", "-c", "exit 7"])
        self.assertGreater(p.pid, 1)
        self.assertIsNotNone(p.pidfd)
        r, _, _ = select.select([p.pidfd], [], [], 30)
        self.assertEqual(r, [p.pidfd])  # readable: the child exited
        self.assertEqual(p.wait(), 7)
        rep = p.exit_report
        self.assertEqual((rep.exit_code, rep.signal, rep.timed_out), (7, 0, False))
        self.assertGreater(rep.max_rss_kb, 0)
        self.assertGreater(rep.wall_time, 0)


class Errors(unittest.TestCase):
    def test_policy_denied(self):
        with self.assertRaises(spawnd.PolicyDenied) as cm:
            spawnd.run(["true"], user=DENIED)
        e = cm.exception
        self.assertIsInstance(e, PermissionError)
        self.assertIsInstance(e, spawnd.SpawnError)
        self.assertEqual((e.errno, e.stage), (errno.EPERM, "policy"))
        self.assertEqual(e.rule, DENIED_RULE)
        self.assertIn("/usr/bin/true", e.detail)

    def test_unknown_user(self):
        with self.assertRaises(spawnd.SpawnError) as cm:
            spawnd.run(["true"], user="no-such-user-xyz")
        self.assertEqual(cm.exception.stage, "prepare")
        self.assertIn("no-such-user-xyz", cm.exception.detail)

    def test_exec_enoent_eacces(self):
        with self.assertRaises(FileNotFoundError) as cm:
            spawnd.run(["/no/such/program"])
        e = cm.exception
        self.assertIsInstance(e, spawnd.SpawnError)
        self.assertEqual((e.errno, e.stage, e.filename), (errno.ENOENT, "exec", "/no/such/program"))
        with tempfile.NamedTemporaryFile(dir="/tmp") as f:
            os.chmod(f.name, 0o644)
            with self.assertRaises(PermissionError) as cm:
                spawnd.run([f.name])
        self.assertEqual((cm.exception.errno, cm.exception.stage), (errno.EACCES, "exec"))
        self.assertEqual(cm.exception.strerror, os.strerror(errno.EACCES))

    def test_chdir_failure(self):
        with tempfile.TemporaryDirectory(dir="/tmp") as d:
            os.chmod(d, 0o755)
            shut = os.path.join(d, "shut")
            os.mkdir(shut)
            os.chmod(shut, 0)  # there for the caller's check, closed to the target
            with self.assertRaises(PermissionError) as cm:
                spawnd.run(["true"], cwd=shut, user="nobody" if ROOT else None)
            e = cm.exception
            self.assertIsInstance(e, spawnd.SpawnError)
            self.assertEqual((e.errno, e.stage, e.filename), (errno.EACCES, "chdir", shut))
            # A cwd that does not exist: FileNotFoundError naming it, before the program.
            with self.assertRaises(FileNotFoundError) as cm:
                spawnd.run(["no-such-program-xyz"], cwd=os.path.join(d, "gone"))
            self.assertEqual(cm.exception.filename, os.path.join(d, "gone"))

    def test_no_daemon(self):
        with self.assertRaises(FileNotFoundError):
            spawnd.run(["true"], socket="/nonexistent/spawnd.sock")


class Cleanup(unittest.TestCase):
    def test_context_manager_and_gc_restore_fd_count(self):
        gc.collect()
        base = fd_count()
        with spawnd.Popen(["cat"], stdin=spawnd.PIPE, stdout=spawnd.PIPE,
                          stderr=spawnd.PIPE) as p:
            p.stdin.write(b"x")
            self.assertGreater(fd_count(), base)
        self.assertEqual(fd_count(), base)
        p = spawnd.Popen(["sh", "-c", "exit 0"], stdout=spawnd.PIPE, stderr=spawnd.PIPE)
        p.wait()
        del p
        gc.collect()
        self.assertEqual(fd_count(), base)
        p = spawnd.Popen(["true"], stdin=spawnd.PIPE)  # never waited for
        del p
        gc.collect()
        self.assertEqual(fd_count(), base)
        for _ in range(3):  # failures leak nothing either
            with self.assertRaises(OSError):
                spawnd.Popen(["/no/such/program"], stdout=spawnd.PIPE, stdin=spawnd.PIPE)
        gc.collect()
        self.assertEqual(fd_count(), base)

    def test_child_outlives_script_by_default(self):
        # The child's stdout is not the capture pipe, or run() waits for its EOF.
        code = ("import spawnd; p = spawnd.Popen(['sleep', '100'], stdout=spawnd.DEVNULL, "
                "stderr=spawnd.DEVNULL); "
                "print(p.pid)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        pid = int(out)
        time.sleep(0.3)
        self.assertTrue(alive(pid))  # on_disconnect=keep
        os.kill(pid, signal.SIGKILL)
        code = ("import spawnd; p = spawnd.Popen(['sleep', '100'], stdout=spawnd.DEVNULL, "
                "stderr=spawnd.DEVNULL, "
                "on_disconnect='terminate'); print(p.pid)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        self.assertTrue(gone_soon(int(out)))

    def test_no_fd_leaks_into_children(self):
        r, w = os.pipe()  # inheritable? never: only pass_fds reach the child
        os.set_inheritable(w, True)
        try:
            p = spawnd.run(["sh", "-c", "ls /proc/self/fd"], capture_output=True, text=True)
            self.assertEqual(sorted(p.stdout.split()), ["0", "1", "2", "3"])  # 3: ls's dir
        finally:
            os.close(r)
            os.close(w)

    def test_import_needs_no_protobuf(self):
        code = ("import sys\n"
                "class Block:\n"
                "    def find_spec(self, name, path=None, target=None):\n"
                "        if name.split('.')[0] in ('google', 'protobuf'):\n"
                "            raise ImportError('blocked ' + name)\n"
                "sys.meta_path.insert(0, Block())\n"
                "import spawnd\n"
                "assert spawnd.run(['true']).returncode == 0\n"
                "assert not [m for m in sys.modules if 'protobuf' in m or m == 'google']\n"
                "print('ok')\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual(out.stdout, "ok\n", out.stderr)


@unittest.skipUnless(hasattr(spawnd, "create_subprocess_exec"), "no asyncio support")
class Asyncio(unittest.TestCase):
    def test_concurrent_processes(self):
        async def one(i):
            p = await spawnd.create_subprocess_exec(
                "sh", "-c", f"sleep 0.{i}; cat; echo {i} >&2",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            self.assertGreater(p.pid, 1)
            out, err = await p.communicate(b"in%d" % i)
            return p.returncode, out, err

        async def main():
            return await asyncio.gather(*(one(i) for i in range(5)))

        res = asyncio.run(main())
        for i, (rc, out, err) in enumerate(res):
            self.assertEqual((rc, out, err), (0, b"in%d" % i, b"%d\n" % i))

    def test_errors(self):
        async def main(**kw):
            return await spawnd.create_subprocess_exec("/no/such/program", **kw)

        with self.assertRaises(FileNotFoundError) as cm:
            asyncio.run(main())
        self.assertEqual((cm.exception.stage, cm.exception.filename), ("exec", "/no/such/program"))
        with self.assertRaises(spawnd.PolicyDenied):
            asyncio.run(main(user=DENIED))

    def test_wait_and_kill(self):
        async def main():
            p = await spawnd.create_subprocess_exec("sleep", "100")
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(p.wait(), 0.2)
            p.kill()
            return await p.wait()

        self.assertEqual(asyncio.run(main()), -signal.SIGKILL)


if __name__ == "__main__":
    unittest.main()
