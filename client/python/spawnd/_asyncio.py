# SPDX-License-Identifier: MIT
"""asyncio front end: spawnd.create_subprocess_exec().

The spawn's connection is watched with loop.add_reader() in the running
loop: no thread. The request is sent without waiting; the daemon's Started
and Exited replies are processed as they arrive (libspawnd polled with a
zero wait). The pipes are asyncio streams (loop.connect_read_pipe /
connect_write_pipe), as in asyncio.subprocess.
"""

import asyncio
import select

from . import _spawnd

PIPE = asyncio.subprocess.PIPE


class Process:
    """The asyncio.subprocess.Process interface for a child of spawnd."""

    def __init__(self, popen, loop):
        self._popen = popen
        self._loop = loop
        self._started = loop.create_future()
        self._exited = loop.create_future()
        self._fd = None
        self.stdin = self.stdout = self.stderr = None

    def __repr__(self):
        return f"<{type(self).__name__} {self.pid}>"

    @property
    def pid(self):
        return self._popen.pid

    @property
    def returncode(self):
        return self._popen.returncode

    @property
    def exit_report(self):
        return self._popen.exit_report

    @property
    def pidfd(self):
        return self._popen.pidfd

    def _watch(self):
        c = self._popen._client
        self._fd = c.fileno()
        self._loop.add_reader(self._fd, self._step)
        if c.events() & select.POLLOUT:
            self._loop.add_writer(self._fd, self._step)
        self._step()

    def _unwatch(self):
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
            self._fd = None

    def _step(self):
        """The connection is ready: process what has arrived, never blocking."""
        p = self._popen
        if self._exited.done():
            return
        c = p._client
        try:
            with p._lock:
                res = c.wait_exit(p._id, 0) if c is not None else None
            if res is None:
                done = p.returncode is not None
            else:
                if res[0] in (_spawnd.STATE_EXITED, _spawnd.STATE_FAILED):
                    self._unwatch()
                if p.pid is None and res[0] in (_spawnd.STATE_STARTED, _spawnd.STATE_EXITED):
                    p.pid = res[2]
                done = p._collect(res)
        except OSError as e:
            self._unwatch()
            for f in (self._started, self._exited):
                if not f.done():
                    f.set_exception(e)
            return
        if p.pid is not None and not self._started.done():
            self._started.set_result(None)
        if done:
            self._unwatch()
            if not self._started.done():
                self._started.set_result(None)
            self._exited.set_result(p.returncode)
        elif self._fd is not None and c is not None:
            if c.events() & select.POLLOUT:
                self._loop.add_writer(self._fd, self._step)
            else:
                self._loop.remove_writer(self._fd)

    async def wait(self):
        """Wait for the exit; the returncode (negative: the signal)."""
        return await asyncio.shield(self._exited)

    def send_signal(self, sig):
        # A short synchronous round trip to the daemon on this connection.
        self._popen.send_signal(sig)
        if self._fd is not None:
            self._step()

    def terminate(self):
        self.send_signal(15)

    def kill(self):
        self.send_signal(9)

    async def _feed(self, data):
        try:
            if data:
                self.stdin.write(data)
                await self.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.stdin.close()

    @staticmethod
    async def _read(stream):
        return None if stream is None else await stream.read()

    async def communicate(self, input=None):
        """Send input, read stdout and stderr to EOF at once, wait: (stdout, stderr)."""
        feed = self._feed(input) if self.stdin is not None else asyncio.sleep(0)
        _, out, err = await asyncio.gather(feed, self._read(self.stdout), self._read(self.stderr))
        await self.wait()
        return out, err


async def create_subprocess_exec(program, *args, stdin=None, stdout=None, stderr=None,
                                 limit=2 ** 16, **kwds):
    """Start program through spawnd from a running asyncio loop.

    Takes spawnd.Popen's keywords (user, group, cwd, env, pass_fds, socket,
    time_limit, on_disconnect, ...) except the text-mode ones, and returns
    once the program runs (a refusal raises as Popen does).
    """
    from . import Popen  # the package imports this module at its end

    for k in ("text", "encoding", "errors", "universal_newlines"):
        if kwds.get(k):
            raise ValueError(f"{k} is not supported by create_subprocess_exec")
    loop = asyncio.get_running_loop()
    popen = Popen([program, *args], stdin=stdin, stdout=stdout, stderr=stderr, bufsize=0,
                  _start_wait=0, **kwds)
    proc = Process(popen, loop)
    try:
        if popen.returncode is None:
            proc._watch()
        await proc._started
        if popen.stdin is not None:
            tr, pr = await loop.connect_write_pipe(
                lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(limit=limit)),
                popen.stdin)
            proc.stdin = asyncio.StreamWriter(tr, pr, None, loop)
        for name in ("stdout", "stderr"):
            f = getattr(popen, name)
            if f is not None:
                reader = asyncio.StreamReader(limit=limit)
                await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), f)
                setattr(proc, name, reader)
    except BaseException:
        proc._unwatch()
        for f in (popen.stdin, popen.stdout, popen.stderr):
            if f is not None:
                f.close()
        popen._release()
        raise
    return proc

