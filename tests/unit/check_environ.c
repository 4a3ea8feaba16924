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
			    &env, &refused, NULL));
	assert_env(env, want);
	ck_assert_str_eq(refused, "untouched");
	strv_free(env);
	policy_free(p);
}

/* Refused for NAME; *ret_why (if wanted) says why. */
static void
expect_refused_why(const char *options, const char *const *inherit, const char *const *set,
		   const char *name, const char **ret_why)
{
	struct policy *p = options ? rule_of(options) : NULL;
	char **env = (char **)0x1, *refused = NULL;
	const char *why = NULL;

	ASSERT_ERROR(env_build(p ? &p->rules[0] : NULL, &target, 1000, "alice", SV(inherit),
			       SV(set), &env, &refused, &why),
		     -EPERM);
	ck_assert_ptr_nonnull(refused);
	ck_assert_str_eq(refused, name);
	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_eq(env, (char **)0x1);
	if (ret_why)
		*ret_why = why;
	free(refused);
	policy_free(p);
}

/* Refused for its name (not its value). */
static void
expect_refused(const char *options, const char *const *inherit, const char *const *set,
	       const char *name)
{
	const char *why = NULL;

	expect_refused_why(options, inherit, set, name, &why);
	ck_assert_str_eq(why, "not allowed by policy");
}

/* Refused for its value: the reason says so, and names neither the value nor another name. */
static void
expect_value_refused(const char *options, const char *const *set, const char *name)
{
	const char *why = NULL;

	expect_refused_why(options, NULL, set, name, &why);
	ck_assert_msg(strncmp(why, "value not allowed", 17) == 0, "%s refused for '%s'", name, why);
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
					    &env, NULL, NULL));
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
	/* Kept out on purpose (environ.c says why), or merely similar to a denied name. */
	static const char *const not_denied[] = {
		"LD",	      "LDFLAGS",	"MYLD_PRELOAD", "ld_preload", "ENVX",
		"XENV",	      "BASH",		"PS1",		"PER",	      "PYTHO",
		"RUB",	      "NODE",		"JAVA",		"LUA",	      "TERM",
		"HOME",	      "DISPLAY",	"XAUTHORITY",	"KRB5CCNAME", "SSH_AUTH_SOCK",
		"http_proxy", "PROMPT_COMMAND", "HISTFILE",	"CC",	      "",
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

	ASSERT_OK(env_build(NULL, &target, 1234, NULL, NULL, NULL, &env, NULL, NULL));
	for (char **e = env; *e; e++)
		found |= strcmp(*e, "SPAWND_USER=1234") == 0;
	ck_assert(found);
	strv_free(env);
}
END_TEST

/*
 * HOSTILE.md 17: output is sorted, duplicate-free and the same every time:
 * it depends on the entries, not on the order a client sends them in.
 */
START_TEST(test_deterministic)
{
	struct policy *p = rule_of("keepenv setenv { Z_SET=1 -A_GONE }");
	char *inherit[2001], *reversed[2001], *set[] = {(char *)"M_EXPLICIT=2", NULL};
	/* 1000 V* names (the LD_X* are denied), 7 forced, one explicit, one set by the rule. */
	const char *want[1000 + 7 + 2 + 1] = {FORCED, "M_EXPLICIT=2", "Z_SET=1"};
	size_t n_want = 7 + 2;
	char **a = NULL, **b = NULL;

	/* (i * 7919) % 2000 runs through 0..1999 once: every name is new. */
	for (int i = 0; i < 2000; i++) {
		ck_assert_int_ge(asprintf(&inherit[i], "%s%04d=%d", i % 2 ? "LD_X" : "V",
					  (i * 7919) % 2000, i),
				 0);
		reversed[1999 - i] = inherit[i];
		if (i % 2 == 0)
			want[n_want++] = inherit[i];
	}
	inherit[2000] = reversed[2000] = NULL;
	want[n_want] = NULL;
	ASSERT_OK(env_build(&p->rules[0], &target, 1000, "alice", inherit, set, &a, NULL, NULL));
	ASSERT_OK(env_build(&p->rules[0], &target, 1000, "alice", reversed, set, &b, NULL, NULL));
	/* Exactly the allowed entries, sorted by name, whatever order they came in. */
	assert_env(a, want);
	assert_env(b, want);
	ck_assert_uint_eq(strv_length(a), strv_length(b));
	for (size_t i = 0; a[i]; i++)
		ck_assert_str_eq(a[i], b[i]);
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

	ASSERT_ERROR(env_build(NULL, &target, 1000, "alice", SV(LIST("NOEQUALS")), NULL, &env, NULL,
			       NULL),
		     -EINVAL);
	ASSERT_ERROR(
		env_build(NULL, &target, 1000, "alice", SV(LIST("=value")), NULL, &env, NULL, NULL),
		-EINVAL);
	ASSERT_ERROR(
		env_build(NULL, &target, 1000, "alice", NULL, SV(LIST("=value")), &env, NULL, NULL),
		-EINVAL);
	ck_assert_ptr_eq(env, (char **)0x1);
}
END_TEST

