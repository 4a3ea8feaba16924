/* SPDX-License-Identifier: MIT */
/*
 * _spawnd: the thin C layer of the Python `spawnd` package over libspawnd
 * (include/spawnd/spawnd.h). No protocol code here and no protobuf: every
 * request is built with the spawnd_options_* setters and sent by the
 * library. The Python side (spawnd/__init__.py) supplies subprocess's
 * semantics; this module only maps calls and results.
 *
 *   Client(path=None)            one connection (spawnd_client_open)
 *   Client.fileno()              spawnd_client_get_fd, for select/asyncio
 *   Client.events()              spawnd_client_get_events
 *   Client.process()             spawnd_client_process (never blocks)
 *   Client.start(..., timeout)   spawnd_start -> result tuple
 *   Client.wait_exit(id, timeout) spawnd_wait_exit -> result tuple
 *   Client.signal(id, signo, pgroup, timeout)  spawnd_signal
 *   Client.close()
 *
 * Blocking calls run with the GIL released. A Client is not thread-safe
 * (libspawnd's handles are not): the Python layer serialises calls with a
 * lock that is not held while it waits for the fd to become readable.
 *
 * A result is a tuple (state, id, pid, pidfd, stage, stage_name, errno,
 * detail, exit_code, signal, core_dumped, timed_out, user_cpu_usec,
 * sys_cpu_usec, max_rss_kb, wall_usec); pidfd is taken out of the result
 * (the caller owns and closes it) or -1.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <spawnd/spawnd.h>
#include <stdint.h>
#include <unistd.h>

typedef struct {
	PyObject_HEAD spawnd_client *c;
} ClientObject;

static PyObject *
raise_errno(int neg)
{
	errno = -neg;
	return PyErr_SetFromErrno(PyExc_OSError);
}

static uint64_t
timeout_usec(PyObject *t, int *err)
{
	double s;

	*err = 0;
	if (t == Py_None)
		return SPAWND_WAIT_INFINITE;
	s = PyFloat_AsDouble(t);
	if (s == -1.0 && PyErr_Occurred()) {
		*err = 1;
		return 0;
	}
	if (s <= 0)
		return 0;
	if (s > 1e12)
		return SPAWND_WAIT_INFINITE - 1;
	return (uint64_t)(s * 1e6);
}

static PyObject *
result_tuple(spawnd_result *r)
{
	int pidfd = spawnd_result_take_pidfd(r);
	PyObject *t;

	t = Py_BuildValue("(iKiiisisiiiiKKKK)", (int)spawnd_result_get_state(r),
			  (unsigned long long)spawnd_result_get_id(r),
			  (int)spawnd_result_get_pid(r), pidfd >= 0 ? pidfd : -1,
			  (int)spawnd_result_get_stage(r),
			  spawnd_stage_to_string(spawnd_result_get_stage(r)),
			  spawnd_result_get_errno(r), spawnd_result_get_detail(r),
			  spawnd_result_get_exit_code(r), spawnd_result_get_signal(r),
			  spawnd_result_get_core_dumped(r), spawnd_result_get_timed_out(r),
			  (unsigned long long)spawnd_result_get_user_cpu_usec(r),
			  (unsigned long long)spawnd_result_get_sys_cpu_usec(r),
			  (unsigned long long)spawnd_result_get_max_rss_kb(r),
			  (unsigned long long)spawnd_result_get_wall_usec(r));
	if (!t && pidfd >= 0)
		(void)close(pidfd);
	return t;
}

static int
check_open(ClientObject *self)
{
	if (!self->c) {
		PyErr_SetString(PyExc_ValueError, "the spawnd client is closed");
		return -1;
	}
	return 0;
}

static int
Client_init(ClientObject *self, PyObject *args, PyObject *kw)
{
	PyThreadState *ts;
	static char *kwlist[] = {(char *)"path", NULL};
	PyObject *path = Py_None, *bytes = NULL;
	const char *p = NULL;
	int r;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O", kwlist, &path))
		return -1;
	if (self->c) {
		PyErr_SetString(PyExc_ValueError, "already open");
		return -1;
	}
	if (path != Py_None) {
		if (!PyUnicode_FSConverter(path, &bytes))
			return -1;
		p = PyBytes_AS_STRING(bytes);
	}
	ts = PyEval_SaveThread(); /* the GIL is released while libspawnd waits */
	r = spawnd_client_open(&self->c, p, 0);
	PyEval_RestoreThread(ts);
	Py_XDECREF(bytes);
	if (r < 0) {
		errno = -r;
		PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
		return -1;
	}
	return 0;
}

