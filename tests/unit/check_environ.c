/* SPDX-License-Identifier: MIT */
/*
 * environ.c: the child's environment (DESIGN.md 5, HOSTILE.md 16 and 17).
 * Rules come from the real config parser, so the setenv semantics are
 * tested as an admin would write them.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "cleanup.h"
#include "config.h"
#include "environ.h"
#include "test-util.h"

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})
#define SV(a) ((char *const *)(a))

/* What every child gets for target nobody and client alice (uid 1000). */
#define FORCED                                                                                     \
	"HOME=/nonexistent", "SHELL=/usr/sbin/nologin", "USER=nobody", "LOGNAME=nobody",           \
		"PATH=" SPAWND_FIXED_PATH, "SPAWND_USER=alice", "SPAWND_UID=1000"

static char name_[] = "nobody", home_[] = "/nonexistent", shell_[] = "/usr/sbin/nologin";
static const struct target_user target = {
	.uid = 65534,
	.gid = 65534,
	.name = name_,
	.home = home_,
	.shell = shell_,
};

static struct policy *
rule_of(const char *options)
{
	_cleanup_free_ char *text = NULL;
	struct policy *p = NULL;
	char *error = NULL;
	int r;

	ck_assert_int_ge(asprintf(&text, "permit %s 0", options), 0);
	r = config_parse_string("env.conf", text, NULL, NULL, &p, &error);
	ck_assert_msg(r == 0, "%s", error);
	return p;
}

static size_t
name_len(const char *s)
{
	return strcspn(s, "=");
}

/* env must hold exactly the entries of want, sorted by name, each name once. */
static void
assert_env(char **env, const char *const *want)
{
	size_t n = strv_length(env), n_want = strv_length(SV(want));

	for (size_t i = 0; i < n_want; i++) {
		bool found = false;

		for (size_t j = 0; j < n && !found; j++)
			found = strcmp(env[j], want[i]) == 0;
		ck_assert_msg(found, "missing %s", want[i]);
	}
	for (size_t j = 0; j < n; j++) {
		bool wanted = false;

		for (size_t i = 0; i < n_want && !wanted; i++)
			wanted = strcmp(env[j], want[i]) == 0;
		ck_assert_msg(wanted, "unexpected %s", env[j]);
	}
	ck_assert_uint_eq(n, n_want);
	for (size_t j = 1; j < n; j++) {
		size_t a = name_len(env[j - 1]), b = name_len(env[j]);
		int c = memcmp(env[j - 1], env[j], a < b ? a : b);

		ck_assert_msg(c < 0 || (c == 0 && a < b), "%s not sorted before %s", env[j - 1],
			      env[j]);
	}
}

static void
expect_env(const char *options, const char *const *inherit, const char *const *set,
	   const char *const *want)
{
	struct policy *p = options ? rule_of(options) : NULL;
	char **env = NULL, *refused = (char *)"untouched";

	ASSERT_OK(env_build(p ? &p->rules[0] : NULL, &target, 1000, "alice", SV(inherit), SV(set),
			    &env, &refused));
	assert_env(env, want);
	ck_assert_str_eq(refused, "untouched");
	strv_free(env);
	policy_free(p);
}

static void
expect_refused(const char *options, const char *const *inherit, const char *const *set,
	       const char *name)
{
	struct policy *p = options ? rule_of(options) : NULL;
	char **env = (char **)0x1, *refused = NULL;

	ASSERT_ERROR(env_build(p ? &p->rules[0] : NULL, &target, 1000, "alice", SV(inherit),
			       SV(set), &env, &refused),
		     -EPERM);
	ck_assert_ptr_nonnull(refused);
	ck_assert_str_eq(refused, name);
	ck_assert_ptr_eq(env, (char **)0x1);
	free(refused);
	policy_free(p);
}

START_TEST(test_allowlist)
{
	const char *const *inherit = LIST(
		"TERM=xterm", "LANG=C", "LANGUAGE=en", "LC_ALL=C", "LC_CTYPE=C.UTF-8", "TZ=UTC",
		"COLORTERM=truecolor", "NO_COLOR=1", "FOO=bar", "TERMINFO=/x", "LD_PRELOAD=/x.so",
		"HOME=/home/alice", "PATH=/evil", "USER=alice", "SPAWND_UID=0", "SPAWND_USER=root");
	const char *const *want =
		LIST(FORCED, "TERM=xterm", "LANG=C", "LANGUAGE=en", "LC_ALL=C", "LC_CTYPE=C.UTF-8",
		     "TZ=UTC", "COLORTERM=truecolor", "NO_COLOR=1");

	/* No rule (tests only) and a rule without options behave the same. */
	expect_env(NULL, inherit, NULL, want);
	expect_env("", inherit, NULL, want);
	expect_env(NULL, NULL, NULL, LIST(FORCED));
}
END_TEST