/* ---- HOSTILE.md 39: values of the allowlisted variables ---- */

static const char *const checked_names[] = {
	"TERM",	    "LANG",    "LANGUAGE",  "LC_ALL",	"LC_MESSAGES",
	"LC_CTYPE", "LINGUAS", "COLORTERM", "NO_COLOR",
};

START_TEST(test_value_rules)
{
	static const char *const good[] = {
		"C",
		"C.UTF-8",
		"en_US.UTF-8",
		"de_DE@euro",
		"sr_RS.UTF-8@latin",
		"de:en_GB:en",
		"xterm-256color",
		"truecolor",
		"1",
		"",
		".",
		"a.b",
		"x.",
	};
	static const char *const bad[] = {
		"../../../../tmp/x", "..",  "x..", "..x",    "a..b", "/",   "/usr/share/locale/de",
		"de/../../x",	     "./x", "x/",  "%n%n%p", "%",    "de%", "C.UTF-8/",
		"xterm/../../x",
	};

	for (size_t n = 0; n < ELEMENTSOF(checked_names); n++) {
		for (size_t i = 0; i < ELEMENTSOF(good); i++)
			ck_assert_msg(env_value_allowed(checked_names[n], good[i]), "%s=%s refused",
				      checked_names[n], good[i]);
		for (size_t i = 0; i < ELEMENTSOF(bad); i++)
			ck_assert_msg(!env_value_allowed(checked_names[n], bad[i]), "%s=%s allowed",
				      checked_names[n], bad[i]);
	}
	/* Other names' values are not checked (keepenv trusts the client with them). */
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		ck_assert(env_value_allowed("FOO", bad[i]));
		ck_assert(env_value_allowed("TERMX", bad[i]));
		ck_assert(env_value_allowed("LC", bad[i]));
	}
	ck_assert(!env_value_allowed(NULL, "x"));
	ck_assert(!env_value_allowed("TERM", NULL));
}
END_TEST