static void
Client_dealloc(ClientObject *self)
{
	self->c = spawnd_client_close(self->c);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Client_close(ClientObject *self, PyObject *unused)
{
	(void)unused;
	self->c = spawnd_client_close(self->c);
	Py_RETURN_NONE;
}

static PyObject *
Client_fileno(ClientObject *self, PyObject *unused)
{
	(void)unused;
	if (check_open(self) < 0)
		return NULL;
	return PyLong_FromLong(spawnd_client_get_fd(self->c));
}

static PyObject *
Client_events(ClientObject *self, PyObject *unused)
{
	(void)unused;
	if (check_open(self) < 0)
		return NULL;
	return PyLong_FromLong(spawnd_client_get_events(self->c));
}

static PyObject *
Client_process(ClientObject *self, PyObject *unused)
{
	int r;

	(void)unused;
	if (check_open(self) < 0)
		return NULL;
	r = spawnd_client_process(self->c);
	if (r < 0)
		return raise_errno(r);
	return PyLong_FromLong(r);
}

/* Each entry of a sequence of str/bytes through setter(o, entry). */
static int
add_strings(spawnd_options *o, PyObject *seq, int (*setter)(spawnd_options *, const char *))
{
	PyObject *fast, *b;
	Py_ssize_t i, n;
	int r;

	if (seq == Py_None)
		return 0;
	fast = PySequence_Fast(seq, "expected a sequence");
	if (!fast)
		return -1;
	n = PySequence_Fast_GET_SIZE(fast);
	for (i = 0; i < n; i++) {
		if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(fast, i), &b)) {
			Py_DECREF(fast);
			return -1;
		}
		r = setter(o, PyBytes_AS_STRING(b));
		Py_DECREF(b);
		if (r < 0) {
			Py_DECREF(fast);
			raise_errno(r);
			return -1;
		}
	}
	Py_DECREF(fast);
	return 0;
}

static int
set_string(spawnd_options *o, PyObject *v, int (*setter)(spawnd_options *, const char *))
{
	PyObject *b;
	int r;

	if (v == Py_None)
		return 0;
	if (!PyUnicode_FSConverter(v, &b))
		return -1;
	r = setter(o, PyBytes_AS_STRING(b));
	Py_DECREF(b);
	if (r < 0) {
		raise_errno(r);
		return -1;
	}
	return 0;
}