static const char *const denied_env[] = {
	"LD_PRELOAD=/x.so",
	"LD_LIBRARY_PATH=/x",
	"LD_AUDIT=/x.so",
	"LD_ANYTHING=1",
	"GCONV_PATH=/x",
	"GLIBC_TUNABLES=glibc.malloc.check=3",
	"LOCPATH=/x",
	"NLSPATH=/x",
	"HOSTALIASES=/x",
	"RES_OPTIONS=debug",
	"IFS=x",
	"ENV=/x",
	"BASH_ENV=/x",
	"BASH_FUNC_f%%=() { id; }",
	"SHELLOPTS=xtrace",
	"PS4=$(id)",
	"PYTHONPATH=/x",
	"PYTHONHOME=/x",
	"PYTHONSTARTUP=/x",
	"PERL5LIB=/x",
	"PERL5OPT=-Mx",
	"RUBYOPT=-rx",
	"NODE_OPTIONS=--require=/x",
	NULL,
};

START_TEST(test_keepenv)
{
	const char *inherit[ELEMENTSOF(denied_env) + 3];
	size_t n = 0;

	for (size_t i = 0; denied_env[i]; i++)
		inherit[n++] = denied_env[i];
	inherit[n++] = "FOO=bar";
	inherit[n++] = "HOME=/home/alice";
	inherit[n] = NULL;

	/* keepenv passes everything but the denylist; forced names stay forced. */
	expect_env("keepenv", inherit, NULL, LIST(FORCED, "FOO=bar"));
	/* Without keepenv, FOO is dropped too. */
	expect_env(NULL, inherit, NULL, LIST(FORCED));
}
END_TEST

/* HOSTILE.md 16: no rule option except naming the variable lets these through. */
START_TEST(test_denylist_never_passes)
{
	static const char *const options[] = {
		"",
		"keepenv",
		"setenv { FOO }",
		"keepenv setenv { FOO=1 -BAR }",
	};

	for (size_t o = 0; o < ELEMENTSOF(options); o++)
		for (size_t i = 0; denied_env[i]; i++) {
			struct policy *p = rule_of(options[o]);
			char *const inherit[] = {(char *)denied_env[i], NULL};
			char **env = NULL;
			char name[64];

			(void)snprintf(name, sizeof(name), "%.*s", (int)name_len(denied_env[i]),
				       denied_env[i]);
			ASSERT_OK(env_build(&p->rules[0], &target, 1000, "alice", inherit, NULL,
					    &env, NULL));
			for (char **e = env; *e; e++)
				ck_assert_msg(strncmp(*e, name, strlen(name)) != 0 ||
						      (*e)[strlen(name)] != '=',
					      "%s passed with options \"%s\"", *e, options[o]);
			strv_free(env);
			policy_free(p);

			expect_refused(options[o], NULL, LIST(denied_env[i]), name);
		}
}
END_TEST

START_TEST(test_name_lists)
{
	static const char *const denied[] = {
		"LD_PRELOAD",	"LD_",	      "LD_LIBRARY_PATH", "GCONV_PATH",	"GLIBC_TUNABLES",
		"LOCPATH",	"NLSPATH",    "HOSTALIASES",	 "RES_OPTIONS", "IFS",
		"ENV",		"BASH_ENV",   "BASH_FUNC_x%%",	 "SHELLOPTS",	"PS4",
		"PYTHON",	"PYTHONPATH", "PERL5",		 "PERL5LIB",	"RUBYOPT",
		"NODE_OPTIONS",
	};
	static const char *const not_denied[] = {
		"LD",	"LDFLAGS", "MYLD_PRELOAD", "ld_preload", "ENVX", "XENV", "BASH", "PS1",
		"PERL", "PYTHO",   "RUBYLIB",	   "NODE_PATH",	 "TERM", "HOME", "",
	};
	static const char *const allowed[] = {
		"TERM", "LANG", "LANGUAGE",  "LC_ALL",	 "LC_CTYPE",
		"LC_",	"TZ",	"COLORTERM", "NO_COLOR",
	};
	static const char *const not_allowed[] = {
		"TERMINFO", "LANGX", "LC", "TZDIR", "HOME", "PATH", "FOO", "LD_PRELOAD", "",
	};

	for (size_t i = 0; i < ELEMENTSOF(denied); i++)
		ck_assert_msg(env_name_denied(denied[i]), "%s not denied", denied[i]);
	for (size_t i = 0; i < ELEMENTSOF(not_denied); i++)
		ck_assert_msg(!env_name_denied(not_denied[i]), "%s denied", not_denied[i]);
	for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
		ck_assert_msg(env_name_allowed(allowed[i]), "%s not allowed", allowed[i]);
	for (size_t i = 0; i < ELEMENTSOF(not_allowed); i++)
		ck_assert_msg(!env_name_allowed(not_allowed[i]), "%s allowed", not_allowed[i]);
	ck_assert(!env_name_denied(NULL));
	ck_assert(!env_name_allowed(NULL));
}
END_TEST