START_TEST(test_tz_rules)
{
	char longest[SPAWND_TZ_MAX + 2];
	static const char *const good[] = {
		"UTC",
		":UTC",
		"",
		"Europe/Paris",
		":Europe/Paris",
		"America/Argentina/Buenos_Aires",
		"posix/Europe/Paris",
		SPAWND_ZONEINFO_DIR "/Europe/Paris",
		":" SPAWND_ZONEINFO_DIR "/UTC",
		SPAWND_ZONEINFO_DIR "/right/UTC",
		"EST5EDT,M3.2.0/2,M11.1.0/2",
		"<+03>-3",
		"CET-1CEST,M3.5.0,M10.5.0/3",
		"./UTC",
	};
	static const char *const bad[] = {
		"/tmp/x",
		":/tmp/x",
		"/etc/localtime",
		"../../../../tmp/x",
		":../../tmp/x",
		"Europe/../../../tmp/x",
		SPAWND_ZONEINFO_DIR "/../../../tmp/x",
		":" SPAWND_ZONEINFO_DIR "/../../tmp/x",
		SPAWND_ZONEINFO_DIR "/..",
		SPAWND_ZONEINFO_DIR "X/UTC",
		SPAWND_ZONEINFO_DIR,
		SPAWND_ZONEINFO_DIR "/",
		"/usr/share/zone",
		"//usr/share/zoneinfo/UTC",
		"UTC%n",
		"%p",
		"UTC 0",
		"UTC\t",
		"UTC\n",
		"\x7f",
		"Europe/Z\xc3\xbcrich",
		"a..b",
	};

	for (size_t i = 0; i < ELEMENTSOF(good); i++)
		ck_assert_msg(env_value_allowed("TZ", good[i]), "TZ=%s refused", good[i]);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		ck_assert_msg(!env_value_allowed("TZ", bad[i]), "TZ=%s allowed", bad[i]);

	/* At most SPAWND_TZ_MAX bytes, the ':' included. */
	memset(longest, 'A', sizeof(longest));
	longest[SPAWND_TZ_MAX] = '\0';
	ck_assert(env_value_allowed("TZ", longest));
	longest[0] = ':';
	ck_assert(env_value_allowed("TZ", longest));
	longest[SPAWND_TZ_MAX] = 'A';
	longest[SPAWND_TZ_MAX + 1] = '\0';
	ck_assert(!env_value_allowed("TZ", longest));
	/* TZDIR cannot move the directory that relative names are read from. */
	ck_assert(env_name_denied("TZDIR"));
}
END_TEST

/* Inherited: dropped silently, by every road a client value takes. Explicit: refused. */
START_TEST(test_values_in_build)
{
	static const char *const options[] = {"", "keepenv", "setenv { LANGUAGE LC_ALL TZ TERM }",
					      "keepenv setenv { LANGUAGE }"};
	const char *const *inherit =
		LIST("LANGUAGE=../../../../tmp/x", "LC_ALL=/tmp/locale", "LANG=C.UTF-8",
		     "LC_MESSAGES=de%n", "TERM=../../tmp/terminfo", "TZ=/tmp/zone",
		     "COLORTERM=truecolor", "NO_COLOR=..", "LC_TIME=en_GB.UTF-8");
	const char *why = NULL;

	expect_env(NULL, inherit, NULL,
		   LIST(FORCED, "LANG=C.UTF-8", "COLORTERM=truecolor", "LC_TIME=en_GB.UTF-8"));
	for (size_t o = 0; o < ELEMENTSOF(options); o++) {
		struct policy *p = rule_of(options[o]);
		char **env = NULL;

		ASSERT_OK(env_build(&p->rules[0], &target, 1000, "alice", SV(inherit), NULL, &env,
				    NULL, NULL));
		for (char **e = env; *e; e++)
			ck_assert_msg(!strstr(*e, "..") && !strchr(*e, '%') &&
					      (strchr(*e, '/') == NULL ||
					       strncmp(*e, "HOME=", 5) == 0 ||
					       strncmp(*e, "SHELL=", 6) == 0 ||
					       strncmp(*e, "PATH=", 5) == 0),
				      "%s passed with options \"%s\"", *e, options[o]);
		strv_free(env);
		policy_free(p);
	}
	/* A good TZ passes; relative zone names have a '/'. */
	expect_env(NULL, LIST("TZ=Europe/Paris"), NULL, LIST(FORCED, "TZ=Europe/Paris"));
	expect_env(NULL, LIST("TZ=:" SPAWND_ZONEINFO_DIR "/UTC"), NULL,
		   LIST(FORCED, "TZ=:" SPAWND_ZONEINFO_DIR "/UTC"));

	/* Explicit: refused for the value, whether keepenv or setenv NAME let the name in. */
	expect_value_refused("keepenv", LIST("LANGUAGE=../../../../tmp/x"), "LANGUAGE");
	expect_value_refused("setenv { LANGUAGE }", LIST("LANGUAGE=../../../../tmp/x"), "LANGUAGE");
	expect_value_refused("keepenv", LIST("LC_ALL=/tmp/locale"), "LC_ALL");
	expect_value_refused("keepenv", LIST("LC_MESSAGES=%n"), "LC_MESSAGES");
	expect_value_refused("keepenv", LIST("TERM=../x"), "TERM");
	expect_value_refused("keepenv", LIST("LINGUAS=../x"), "LINGUAS");
	expect_value_refused("keepenv", LIST("OK=1", "TZ=/tmp/zone"), "TZ");
	expect_refused_why("keepenv", NULL, LIST("TZ=:/tmp/zone"), "TZ", &why);
	ck_assert_msg(strstr(why, SPAWND_ZONEINFO_DIR), "TZ refused for '%s'", why);
	/* Without keepenv the name is refused first, as before. */
	expect_refused("", NULL, LIST("LANGUAGE=../x"), "LANGUAGE");
	/* Good values pass explicitly. */
	expect_env("keepenv", NULL, LIST("LANGUAGE=de:en", "TZ=Europe/Berlin", "LC_ALL=C.UTF-8"),
		   LIST(FORCED, "LANGUAGE=de:en", "TZ=Europe/Berlin", "LC_ALL=C.UTF-8"));
	/* keepenv passes other values unchecked. */
	expect_env("keepenv", LIST("FOO=/x/../%n"), LIST("BAR=../y"),
		   LIST(FORCED, "FOO=/x/../%n", "BAR=../y"));

	/* The admin's own value is trusted, and beats the client's. */
	expect_env("setenv { LANGUAGE=/opt/app/locale TZ=/etc/localtime }",
		   LIST("LANGUAGE=../x", "TZ=UTC"), NULL,
		   LIST(FORCED, "LANGUAGE=/opt/app/locale", "TZ=/etc/localtime"));
	expect_refused("setenv { LANGUAGE=de }", NULL, LIST("LANGUAGE=../x"), "LANGUAGE");
}
END_TEST