static int
build_options(spawnd_options *o, PyObject *argv, PyObject *user, PyObject *group, PyObject *groups,
	      PyObject *cwd, int umask, PyObject *fds, PyObject *inherited, PyObject *env,
	      int on_disconnect, PyObject *time_limit, int want_pidfd, PyObject *executable,
	      int no_groups, PyObject *kill_grace)
{
	PyObject *fast, *bs[1024 + 1];
	char *cargv[1024 + 1];
	Py_ssize_t i, n;
	int r;

	fast = PySequence_Fast(argv, "args must be a sequence");
	if (!fast)
		return -1;
	n = PySequence_Fast_GET_SIZE(fast);
	if (n < 1 || n > 1024) {
		Py_DECREF(fast);
		PyErr_SetString(PyExc_ValueError, "args must have 1 to 1024 entries");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(fast, i), &bs[i])) {
			while (i-- > 0)
				Py_DECREF(bs[i]);
			Py_DECREF(fast);
			return -1;
		}
		cargv[i] = PyBytes_AS_STRING(bs[i]);
	}
	cargv[n] = NULL;
	r = spawnd_options_set_argv(o, cargv);
	for (i = 0; i < n; i++)
		Py_DECREF(bs[i]);
	Py_DECREF(fast);
	if (r < 0) {
		raise_errno(r);
		return -1;
	}
	if (set_string(o, executable, spawnd_options_set_executable) < 0 ||
	    set_string(o, user, spawnd_options_set_user) < 0 ||
	    set_string(o, group, spawnd_options_set_group) < 0 ||
	    add_strings(o, groups, spawnd_options_add_group) < 0 ||
	    set_string(o, cwd, spawnd_options_set_cwd) < 0 ||
	    add_strings(o, inherited, spawnd_options_add_inherited_env) < 0 ||
	    add_strings(o, env, spawnd_options_add_env) < 0)
		return -1;
	if (umask >= 0 && (r = spawnd_options_set_umask(o, (unsigned)umask)) < 0)
		goto fail;
	if ((r = spawnd_options_set_on_disconnect(o, (spawnd_on_disconnect)on_disconnect)) < 0)
		goto fail;
	if ((r = spawnd_options_set_want_pidfd(o, want_pidfd)) < 0)
		goto fail;
	if (no_groups && (r = spawnd_options_set_no_groups(o, 1)) < 0)
		goto fail;
	if (kill_grace != Py_None) {
		double s = PyFloat_AsDouble(kill_grace);

		if (s == -1.0 && PyErr_Occurred())
			return -1;
		if (!(s >= 0 && s * 1e6 <= (double)SPAWND_KILL_GRACE_MAX_USEC)) {
			PyErr_Format(PyExc_ValueError, "kill_grace must be 0 to %llu seconds",
				     (unsigned long long)(SPAWND_KILL_GRACE_MAX_USEC / 1000000));
			return -1;
		}
		if ((r = spawnd_options_set_kill_grace(o, (uint64_t)(s * 1e6))) < 0)
			goto fail;
	}
	if (time_limit != Py_None) {
		double s = PyFloat_AsDouble(time_limit);

		if (s == -1.0 && PyErr_Occurred())
			return -1;
		if (!(s > 0)) {
			PyErr_SetString(PyExc_ValueError, "time_limit must be > 0 seconds");
			return -1;
		}
		if ((r = spawnd_options_set_time_limit(o, (uint64_t)(s * 1e6) + 1)) < 0)
			goto fail;
	}
	if (fds != Py_None) {
		fast = PySequence_Fast(fds, "fds must be a sequence of (child_fd, fd)");
		if (!fast)
			return -1;
		n = PySequence_Fast_GET_SIZE(fast);
		for (i = 0; i < n; i++) {
			int cfd, fd;

			if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "ii", &cfd, &fd)) {
				Py_DECREF(fast);
				return -1;
			}
			r = spawnd_options_add_fd(o, cfd, fd);
			if (r < 0) {
				Py_DECREF(fast);
				goto fail;
			}
		}
		Py_DECREF(fast);
	}
	return 0;
fail:
	raise_errno(r);
	return -1;
}

/*
 * start(argv, user=None, group=None, groups=None, cwd=None, umask=-1,
 *       fds=None, inherited=None, env=None, on_disconnect=0,
 *       time_limit=None, want_pidfd=False, timeout=None, executable=None,
 *       no_groups=False, kill_grace=None)
 * -> result tuple (STARTED, or FAILED with stage/errno/detail); a wait that
 * ended early returns the PENDING tuple. OSError when nothing was sent.
 */
