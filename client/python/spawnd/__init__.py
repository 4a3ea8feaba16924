# SPDX-License-Identifier: MIT
"""Run programs through spawnd the way subprocess runs them.

    import spawnd
    p = spawnd.run(["id", "-un"], user="www-data", capture_output=True, text=True)
    print(p.stdout)

spawnd.Popen and spawnd.run take subprocess's parameter names and return its
types (subprocess.CompletedProcess, CalledProcessError, TimeoutExpired). The
program runs as a child of the spawnd daemon, not of the caller, as the
policy (/etc/spawnd.conf) allows. See docs/python.md for the differences
from subprocess. The protocol is spoken by libspawnd (C); this package
needs no protobuf runtime.
"""

import collections
import errno as _errno
import io
import os
import re
import select
import selectors
import signal as _signal
import subprocess
import threading
import time

from . import _spawnd

__all__ = [
    "Popen", "run", "PIPE", "DEVNULL", "STDOUT", "SpawnError", "SpawnFileNotFoundError",
    "SpawnPermissionError", "PolicyDenied", "ExitReport", "create_subprocess_exec",
    "CompletedProcess", "CalledProcessError", "TimeoutExpired", "SubprocessError",
]

PIPE = subprocess.PIPE
DEVNULL = subprocess.DEVNULL
STDOUT = subprocess.STDOUT
CompletedProcess = subprocess.CompletedProcess
CalledProcessError = subprocess.CalledProcessError
TimeoutExpired = subprocess.TimeoutExpired
SubprocessError = subprocess.SubprocessError

_ON_DISCONNECT = {
    "terminate": _spawnd.ON_DISCONNECT_TERMINATE,
    "keep": _spawnd.ON_DISCONNECT_KEEP,
    "hangup": _spawnd.ON_DISCONNECT_HANGUP,
}

#: The exit report of a child: exit code or signal and what it used.
ExitReport = collections.namedtuple(
    "ExitReport",
    "exit_code signal core_dumped timed_out user_cpu sys_cpu max_rss_kb wall_time")


class SpawnError(OSError):
    """spawnd refused the request, or the child failed before the program ran.

    Besides OSError's errno, strerror and filename: stage (the name of the
    step that failed: "policy", "prepare", "chdir", "exec", ...), stage_id
    (its number, spawnd_stage) and detail (the daemon's words: a path, a
    variable, a rule).
    """

    stage = None
    stage_id = 0
    detail = ""


class SpawnFileNotFoundError(SpawnError, FileNotFoundError):
    """ENOENT: the program (exec, resolve) or the cwd (chdir) does not exist."""


class SpawnPermissionError(SpawnError, PermissionError):
    """EACCES or EPERM: e.g. the program is not executable by the target."""


class PolicyDenied(SpawnPermissionError):
    """The policy refused the request; rule is "FILE:LINE" or None (no rule matched)."""

    rule = None


def _make_error(stage_id, stage, err, detail, filename):
    if stage_id == _spawnd.STAGE_POLICY:
        cls = PolicyDenied
    elif err == _errno.ENOENT:
        cls = SpawnFileNotFoundError
    elif err in (_errno.EACCES, _errno.EPERM):
        cls = SpawnPermissionError
    else:
        cls = SpawnError
    text = os.strerror(err) if err else "failed"
    if stage not in ("exec", "chdir", "resolve") or detail not in ("", os.fsdecode(filename)):
        text = f"{text} ({stage}: {detail})" if detail else f"{text} ({stage})"
    e = cls(err, text, filename) if filename is not None else cls(err, text)
    e.stage, e.stage_id, e.detail = stage, stage_id, detail
    if cls is PolicyDenied:
        # "... rule FILE:LINE" (a denial), "...; rule FILE:LINE does not
        # allow narrowing (narrowgroups)" (a narrowing without it).
        m = re.search(r"\brule (.+?:\d+)(?=$|[ ;])", detail)
        e.rule = m.group(1) if m else None
    return e


def _caller_umask():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_str(what, s):
    b = os.fsencode(s)
    if b"\0" in b:
        raise ValueError(f"embedded null byte in {what}")
    return b


def _find_program(prog, env, cwd):
    """The absolute path of prog, as subprocess/execvpe would find it."""
    b = _check_str("args", prog)
    if b"/" in b:
        return b if b.startswith(b"/") else os.path.join(os.fsencode(cwd), b)
    # As subprocess: env's PATH when env is given (os.defpath without one),
    # else the caller's.
    for d in os.get_exec_path(env):
        d = os.fsencode(d)
        if not d:
            d = b"."
        cand = os.path.join(d, b)
        if not cand.startswith(b"/"):
            cand = os.path.join(os.fsencode(cwd), cand)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise FileNotFoundError(_errno.ENOENT, os.strerror(_errno.ENOENT), prog)