/* sudo's "*=()*": a value that an old bash imports as a function is denylisted. */
START_TEST(test_function_values)
{
	expect_env("keepenv", LIST("FOO=() { id; }", "BAR=(x)", "BAZ=x()"), NULL,
		   LIST(FORCED, "BAR=(x)", "BAZ=x()"));
	expect_refused("keepenv", NULL, LIST("FOO=() { id; }"), "FOO");
	expect_env("setenv { FOO }", LIST("FOO=() { id; }"), NULL, LIST(FORCED, "FOO=() { id; }"));
}
END_TEST

/* ---- HOSTILE.md 42: the denylist, family by family ---- */

/* A name that an entry covers: the name itself, or a member of the prefix family. */
static void
entry_instance(const struct env_pattern *e, char *buf, size_t size)
{
	(void)snprintf(buf, size, "%s%s", e->name, e->prefix ? "SPAWND_X" : "");
}

struct family {
	const char *name;
	const char *const *members;
};

/* sudo 1.9 plugins/sudoers/env.c initial_badenv_table, every platform, '*' instantiated. */
static const char *const fam_sudo[] = {
	"IFS",
	"CDPATH",
	"LOCALDOMAIN",
	"RES_OPTIONS",
	"HOSTALIASES",
	"NLSPATH",
	"PATH_LOCALE",
	"LD_X",
	"_RLD_X",
	"_RLDX",
	"SHLIB_PATH",
	"LDR_X",
	"LIBPATH",
	"AUTHSTATE",
	"DYLD_INSERT_LIBRARIES",
	"KRB5_CONFIG",
	"KRB5_CONFIGX",
	"KRB5_KTNAME",
	"VAR_ACE",
	"USR_ACE",
	"DLC_ACE",
	"TERMINFO",
	"TERMINFO_DIRS",
	"TERMPATH",
	"TERMCAP",
	"ENV",
	"BASH_ENV",
	"PS4",
	"GLOBIGNORE",
	"BASHOPTS",
	"SHELLOPTS",
	"JAVA_TOOL_OPTIONS",
	"_JAVA_OPTIONS",
	"CLASSPATH",
	"PERLIO_DEBUG",
	"PERLLIB",
	"PERL5LIB",
	"PERL5OPT",
	"PERL5DB",
	"FPATH",
	"NULLCMD",
	"READNULLCMD",
	"ZDOTDIR",
	"TMPPREFIX",
	"PYTHONHOME",
	"PYTHONPATH",
	"PYTHONINSPECT",
	"PYTHONUSERBASE",
	"PYTHONSTARTUP",
	"RUBYLIB",
	"RUBYOPT",
	"NODE_OPTIONS",
	"NODE_PATH",
	"GIT_SSH_COMMAND",
	"GIT_CONFIG_GLOBAL",
	"GIT_CONFIG_KEY_0",
	"GCONV_PATH",
	NULL,
};