static PyObject *
Client_start(ClientObject *self, PyObject *args, PyObject *kw)
{
	PyThreadState *ts;
	static char *kwlist[] = {(char *)"argv",
				 (char *)"user",
				 (char *)"group",
				 (char *)"groups",
				 (char *)"cwd",
				 (char *)"umask",
				 (char *)"fds",
				 (char *)"inherited",
				 (char *)"env",
				 (char *)"on_disconnect",
				 (char *)"time_limit",
				 (char *)"want_pidfd",
				 (char *)"timeout",
				 (char *)"executable",
				 (char *)"no_groups",
				 (char *)"kill_grace",
				 NULL};
	PyObject *argv, *user = Py_None, *group = Py_None, *groups = Py_None, *cwd = Py_None;
	PyObject *fds = Py_None, *inherited = Py_None, *env = Py_None, *time_limit = Py_None;
	PyObject *timeout = Py_None, *executable = Py_None, *kill_grace = Py_None, *t;
	int umask = -1, on_disconnect = 0, want_pidfd = 0, no_groups = 0, r, err;
	spawnd_options *o = NULL;
	spawnd_result *res = NULL;
	uint64_t tu;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOOOiOOOiOpOOpO", kwlist, &argv, &user,
					 &group, &groups, &cwd, &umask, &fds, &inherited, &env,
					 &on_disconnect, &time_limit, &want_pidfd, &timeout,
					 &executable, &no_groups, &kill_grace))
		return NULL;
	if (check_open(self) < 0)
		return NULL;
	tu = timeout_usec(timeout, &err);
	if (err)
		return NULL;
	r = spawnd_options_new(&o);
	if (r < 0)
		return raise_errno(r);
	if (build_options(o, argv, user, group, groups, cwd, umask, fds, inherited, env,
			  on_disconnect, time_limit, want_pidfd, executable, no_groups,
			  kill_grace) < 0) {
		spawnd_options_free(o);
		return NULL;
	}
	ts = PyEval_SaveThread(); /* the GIL is released while libspawnd waits */
	r = spawnd_start(self->c, o, tu, &res);
	PyEval_RestoreThread(ts);
	spawnd_options_free(o);
	if (!res)
		return raise_errno(r);
	t = result_tuple(res);
	spawnd_result_free(res);
	return t;
}

/*
 * wait_exit(id, timeout=None) -> result tuple: EXITED, FAILED, or, when the
 * wait ended first, PENDING or STARTED (the pid and pidfd are then there
 * once the daemon's Started has arrived: asyncio polls with timeout 0).
 */
static PyObject *
Client_wait_exit(ClientObject *self, PyObject *args)
{
	PyThreadState *ts;
	unsigned long long id;
	PyObject *timeout = Py_None, *t;
	spawnd_result *res = NULL;
	uint64_t tu;
	int r, err;

	if (!PyArg_ParseTuple(args, "K|O", &id, &timeout))
		return NULL;
	if (check_open(self) < 0)
		return NULL;
	tu = timeout_usec(timeout, &err);
	if (err)
		return NULL;
	ts = PyEval_SaveThread(); /* the GIL is released while libspawnd waits */
	r = spawnd_wait_exit(self->c, id, tu, &res);
	PyEval_RestoreThread(ts);
	if (r == -EINTR && PyErr_CheckSignals() < 0) {
		spawnd_result_free(res);
		return NULL;
	}
	if (!res)
		return raise_errno(r);
	t = result_tuple(res);
	spawnd_result_free(res);
	return t;
}

/* signal(id, signo, process_group=False, timeout=None) -> 0 or -errno (daemon's answer). */
static PyObject *
Client_signal(ClientObject *self, PyObject *args)
{
	PyThreadState *ts;
	unsigned long long id;
	int signo, pgroup = 0, r, err;
	PyObject *timeout = Py_None;
	uint64_t tu;

	if (!PyArg_ParseTuple(args, "Ki|pO", &id, &signo, &pgroup, &timeout))
		return NULL;
	if (check_open(self) < 0)
		return NULL;
	tu = timeout_usec(timeout, &err);
	if (err)
		return NULL;
	ts = PyEval_SaveThread(); /* the GIL is released while libspawnd waits */
	r = spawnd_signal(self->c, id, signo, pgroup, tu);
	PyEval_RestoreThread(ts);
	return PyLong_FromLong(r);
}