/* setenv { NAME } is the admin's way to let one denylisted variable through. */
START_TEST(test_setenv_pass)
{
	const char *const *inherit = LIST("LD_LIBRARY_PATH=/opt/lib", "LD_PRELOAD=/x", "FOO=bar");

	expect_env("setenv { LD_LIBRARY_PATH }", inherit, NULL,
		   LIST(FORCED, "LD_LIBRARY_PATH=/opt/lib"));
	/* Explicit wins over inherited for the same name. */
	expect_env("setenv { LD_LIBRARY_PATH }", inherit, LIST("LD_LIBRARY_PATH=/y"),
		   LIST(FORCED, "LD_LIBRARY_PATH=/y"));
	/* Naming one does not open the others. */
	expect_refused("setenv { LD_LIBRARY_PATH }", inherit, LIST("LD_PRELOAD=/x"), "LD_PRELOAD");
	/* A named variable that the client does not send is simply absent. */
	expect_env("setenv { FOO }", NULL, NULL, LIST(FORCED));
}
END_TEST

START_TEST(test_explicit)
{
	/* Without keepenv even an allowlisted name cannot be set explicitly. */
	expect_refused(NULL, NULL, LIST("TERM=vt100"), "TERM");
	expect_refused("", NULL, LIST("FOO=1"), "FOO");
	expect_env("keepenv", NULL, LIST("FOO=1", "TERM=vt100"),
		   LIST(FORCED, "FOO=1", "TERM=vt100"));
	expect_env("setenv { FOO }", NULL, LIST("FOO=1"), LIST(FORCED, "FOO=1"));
	/* Explicit wins over inherited. */
	expect_env("keepenv", LIST("FOO=a", "BAR=c"), LIST("FOO=b"),
		   LIST(FORCED, "FOO=b", "BAR=c"));
	/* The first refused variable is named; nothing is built. */
	expect_refused("keepenv", LIST("FOO=a"), LIST("OK=1", "LD_PRELOAD=/x", "PATH=/y"),
		       "LD_PRELOAD");
}
END_TEST

START_TEST(test_forced)
{
	static const char *const forced[] = {
		"HOME=/x", "SHELL=/x",	    "USER=x",	    "LOGNAME=x",
		"PATH=/x", "SPAWND_USER=x", "SPAWND_UID=0",
	};

	/* A client can override none of them, even under keepenv... */
	for (size_t i = 0; i < ELEMENTSOF(forced); i++) {
		char name[32];

		(void)snprintf(name, sizeof(name), "%.*s", (int)name_len(forced[i]), forced[i]);
		expect_refused("keepenv", NULL, LIST(forced[i]), name);
		expect_env("keepenv", LIST(forced[i]), NULL, LIST(FORCED));
	}
	/* ...unless the rule names it. */
	expect_env("setenv { HOME }", NULL, LIST("HOME=/x"),
		   LIST("HOME=/x", "SHELL=/usr/sbin/nologin", "USER=nobody", "LOGNAME=nobody",
			"PATH=" SPAWND_FIXED_PATH, "SPAWND_USER=alice", "SPAWND_UID=1000"));
	expect_env("setenv { HOME }", LIST("HOME=/y"), NULL,
		   LIST("HOME=/y", "SHELL=/usr/sbin/nologin", "USER=nobody", "LOGNAME=nobody",
			"PATH=" SPAWND_FIXED_PATH, "SPAWND_USER=alice", "SPAWND_UID=1000"));
	expect_env("setenv { HOME }", LIST("HOME=/y"), LIST("HOME=/x"),
		   LIST("HOME=/x", "SHELL=/usr/sbin/nologin", "USER=nobody", "LOGNAME=nobody",
			"PATH=" SPAWND_FIXED_PATH, "SPAWND_USER=alice", "SPAWND_UID=1000"));
	/* Named but not sent: the forced value stays. */
	expect_env("setenv { HOME }", NULL, NULL, LIST(FORCED));
}
END_TEST