/* glibc sysdeps/generic/unsecvars.h UNSECURE_ENVVARS, plus GLIBC_TUNABLES (elf/dl-tunables.c). */
static const char *const fam_glibc[] = {
	"GCONV_PATH",	    "GETCONF_DIR",
	"HOSTALIASES",	    "LD_AUDIT",
	"LD_DEBUG",	    "LD_DEBUG_OUTPUT",
	"LD_DYNAMIC_WEAK",  "LD_HWCAP_MASK",
	"LD_LIBRARY_PATH",  "LD_ORIGIN_PATH",
	"LD_PRELOAD",	    "LD_PROFILE",
	"LD_SHOW_AUXV",	    "LOCALDOMAIN",
	"LOCPATH",	    "MALLOC_TRACE",
	"NIS_PATH",	    "NLSPATH",
	"RESOLV_HOST_CONF", "RES_OPTIONS",
	"TMPDIR",	    "TZDIR",
	"GLIBC_TUNABLES",   "MALLOC_CHECK_",
	"MALLOC_PERTURB_",  "MALLOC_ARENA_MAX",
	"MALLOC_CONF",	    NULL,
};

static const char *const fam_shells[] = {
	"BASH_ENV", "BASH_FUNC_ls%%", "BASH_XTRACEFD", "BASH_LOADABLES_PATH",
	"BASHOPTS", "SHELLOPTS",      "ENV",	       "IFS",
	"PS4",	    "ZDOTDIR",	      "FPATH",	       "INPUTRC",
	NULL,
};

static const char *const fam_perl_python_ruby[] = {
	"PERLLIB",	    "PERL5LIB",	     "PERL5OPT",   "PERL5DB",	     "PERLIO",
	"PERLDOC_PAGER",    "PERL_UNICODE",  "PYTHONPATH", "PYTHONHOME",     "PYTHONWARNINGS",
	"PYTHONBREAKPOINT", "PIP_INDEX_URL", "RUBYLIB",	   "RUBYOPT",	     "RUBYSHELL",
	"GEM_PATH",	    "GEM_HOME",	     "GEMRC",	   "BUNDLE_GEMFILE", NULL,
};

static const char *const fam_node_java_lua_tcl[] = {
	"NODE_OPTIONS",
	"NODE_PATH",
	"NODE_EXTRA_CA_CERTS",
	"NODE_REPL_EXTERNAL_MODULE",
	"NPM_CONFIG_SCRIPT_SHELL",
	"npm_config_script_shell",
	"JAVA_TOOL_OPTIONS",
	"_JAVA_OPTIONS",
	"JDK_JAVA_OPTIONS",
	"JAVA_OPTS",
	"JAVA_HOME",
	"CLASSPATH",
	"LUA_INIT",
	"LUA_INIT_5_4",
	"LUA_PATH",
	"LUA_PATH_5_1",
	"LUA_CPATH",
	"LUA_CPATH_5_3",
	"TCLLIBPATH",
	"TCL_LIBRARY",
	"TK_LIBRARY",
	"PHPRC",
	"PHP_INI_SCAN_DIR",
	"R_LIBS_USER",
	"DOTNET_STARTUP_HOOKS",
	"CORECLR_PROFILER_PATH",
	"MONO_PATH",
	"ERL_LIBS",
	NULL,
};