def _env_list(env):
    out = []
    for k, v in env.items():
        kb, vb = _check_str("environment", k), _check_str("environment", v)
        if not kb or b"=" in kb:
            raise ValueError(f"illegal environment variable name: {k!r}")
        out.append(kb + b"=" + vb)
    return out


class Popen:
    """Start a program through spawnd; the interface of subprocess.Popen.

    args: a sequence (or, with shell=True, a string run by /bin/sh -c, which
    the policy must permit like any program). A bare program name is looked
    up on the caller's PATH (env["PATH"] when env is given) and sent as an
    absolute path, as is a relative one (from cwd); the policy judges that
    absolute path.
    executable: the program to run instead of args[0], found the same way;
    args[0] then reaches the program unchanged (its argv[0], as exec -a),
    and the policy judges executable, never args[0]. With shell=True it
    replaces /bin/sh.
    stdin, stdout, stderr: None (the caller's own fd 0/1/2 is passed on),
    PIPE, DEVNULL, STDOUT (stderr only), an fd or a file object.
    cwd: None is the caller's current directory (entered as the target
    user); a relative cwd is taken from the caller's directory.
    env: None sends the caller's os.environ; a mapping sends exactly that.
    Either way it goes as the *inherited* list: the daemon keeps only what
    the policy lets through (TERM, LANG, LC_*, TZ... or all but a denylist
    with keepenv) and sets HOME, USER, LOGNAME, SHELL and PATH itself.
    Nothing in env can make the request fail.
    pass_fds: fds given to the child under the same numbers. Nothing else
    of the caller reaches the child (close_fds is always true).
    user: None is the caller's own (effective) user; a name or a uid.
    group: the primary group; extra_groups: the supplementary groups (a
    list that leaves out any of the target's groups is refused unless the
    policy rule has narrowgroups; [] is no supplementary groups at all,
    refused likewise when the target has any besides its primary group).
    umask: -1 is the caller's umask (the daemon adds 022 for another user).
    spawnd's own: socket (the daemon's socket; default $SPAWND_SOCKET or
    /run/spawnd.sock), time_limit (seconds; the daemon terminates the child
    then, even when this process is gone), on_disconnect ("keep", the
    default, as subprocess's children outlive the script; "terminate";
    "hangup"), kill_grace (seconds between the SIGTERM and the SIGKILL
    whenever the daemon terminates the child: time limit, "terminate" on
    disconnect, daemon stop; 0 to 60, None for the daemon's default of 5).

    The caller is not the child's parent: os.waitpid() and SIGCHLD do not
    apply; wait()/poll() ask the daemon. pidfd is the child's pidfd (poll it
    for exit; signal through send_signal(), which goes through the daemon).
    exit_report (an ExitReport) is set once the child has been waited for.
    """

    def __init__(self, args, bufsize=-1, executable=None, stdin=None, stdout=None, stderr=None,
                 preexec_fn=None, close_fds=True, shell=False, cwd=None, env=None,
                 universal_newlines=None, startupinfo=None, creationflags=0,
                 restore_signals=True, start_new_session=False, pass_fds=(), *, user=None,
                 group=None, extra_groups=None, encoding=None, errors=None, text=None,
                 umask=-1, pipesize=-1, process_group=None, socket=None, time_limit=None,
                 on_disconnect="keep", kill_grace=None, _start_wait=None):
        self._client = None
        self._id = 0
        self._lock = threading.Lock()
        self._comm = None
        self.pid = None
        self.pidfd = None
        self.returncode = None
        self.exit_report = None
        self.stdin = self.stdout = self.stderr = None
        self.args = args
        self.encoding, self.errors = encoding, errors
        self.text_mode = bool(encoding or errors or text or universal_newlines)

        if preexec_fn is not None:
            raise ValueError("preexec_fn is not supported: the child is the daemon's")
        if not close_fds:
            raise ValueError("close_fds=False is not supported: use pass_fds")
        if startupinfo is not None or creationflags:
            raise ValueError("startupinfo and creationflags are Windows-only")
        if process_group not in (None, 0):
            raise ValueError("process_group is not supported (every child leads its own group)")
        if on_disconnect not in _ON_DISCONNECT:
            raise ValueError(f"on_disconnect must be one of {sorted(_ON_DISCONNECT)}")
        # restore_signals and start_new_session: the daemon's children
        # always start with default signals in a new session.

        if isinstance(args, (str, bytes, os.PathLike)):
            argv = [args]
        else:
            argv = list(args)
        if shell:
            if len(argv) != 1 and not isinstance(args, (str, bytes)):
                argv = ["/bin/sh", "-c"] + argv
            else:
                argv = ["/bin/sh", "-c", argv[0]]
            if executable is not None:
                argv[0] = executable  # as subprocess: the shell's argv[0] too
        if not argv:
            raise IndexError("args is empty")
        argv = [_check_str("args", os.fspath(a)) for a in argv]
        if executable is not None:
            executable = _check_str("executable", os.fspath(executable))

        here = os.getcwd()
        if cwd is None:
            cwd_b = os.fsencode(here)
        else:
            cwd_b = _check_str("cwd", os.fspath(cwd))
            if not cwd_b.startswith(b"/"):
                cwd_b = os.path.join(os.fsencode(here), cwd_b)
        self._cwd = cwd if cwd is not None else here
        if env is not None:
            inherited = _env_list(env)
        else:
            inherited = [k + b"=" + v for k, v in os.environb.items() if k and b"=" not in k]
        if user is None:
            user = os.geteuid()
        user = self._id_str("user", user)
        group = None if group is None else self._id_str("group", group)
        groups = None if extra_groups is None else [self._id_str("extra_groups", g)
                                                    for g in extra_groups]
        # [] is no supplementary groups at all (the wire's no_groups).
        no_groups = groups == []
        if no_groups:
            groups = None
        if umask == -1:
            umask = _caller_umask()
        elif not 0 <= umask <= 0o777:
            raise ValueError("umask must be 0..0o777")
        limit = None
        if time_limit is not None:
            limit = float(time_limit)
            if not limit > 0:
                raise ValueError("time_limit must be > 0 seconds")
        if kill_grace is not None:
            kill_grace = float(kill_grace)
            if not 0 <= kill_grace <= 60:
                raise ValueError("kill_grace must be 0 to 60 seconds")
        for fd in pass_fds:
            if not isinstance(fd, int) or not 3 <= fd <= 1023:
                raise ValueError(f"pass_fds: {fd!r} is not an fd number 3..1023")

        # A bad cwd is reported before a bad program name, as subprocess does.
        if cwd is not None and not os.path.isdir(cwd_b):
            raise FileNotFoundError(_errno.ENOENT, os.strerror(_errno.ENOENT), cwd)
        # The program: executable when given (args[0] then goes as it is),
        # else args[0], which is replaced by the absolute path found.
        prog = argv[0] if executable is None else executable
        found = _find_program(os.fsdecode(prog), env, os.fsdecode(cwd_b))
        if executable is None:
            argv[0] = found
        else:
            executable = found
        self._program = os.fsdecode(prog)

        to_close = []   # the child's ends, closed once the request is sent
        ours = []       # our ends, closed if the start fails
        try:
            fds = []
            child_out = None
            for n, spec in ((0, stdin), (1, stdout), (2, stderr)):
                if spec is None:
                    try:
                        os.fstat(n)
                        fds.append((n, n))
                    except OSError:
                        pass  # closed in the caller: /dev/null in the child
                elif spec == PIPE:
                    r, w = os.pipe2(os.O_CLOEXEC)
                    mine, theirs = (w, r) if n == 0 else (r, w)
                    to_close.append(theirs)
                    ours.append(mine)
                    fds.append((n, theirs))
                    self._wrap(n, mine, bufsize)
                elif spec == DEVNULL:
                    fd = os.open(os.devnull, (os.O_RDONLY if n == 0 else os.O_WRONLY)
                                 | os.O_CLOEXEC)
                    to_close.append(fd)
                    fds.append((n, fd))
                elif spec == STDOUT:
                    if n != 2:
                        raise ValueError("STDOUT is only for stderr")
                    if child_out is None:
                        raise ValueError("stderr=STDOUT with stdout=None: pass stdout explicitly")
                    fds.append((2, child_out))
                elif isinstance(spec, int):
                    if spec < 0:
                        raise ValueError(f"bad fd {spec}")
                    fds.append((n, spec))
                else:
                    fds.append((n, spec.fileno()))
                if n == 1 and fds and fds[-1][0] == 1:
                    child_out = fds[-1][1]
            fds.extend((fd, fd) for fd in pass_fds)

            self._client = _spawnd.Client(socket)
            res = self._client.start(
                argv, user=user, group=group, groups=groups, cwd=cwd_b, umask=umask, fds=fds,
                inherited=inherited, on_disconnect=_ON_DISCONNECT[on_disconnect],
                time_limit=limit, want_pidfd=True, timeout=_start_wait, executable=executable,
                no_groups=no_groups, kill_grace=kill_grace)
            if res[3] >= 0:
                self.pidfd = res[3]
            if res[0] == _spawnd.STATE_PENDING and _start_wait is not None:
                self._id = res[1]  # asyncio: the Started reply comes later
            elif res[0] != _spawnd.STATE_STARTED:
                state, _, _, _, stage_id, stage, err, detail = res[:8]
                if state == _spawnd.STATE_FAILED:
                    fname = self._cwd if stage_id == _spawnd.STAGE_CHDIR else self._program
                    raise _make_error(stage_id, stage, err, detail, fname)
                raise OSError(_errno.EIO, "spawnd gave no answer")
            else:
                self._id, self.pid = res[1], res[2]
        except BaseException:
            for f in (self.stdin, self.stdout, self.stderr):
                if f is not None:
                    f.close()
            self.stdin = self.stdout = self.stderr = None
            self._release()
            raise
        finally:
            for fd in to_close:
                os.close(fd)

    @staticmethod
    def _id_str(what, v):
        if isinstance(v, bool):
            raise TypeError(f"{what} must be a name or an id")
        if isinstance(v, int):
            if not 0 <= v <= 4294967294:
                raise OverflowError(f"{what} {v} is out of range")
            return str(v)
        if isinstance(v, (str, bytes)):
            b = _check_str(what, v)
            if not b:
                raise ValueError(f"{what} is empty")
            return os.fsdecode(b)
        raise TypeError(f"{what} must be a name or an id, not {type(v).__name__}")

    def _wrap(self, n, fd, bufsize):
        mode = "wb" if n == 0 else "rb"
        f = io.open(fd, mode, bufsize)
        if self.text_mode:
            f = io.TextIOWrapper(f, encoding=self.encoding, errors=self.errors,
                                 write_through=(n == 0), line_buffering=(bufsize == 1))
        if n == 0:
            self.stdin = f
        elif n == 1:
            self.stdout = f
        else:
            self.stderr = f

    def __repr__(self):
        return f"<{type(self).__name__}: returncode: {self.returncode} args: {self.args!r}>"

    # ---- waiting ----

    def _collect(self, res):
        (state, _, pid, pidfd, stage_id, stage, err, detail, code, sig, core, timed_out,
         ut, st, rss, wall) = res
        if pidfd >= 0:
            if self.pidfd is None:
                self.pidfd = pidfd
            else:
                os.close(pidfd)
        if state == _spawnd.STATE_EXITED:
            self.returncode = -sig if sig else code
            self.exit_report = ExitReport(code if not sig else None, sig, bool(core),
                                          bool(timed_out), ut / 1e6, st / 1e6, rss, wall / 1e6)
            self._close_client()
            return True
        if state == _spawnd.STATE_FAILED:
            self._close_client()
            fname = self._cwd if stage_id == _spawnd.STAGE_CHDIR else self._program
            raise _make_error(stage_id, stage, err, detail, fname)
        return False

    def _try_wait(self):
        """Process what has arrived; True once the exit is known. Never blocks."""
        if self.returncode is not None:
            return True
        with self._lock:
            if self.returncode is not None:
                return True
            return self._collect(self._client.wait_exit(self._id, 0))

    def poll(self):
        """The returncode if the child has exited, else None. Never blocks."""
        self._try_wait()
        return self.returncode

    def wait(self, timeout=None):
        """Wait for the exit; TimeoutExpired after timeout seconds (the child runs on)."""
        end = None if timeout is None else time.monotonic() + timeout
        while not self._try_wait():
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutExpired(self.args, timeout)
            client = self._client
            if client is None:
                continue
            try:
                fd = client.fileno()
            except ValueError:
                continue
            # Wait for the connection without the lock (select releases the GIL),
            # so that kill() from another thread is never blocked by this wait.
            select.select([fd], [], [], left)
        return self.returncode

    # ---- signals ----

    def send_signal(self, sig):
        """Send sig to the child through the daemon; a no-op once it has exited."""
        if self._try_wait():
            return
        with self._lock:
            if self.returncode is not None or self._client is None:
                return
            r = self._client.signal(self._id, int(sig), False, None)
        if r == -_errno.ESRCH or self._try_wait():
            return
        if r < 0:
            raise OSError(-r, os.strerror(-r))

    def terminate(self):
        self.send_signal(_signal.SIGTERM)

    def kill(self):
        self.send_signal(_signal.SIGKILL)

    # ---- communicate ----

    def communicate(self, input=None, timeout=None):
        """Send input, read stdout/stderr to EOF, wait; (stdout, stderr).

        All pipes are served at once with a selector, so a child that writes
        megabytes to both while it reads megabytes never deadlocks. On
        TimeoutExpired the child runs on and communicate() can be called
        again; nothing read so far is lost.
        """
        if self._comm is None:
            if input is not None and self.stdin is None:
                raise ValueError("input given but stdin is not PIPE")
            if self.text_mode and input is not None:
                input = input.encode(self.encoding or "utf-8", self.errors or "strict")
            if self.stdin is not None:
                try:
                    self.stdin.flush()
                except BrokenPipeError:
                    pass
            self._comm = {"in": memoryview(input or b""), "off": 0,
                          self.stdout: [], self.stderr: [], "started": False}
        st = self._comm
        end = None if timeout is None else time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            if self.stdin is not None and not self.stdin.closed:
                if st["off"] < len(st["in"]):
                    sel.register(self.stdin, selectors.EVENT_WRITE)
                else:
                    self._close_stdin()
            for f in (self.stdout, self.stderr):
                if f is not None and not f.closed:
                    sel.register(f, selectors.EVENT_READ)
            while sel.get_map():
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutExpired(self.args, timeout, *self._partial())
                for key, _ in sel.select(left):
                    f = key.fileobj
                    if f is self.stdin:
                        chunk = st["in"][st["off"]:st["off"] + select.PIPE_BUF]
                        try:
                            st["off"] += os.write(key.fd, chunk)
                        except BrokenPipeError:
                            st["off"] = len(st["in"])
                        if st["off"] >= len(st["in"]):
                            sel.unregister(f)
                            self._close_stdin()
                    else:
                        data = os.read(key.fd, 65536)
                        if data:
                            st[f].append(data)
                        else:
                            sel.unregister(f)
                            f.close()
        left = None if end is None else max(0, end - time.monotonic())
        try:
            self.wait(left)
        except TimeoutExpired:
            raise TimeoutExpired(self.args, timeout, *self._partial())
        out = self._result(self.stdout)
        err = self._result(self.stderr)
        return out, err

    def _close_stdin(self):
        try:
            self.stdin.close()
        except BrokenPipeError:
            pass

    def _partial(self):
        st = self._comm
        return (b"".join(st[self.stdout]) if self.stdout is not None else None,
                b"".join(st[self.stderr]) if self.stderr is not None else None)

    def _result(self, f):
        if f is None:
            return None
        data = b"".join(self._comm[f])
        if self.text_mode:
            data = data.decode(self.encoding or "utf-8", self.errors or "strict")
            data = data.replace("\r\n", "\n").replace("\r", "\n")
        return data

    # ---- cleanup ----

    def _close_client(self):
        c, self._client = self._client, None
        if c is not None:
            c.close()

    def _release(self):
        self._close_client()
        fd, self.pidfd = self.pidfd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, value, traceback):
        try:
            for f in (self.stdout, self.stderr):
                if f is not None:
                    f.close()
            if self.stdin is not None:
                self._close_stdin()
            if self._client is not None:
                self.wait()
        finally:
            self._release()

    def __del__(self):
        # The connection and the pidfd; the child runs on (on_disconnect).
        try:
            self._release()
        except Exception:
            pass


def run(*popenargs, input=None, capture_output=False, timeout=None, check=False, **kwargs):
    """subprocess.run() through spawnd: a subprocess.CompletedProcess.

    On timeout the child is killed (through the daemon) and waited for
    before TimeoutExpired is raised; with check, a non-zero exit raises
    CalledProcessError.
    """
    if input is not None:
        if kwargs.get("stdin") is not None:
            raise ValueError("stdin and input arguments may not both be used.")
        kwargs["stdin"] = PIPE
    if capture_output:
        if kwargs.get("stdout") is not None or kwargs.get("stderr") is not None:
            raise ValueError("stdout and stderr arguments may not be used with capture_output.")
        kwargs["stdout"] = PIPE
        kwargs["stderr"] = PIPE
    with Popen(*popenargs, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except TimeoutExpired as exc:
            process.kill()
            process.wait()
            raise exc
        except BaseException:
            process.kill()
            raise
        retcode = process.poll()
        if check and retcode:
            raise CalledProcessError(retcode, process.args, output=stdout, stderr=stderr)
    return CompletedProcess(process.args, retcode, stdout, stderr)


from ._asyncio import create_subprocess_exec  # noqa: E402