static PyMethodDef Client_methods[] = {
	{"close", (PyCFunction)Client_close, METH_NOARGS, "Close the connection."},
	{"fileno", (PyCFunction)Client_fileno, METH_NOARGS, "The connection's fd."},
	{"events", (PyCFunction)Client_events, METH_NOARGS, "POLLIN, or POLLIN|POLLOUT."},
	{"process", (PyCFunction)Client_process, METH_NOARGS, "Process what is ready."},
	{"start", (PyCFunction)(void (*)(void))Client_start, METH_VARARGS | METH_KEYWORDS,
	 "Start a program and wait until it runs."},
	{"wait_exit", (PyCFunction)Client_wait_exit, METH_VARARGS, "Wait for a spawn's exit."},
	{"signal", (PyCFunction)Client_signal, METH_VARARGS, "Signal a spawn through the daemon."},
	{NULL, NULL, 0, NULL}};

static PyTypeObject ClientType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_spawnd.Client",
	.tp_basicsize = sizeof(ClientObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "One connection to spawnd (libspawnd's spawnd_client).",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)Client_init,
	.tp_dealloc = (destructor)Client_dealloc,
	.tp_methods = Client_methods,
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT,
				       "_spawnd",
				       "Thin bindings of libspawnd.",
				       -1,
				       NULL,
				       NULL,
				       NULL,
				       NULL,
				       NULL};

PyMODINIT_FUNC PyInit__spawnd(void);

PyMODINIT_FUNC
PyInit__spawnd(void)
{
	PyObject *m;

	if (PyType_Ready(&ClientType) < 0)
		return NULL;
	m = PyModule_Create(&moduledef);
	if (!m)
		return NULL;
	Py_INCREF(&ClientType);
	if (PyModule_AddObject(m, "Client", (PyObject *)&ClientType) < 0) {
		Py_DECREF(&ClientType);
		Py_DECREF(m);
		return NULL;
	}
	if (PyModule_AddIntConstant(m, "STATE_PENDING", SPAWND_STATE_PENDING) < 0 ||
	    PyModule_AddIntConstant(m, "STATE_STARTED", SPAWND_STATE_STARTED) < 0 ||
	    PyModule_AddIntConstant(m, "STATE_FAILED", SPAWND_STATE_FAILED) < 0 ||
	    PyModule_AddIntConstant(m, "STATE_EXITED", SPAWND_STATE_EXITED) < 0 ||
	    PyModule_AddIntConstant(m, "STAGE_POLICY", SPAWND_STAGE_POLICY) < 0 ||
	    PyModule_AddIntConstant(m, "STAGE_PREPARE", SPAWND_STAGE_PREPARE) < 0 ||
	    PyModule_AddIntConstant(m, "STAGE_CHDIR", SPAWND_STAGE_CHDIR) < 0 ||
	    PyModule_AddIntConstant(m, "STAGE_EXEC", SPAWND_STAGE_EXEC) < 0 ||
	    PyModule_AddIntConstant(m, "STAGE_RESOLVE", SPAWND_STAGE_RESOLVE) < 0 ||
	    PyModule_AddIntConstant(m, "ON_DISCONNECT_TERMINATE", SPAWND_ON_DISCONNECT_TERMINATE) <
		    0 ||
	    PyModule_AddIntConstant(m, "ON_DISCONNECT_KEEP", SPAWND_ON_DISCONNECT_KEEP) < 0 ||
	    PyModule_AddIntConstant(m, "ON_DISCONNECT_HANGUP", SPAWND_ON_DISCONNECT_HANGUP) < 0 ||
	    PyModule_AddIntConstant(m, "VERSION", (long)spawnd_version()) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