static const char *const fam_libraries[] = {
	"TERMINFO",
	"TERMINFO_DIRS",
	"TERMCAP",
	"OPENSSL_CONF",
	"OPENSSL_ENGINES",
	"OPENSSL_MODULES",
	"SSL_CERT_FILE",
	"SSL_CERT_DIR",
	"SSLKEYLOGFILE",
	"GNUTLS_SYSTEM_PRIORITY_FILE",
	"KRB5_CONFIG",
	"KRB5_TRACE",
	"LDAPCONF",
	"LDAPRC",
	"SASL_PATH",
	"GNUPGHOME",
	"GIO_EXTRA_MODULES",
	"GST_PLUGIN_PATH",
	"QT_PLUGIN_PATH",
	"VK_ICD_FILENAMES",
	"ODBCINI",
	"MAGIC",
	NULL,
};

static const char *const fam_commands[] = {
	"EDITOR",
	"VISUAL",
	"PAGER",
	"MANPAGER",
	"SYSTEMD_PAGER",
	"SYSTEMD_EDITOR",
	"SYSTEMD_LESS",
	"SYSTEMD_PAGERSECURE",
	"LESSOPEN",
	"LESSCLOSE",
	"LESS",
	"LESSKEYIN",
	"BROWSER",
	"SSH_ASKPASS",
	"SUDO_ASKPASS",
	"VIMINIT",
	"EXINIT",
	"GIT_EXEC_PATH",
	"GIT_DIR",
	"GIT_PAGER",
	"GIT_EDITOR",
	"GIT_ASKPASS",
	"TAR_OPTIONS",
	"RSYNC_RSH",
	"GOFLAGS",
	"GOTOOLCHAIN",
	"RUSTC_WRAPPER",
	"CARGO_HOME",
	"GCC_EXEC_PREFIX",
	"MAKEFLAGS",
	"MAKEFILES",
	"ASAN_OPTIONS",
	NULL,
};

static const char *const fam_session[] = {
	"XDG_CONFIG_HOME",
	"XDG_CONFIG_DIRS",
	"XDG_DATA_DIRS",
	"XDG_RUNTIME_DIR",
	"DBUS_SESSION_BUS_ADDRESS",
	"DBUS_SYSTEM_BUS_ADDRESS",
	"NOTIFY_SOCKET",
	"LISTEN_FDS",
	"LISTEN_PID",
	"CREDENTIALS_DIRECTORY",
	"TMP",
	"TEMP",
	NULL,
};

static const struct family families[] = {
	{"sudo's initial_badenv_table", fam_sudo},
	{"glibc's UNSECURE_ENVVARS", fam_glibc},
	{"shells", fam_shells},
	{"perl, python, ruby", fam_perl_python_ruby},
	{"node, java, lua, tcl, php, r, .net", fam_node_java_lua_tcl},
	{"terminfo, tls, kerberos, ldap, plugins", fam_libraries},
	{"commands programs run, toolchains", fam_commands},
	{"session, service manager, temp dirs", fam_session},
};

/* Each family: denied by name, dropped under keepenv, refused explicitly, passed by setenv NAME. */
START_TEST(test_denylist_family)
{
	const struct family *f = &families[_i];

	for (size_t i = 0; f->members[i]; i++) {
		const char *name = f->members[i];
		char entry[160], opts[200];

		ck_assert_msg(env_name_denied(name), "%s (%s) not denied", name, f->name);
		(void)snprintf(entry, sizeof(entry), "%s=/nonexistent/evil", name);
		expect_env("keepenv", LIST(entry), NULL, LIST(FORCED));
		expect_refused("keepenv", NULL, LIST(entry), name);
		if (strchr(name, '%'))
			continue; /* not a name a policy file can spell */
		(void)snprintf(opts, sizeof(opts), "keepenv setenv { %s }", name);
		expect_env(opts, LIST(entry), NULL, LIST(FORCED, entry));
	}
}
END_TEST