START_TEST(test_rule_set_and_remove)
{
	/* The admin's value wins over the client's inherited one. */
	expect_env("keepenv setenv { FOO=admin }", LIST("FOO=client"), NULL,
		   LIST(FORCED, "FOO=admin"));
	/* An explicit setting of an admin-fixed name would be overridden: refused. */
	expect_refused("keepenv setenv { FOO=admin }", NULL, LIST("FOO=x"), "FOO");
	/* The admin may set a denylisted or forced name. */
	expect_env("setenv { PATH=/opt/bin LD_BIND_NOW=1 }", NULL, NULL,
		   LIST("HOME=/nonexistent", "SHELL=/usr/sbin/nologin", "USER=nobody",
			"LOGNAME=nobody", "PATH=/opt/bin", "SPAWND_USER=alice", "SPAWND_UID=1000",
			"LD_BIND_NOW=1"));
	/* -NAME removes inherited, allowlisted and forced variables alike. */
	expect_env("keepenv setenv { -TERM -FOO -SPAWND_USER }", LIST("TERM=xterm", "FOO=1"), NULL,
		   LIST("HOME=/nonexistent", "SHELL=/usr/sbin/nologin", "USER=nobody",
			"LOGNAME=nobody", "PATH=" SPAWND_FIXED_PATH, "SPAWND_UID=1000"));
	/* An explicit setting of a removed name is refused, not dropped. */
	expect_refused("keepenv setenv { -TERM }", NULL, LIST("TERM=x"), "TERM");
	/* An empty value is a value. */
	expect_env("setenv { EMPTY= }", NULL, NULL, LIST(FORCED, "EMPTY="));
}
END_TEST

START_TEST(test_client_name_missing)
{
	char **env = NULL;
	bool found = false;

	ASSERT_OK(env_build(NULL, &target, 1234, NULL, NULL, NULL, &env, NULL));
	for (char **e = env; *e; e++)
		found |= strcmp(*e, "SPAWND_USER=1234") == 0;
	ck_assert(found);
	strv_free(env);
}
END_TEST

/* HOSTILE.md 17: output is sorted, duplicate-free and the same every time. */
START_TEST(test_deterministic)
{
	struct policy *p = rule_of("keepenv setenv { Z_SET=1 -A_GONE }");
	char *inherit[2001], *set[] = {(char *)"M_EXPLICIT=2", NULL};
	char **a = NULL, **b = NULL;

	for (int i = 0; i < 2000; i++)
		ck_assert_int_ge(asprintf(&inherit[i], "%s%04d=%d", i % 2 ? "LD_X" : "V",
					  (i * 7919) % 2000, i),
				 0);
	inherit[2000] = NULL;
	ASSERT_OK(env_build(&p->rules[0], &target, 1000, "alice", inherit, set, &a, NULL));
	ASSERT_OK(env_build(&p->rules[0], &target, 1000, "alice", inherit, set, &b, NULL));
	ck_assert_uint_eq(strv_length(a), strv_length(b));
	for (size_t i = 0; a[i]; i++) {
		ck_assert_str_eq(a[i], b[i]);
		if (i > 0) {
			size_t x = name_len(a[i - 1]), y = name_len(a[i]);
			int c = memcmp(a[i - 1], a[i], x < y ? x : y);

			ck_assert(c < 0 || (c == 0 && x < y));
		}
	}
	/* 1000 V* names (the LD_X* are denied), 7 forced, one explicit, one set by the rule. */
	ck_assert_uint_eq(strv_length(a), 1000 + 7 + 2);
	strv_free(a);
	strv_free(b);
	for (int i = 0; i < 2000; i++)
		free(inherit[i]);
	policy_free(p);
}
END_TEST

START_TEST(test_malformed)
{
	char **env = (char **)0x1;

	ASSERT_ERROR(
		env_build(NULL, &target, 1000, "alice", SV(LIST("NOEQUALS")), NULL, &env, NULL),
		-EINVAL);
	ASSERT_ERROR(env_build(NULL, &target, 1000, "alice", SV(LIST("=value")), NULL, &env, NULL),
		     -EINVAL);
	ASSERT_ERROR(env_build(NULL, &target, 1000, "alice", NULL, SV(LIST("=value")), &env, NULL),
		     -EINVAL);
	ck_assert_ptr_eq(env, (char **)0x1);
}
END_TEST

static Suite *
environ_suite(void)
{
	Suite *s = suite_create("environ");
	TCase *tc = tcase_create("build");

	tcase_add_test(tc, test_allowlist);
	tcase_add_test(tc, test_keepenv);
	tcase_add_test(tc, test_denylist_never_passes);
	tcase_add_test(tc, test_name_lists);
	tcase_add_test(tc, test_setenv_pass);
	tcase_add_test(tc, test_explicit);
	tcase_add_test(tc, test_forced);
	tcase_add_test(tc, test_rule_set_and_remove);
	tcase_add_test(tc, test_client_name_missing);
	tcase_add_test(tc, test_deterministic);
	tcase_add_test(tc, test_malformed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(environ_suite(), EXIT_SUCCESS);
}