/* The table itself: no empty, duplicate or shadowed entry; never a name spawnd sets or allows. */
START_TEST(test_denylist_table)
{
	static const char *const never[] = {
		"HOME",	      "SHELL", "USER",	    "LOGNAME",	"PATH",	  "SPAWND_USER",
		"SPAWND_UID", "TERM",  "LANG",	    "LANGUAGE", "LC_ALL", "LC_",
		"LINGUAS",    "TZ",    "COLORTERM", "NO_COLOR",
	};
	const struct env_pattern *t = NULL;
	size_t n = env_denylist(&t);

	ck_assert_uint_gt(n, 100);
	for (size_t i = 0; i < n; i++) {
		char inst[160];

		ck_assert_uint_gt(strlen(t[i].name), 0);
		entry_instance(&t[i], inst, sizeof(inst));
		ck_assert_msg(env_name_denied(inst), "%s not denied", inst);
		for (size_t j = 0; j < n; j++) {
			size_t lj = strlen(t[j].name);

			if (i == j)
				continue;
			ck_assert_msg(strcmp(t[i].name, t[j].name) != 0, "%s listed twice",
				      t[i].name);
			/* A prefix entry j must not already cover entry i. */
			ck_assert_msg(!t[j].prefix || strncmp(t[i].name, t[j].name, lj) != 0,
				      "%s is covered by %s*", t[i].name, t[j].name);
		}
	}
	for (size_t i = 0; i < ELEMENTSOF(never); i++)
		ck_assert_msg(!env_name_denied(never[i]), "%s denied", never[i]);
}
END_TEST

/*
 * docs/spawnd.conf.5 lists the same table: every entry, and nothing else,
 * between its BEGIN DENYLIST and END DENYLIST markers (NAME* for a prefix;
 * the line after each .TP is a family heading).
 */
START_TEST(test_man_page_lists_denylist)
{
	const char *path = SPAWND_SOURCE_DIR "/docs/spawnd.conf.5";
	const struct env_pattern *t = NULL;
	size_t n = env_denylist(&t), n_listed = 0;
	char line[1024], listed[512][64];
	bool in = false, heading = false, seen[512] = {false};
	FILE *f = fopen(path, "re");

	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	ck_assert_uint_le(n, ELEMENTSOF(seen));
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "BEGIN DENYLIST"))
			in = true;
		else if (strstr(line, "END DENYLIST"))
			in = false;
		if (!in)
			continue;
		if (line[0] == '.' || line[0] == '\'') {
			heading = strncmp(line, ".TP", 3) == 0;
			continue;
		}
		if (heading) {
			heading = false;
			continue;
		}
		for (char *save = NULL, *w = strtok_r(line, ", \n", &save); w;
		     w = strtok_r(NULL, ", \n", &save)) {
			ck_assert_uint_lt(n_listed, ELEMENTSOF(listed));
			ck_assert_uint_lt(strlen(w), sizeof(listed[0]));
			strcpy(listed[n_listed++], w);
		}
	}
	(void)fclose(f);

	for (size_t k = 0; k < n_listed; k++) {
		bool found = false;

		for (size_t i = 0; i < n && !found; i++) {
			size_t l = strlen(t[i].name);

			if (strncmp(listed[k], t[i].name, l) == 0 &&
			    strcmp(listed[k] + l, t[i].prefix ? "*" : "") == 0) {
				ck_assert_msg(!seen[i], "%s listed twice in %s", listed[k], path);
				seen[i] = found = true;
			}
		}
		ck_assert_msg(found, "%s lists %s, which daemon/environ.c does not", path,
			      listed[k]);
	}
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(seen[i], "%s does not list %s%s", path, t[i].name,
			      t[i].prefix ? "*" : "");
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

	tc = tcase_create("values");
	tcase_add_test(tc, test_value_rules);
	tcase_add_test(tc, test_tz_rules);
	tcase_add_test(tc, test_values_in_build);
	tcase_add_test(tc, test_function_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("denylist");
	tcase_add_loop_test(tc, test_denylist_family, 0, ELEMENTSOF(families));
	tcase_add_test(tc, test_denylist_table);
	tcase_add_test(tc, test_man_page_lists_denylist);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(environ_suite(), EXIT_SUCCESS);
}
