/* SPDX-License-Identifier: MIT */
/*
 * The child's environment (environ.h, DESIGN.md section 5).
 *
 * Built from empty, like doas env.c: a client's variables pass only through
 * the allowlist, `keepenv` or the rule's `setenv`, and the loader/interpreter
 * variables on the denylist never pass unless the admin names them
 * (flatpak CVE-2021-21261; sudo initial_badenv_table). The values of the
 * locale and terminal variables are checked like sudo's env_check, because
 * they are paths to gettext and setlocale() (HOSTILE.md 39). Explicit
 * settings that are not allowed refuse the request instead of being dropped,
 * so a client always learns why its variable is missing.
 *
 * Every candidate (inherited, explicit, forced, rule) becomes an entry with
 * a priority; sorting by name and keeping the highest priority per name
 * gives a sorted, duplicate-free envp in O(n log n) for any request size.
 */
/* asprintf(), vasprintf() */
#define _GNU_SOURCE

#include "environ.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

#define NAME(n)                                                                                    \
	{                                                                                          \
		n, false                                                                           \
	}
#define PREFIX(p)                                                                                  \
	{                                                                                          \
		p, true                                                                            \
	}

/*
 * The denylist: never from a client, even under keepenv, unless the rule
 * names the variable in setenv (DESIGN.md 5; HOSTILE.md 16 and 42). It is
 * sudo's whole initial_badenv_table (plugins/sudoers/env.c, "*=()*" is
 * function_value() below), glibc's UNSECURE_ENVVARS (sysdeps/generic/
 * unsecvars.h: what the loader strips for set-uid programs; spawnd's
 * children are not set-uid, so nothing strips them but this table), and
 * the variables that make a common interpreter, runtime or tool load code
 * or configuration from a path, or run a command. A prefix entry covers a
 * family in which nearly every member does. docs/spawnd.conf.5 lists the
 * same entries; check_environ's test_man_page_lists_denylist keeps the two
 * in step.
 *
 * Deliberately not listed (keepenv passes them): DISPLAY, XAUTHORITY,
 * WAYLAND_DISPLAY, KRB5CCNAME, SSH_AUTH_SOCK and GPG_TTY point the target
 * at the client's own session, display or credentials, which gains the
 * client nothing; http_proxy and friends route traffic whose TLS is still
 * checked against the target's CA store (SSL_CERT_* are listed); PS1, PS2,
 * PROMPT_COMMAND and HISTFILE act only in an interactive shell, and a rule
 * that lets a client drive one grants that shell already; CC, CFLAGS and
 * the like: make, cmake and autotools take every variable as input, so
 * keepenv with a build tool is client code by design (spawnd.conf(5)).
 */
static const struct env_pattern denylist[] = {
	/* The dynamic loader and glibc (UNSECURE_ENVVARS, GLIBC_TUNABLES). */
	PREFIX("LD_"),	    /* LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, LD_DEBUG_OUTPUT, ... */
	NAME("GCONV_PATH"), /* iconv modules (.so) */
	NAME("GETCONF_DIR"),
	NAME("GLIBC_TUNABLES"),
	PREFIX("MALLOC_"), /* MALLOC_TRACE writes a file; MALLOC_CHECK_, jemalloc MALLOC_CONF */
	NAME("LOCPATH"),   /* locale files */
	NAME("LOCALE_ARCHIVE"), /* the same on Nix-patched glibc */
	NAME("I18NPATH"),	/* localedef sources */
	NAME("NLSPATH"),	/* catopen() catalogs: printf formats */
	NAME("TZDIR"),		/* zone files: TZ is checked against the system directory instead */
	NAME("TMPDIR"),		/* temporary files in a client-owned directory */
	NAME("TMP"),		/* read like TMPDIR by Python's tempfile and others */
	NAME("TEMP"),		/* likewise */
	/* Name service and the resolver. */
	NAME("HOSTALIASES"),
	NAME("LOCALDOMAIN"),
	NAME("RES_OPTIONS"),
	PREFIX("RESOLV_"), /* RESOLV_HOST_CONF and the older RESOLV_* knobs */
	NAME("NIS_PATH"),
	/* Loaders of other systems (sudo's table); they cost nothing here. */
	PREFIX("_RLD"),
	NAME("SHLIB_PATH"),
	PREFIX("LDR_"),
	NAME("LIBPATH"),
	NAME("AUTHSTATE"),
	PREFIX("DYLD_"),
	NAME("PATH_LOCALE"),
	NAME("VAR_ACE"),
	NAME("USR_ACE"),
	NAME("DLC_ACE"),
	/* Shells: files they source, code they run, how they split words. */
	NAME("IFS"),
	NAME("CDPATH"),
	NAME("ENV"),	 /* sh, ksh: file to source */
	PREFIX("BASH_"), /* BASH_ENV, BASH_FUNC_*%%, BASH_XTRACEFD, BASH_LOADABLES_PATH */
	NAME("BASHOPTS"),
	NAME("SHELLOPTS"),
	NAME("PS4"), /* expanded, $(...) too, under xtrace */
	NAME("GLOBIGNORE"),
	NAME("FPATH"), /* ksh, zsh: function autoload path */
	NAME("NULLCMD"),
	NAME("READNULLCMD"),
	NAME("ZDOTDIR"), /* zsh dot files */
	NAME("TMPPREFIX"),
	NAME("INPUTRC"), /* readline init file */
	/* Terminals. */
	NAME("TERMINFO"),
	NAME("TERMINFO_DIRS"),
	NAME("TERMPATH"),
	NAME("TERMCAP"),
	/* Interpreters: Perl, Python, Ruby, Node.js, PHP, Lua, Tcl/Tk, R, Julia, Guile, ... */
	PREFIX("PERL"),	  /* PERLLIB, PERL5LIB, PERL5OPT, PERL5DB, PERLIO_DEBUG, PERLDOC_PAGER */
	PREFIX("PYTHON"), /* PYTHONPATH, PYTHONHOME, PYTHONSTARTUP, PYTHONWARNINGS (imports) */
	PREFIX("PIP_"),	  /* every pip option, e.g. PIP_INDEX_URL, PIP_CONFIG_FILE */
	PREFIX("RUBY"),	  /* RUBYLIB, RUBYOPT, RUBYPATH, RUBYSHELL */
	PREFIX("GEM_"),	  /* GEM_PATH, GEM_HOME: where require finds gems */
	NAME("GEMRC"),
	PREFIX("BUNDLE_"), /* BUNDLE_GEMFILE is Ruby code */
	PREFIX("NODE_"), /* NODE_OPTIONS, NODE_PATH, NODE_EXTRA_CA_CERTS, NODE_REPL_EXTERNAL_MODULE
			  */
	PREFIX("NPM_CONFIG_"), /* npm options, e.g. script-shell */
	PREFIX("npm_config_"), /* npm reads them in either case */
	PREFIX("YARN_"),
	NAME("ELECTRON_RUN_AS_NODE"),
	NAME("PHPRC"),
	NAME("PHP_INI_SCAN_DIR"),
	PREFIX("LUA_"), /* LUA_INIT (code), LUA_PATH, LUA_CPATH and their _5_x forms */
	PREFIX("TCL"),	/* TCLLIBPATH, TCL_LIBRARY */
	NAME("TK_LIBRARY"),
	PREFIX("R_"),	  /* R_LIBS*, R_PROFILE*, R_ENVIRON*, R_HOME */
	PREFIX("JULIA_"), /* JULIA_LOAD_PATH, JULIA_DEPOT_PATH, JULIA_PROJECT */
	PREFIX("GUILE_"), /* GUILE_LOAD_PATH, GUILE_LOAD_COMPILED_PATH */
	NAME("OCAMLPATH"),
	NAME("CAML_LD_LIBRARY_PATH"),
	PREFIX("ERL_"), /* ERL_LIBS, ERL_FLAGS, ERL_AFLAGS, ERL_ZFLAGS */
	NAME("ELIXIR_ERL_OPTIONS"),
	NAME("GHC_ENVIRONMENT"),
	NAME("GHC_PACKAGE_PATH"),
	/* Java, .NET, Mono. */
	PREFIX("JAVA_"), /* JAVA_TOOL_OPTIONS (-javaagent), JAVA_OPTS, JAVA_HOME of wrapper scripts
			  */
	NAME("_JAVA_OPTIONS"),
	NAME("JDK_JAVA_OPTIONS"),
	NAME("CLASSPATH"),
	NAME("MAVEN_OPTS"),
	NAME("GRADLE_OPTS"),
	NAME("GRADLE_USER_HOME"), /* init scripts */
	NAME("ANT_OPTS"),
	PREFIX("DOTNET_"),  /* DOTNET_STARTUP_HOOKS, DOTNET_ADDITIONAL_DEPS */
	PREFIX("CORECLR_"), /* CORECLR_PROFILER_PATH */
	PREFIX("COMPlus_"),
	PREFIX("MONO_"), /* MONO_PATH, MONO_CONFIG, MONO_ENV_OPTIONS */
	/* Go, Rust and the C toolchain. */
	NAME("GOFLAGS"), /* -toolexec */
	NAME("GOENV"),
	NAME("GOROOT"),
	NAME("GOPATH"),
	NAME("GOCACHE"), /* compiled objects */
	NAME("GOMODCACHE"),
	NAME("GOTOOLCHAIN"), /* downloads and runs a toolchain */
	NAME("GOPROXY"),
	NAME("GONOPROXY"),
	NAME("GOSUMDB"),
	NAME("GONOSUMDB"),
	NAME("GOPRIVATE"),
	NAME("GOINSECURE"),
	NAME("GODEBUG"),  /* changes crypto and TLS defaults of any Go program */
	PREFIX("CARGO_"), /* CARGO_HOME, CARGO_BUILD_RUSTC_WRAPPER, CARGO_TARGET_*_RUNNER */
	PREFIX("RUSTC"),  /* RUSTC, RUSTC_WRAPPER, RUSTC_WORKSPACE_WRAPPER */
	PREFIX("RUSTUP_"),
	NAME("RUSTFLAGS"),
	NAME("RUSTDOCFLAGS"),
	NAME("RUSTDOC"),
	NAME("GCC_EXEC_PREFIX"), /* cc1, as, ld from there */
	NAME("COMPILER_PATH"),
	NAME("DEPENDENCIES_OUTPUT"), /* gcc writes this file */
	NAME("SUNPRO_DEPENDENCIES"),
	NAME("MAKEFLAGS"), /* may carry SHELL=... */
	NAME("GNUMAKEFLAGS"),
	NAME("MFLAGS"),
	NAME("MAKEFILES"), /* read before the makefile */
	/* Sanitizer and profiler runtimes: options that run a program or write files. */
	NAME("ASAN_OPTIONS"), /* external_symbolizer_path, log_path */
	NAME("UBSAN_OPTIONS"),
	NAME("LSAN_OPTIONS"),
	NAME("MSAN_OPTIONS"),
	NAME("TSAN_OPTIONS"),
	NAME("HWASAN_OPTIONS"),
	NAME("LLVM_PROFILE_FILE"),
	NAME("GCOV_PREFIX"),
	NAME("HEAPPROFILE"), /* gperftools */
	NAME("HEAPCHECK"),
	NAME("CPUPROFILE"),
	/* Commands that programs run: editors, pagers, askpass, browsers. */
	NAME("EDITOR"), /* crontab -e, git, visudo: a client-chosen program as the target */
	NAME("VISUAL"),
	NAME("SELECTED_EDITOR"),
	NAME("SUDO_EDITOR"),
	NAME("PAGER"), /* man, git, journalctl */
	NAME("MANPAGER"),
	NAME("MANOPT"), /* man options, e.g. --pager */
	NAME("MANPATH"),
	NAME("MANROFFOPT"),
	PREFIX("LESS"), /* LESSOPEN, LESSCLOSE (commands), LESSKEY*, LESSHISTFILE, LESS (options) */
	PREFIX("SYSTEMD_"), /* SYSTEMD_PAGER, SYSTEMD_EDITOR, SYSTEMD_LESS, SYSTEMD_PAGERSECURE,
			       debug knobs */
	NAME("BROWSER"),
	NAME("SSH_ASKPASS"),
	NAME("SSH_ASKPASS_REQUIRE"),
	NAME("SUDO_ASKPASS"),
	NAME("VIM"), /* $VIM/vimrc */
	NAME("VIMRUNTIME"),
	NAME("VIMINIT"), /* ex commands, :! included */
	NAME("GVIMINIT"),
	NAME("EXINIT"),
	NAME("EMACSLOADPATH"),
	NAME("EMACSPATH"),
	/* Version control and file transfer: configuration, hooks, transports. */
	PREFIX("GIT_"), /* GIT_SSH_COMMAND, GIT_EXEC_PATH, GIT_CONFIG_*, GIT_DIR (hooks),
			   GIT_ASKPASS */
	NAME("HGRCPATH"),
	NAME("CVS_RSH"),
	NAME("CVS_SERVER"),
	NAME("SVN_SSH"),
	PREFIX("RSYNC_"),    /* RSYNC_RSH, RSYNC_CONNECT_PROG */
	NAME("TAR_OPTIONS"), /* --to-command, --checkpoint-action=exec */
	NAME("WGETRC"),
	NAME("SYSTEM_WGETRC"),
	NAME("CURL_HOME"), /* .curlrc */
	/* TLS, Kerberos, LDAP, SASL, GnuPG: whom the target trusts, where its secrets go. */
	PREFIX("OPENSSL_"), /* OPENSSL_CONF, OPENSSL_ENGINES, OPENSSL_MODULES */
	PREFIX("GNUTLS_"),  /* GNUTLS_SYSTEM_PRIORITY_FILE */
	NAME("SSL_CERT_FILE"),
	NAME("SSL_CERT_DIR"),
	NAME("SSLKEYLOGFILE"), /* writes the target's TLS session keys */
	NAME("CURL_CA_BUNDLE"),
	NAME("REQUESTS_CA_BUNDLE"),
	PREFIX("KRB5_"), /* KRB5_CONFIG, KRB5_KTNAME, KRB5_CLIENT_KTNAME, KRB5_TRACE */
	NAME("KRB5RCACHEDIR"),
	PREFIX("LDAP"),	   /* LDAPCONF, LDAPRC and every ldap.conf option as LDAP<OPTION> */
	NAME("SASL_PATH"), /* SASL plugins (.so) */
	NAME("SASL_CONF_PATH"),
	NAME("GNUPGHOME"), /* the keyring a signature is checked against */
	/* Databases and other libraries that load plugins or configuration. */
	NAME("ODBCINI"),
	NAME("ODBCSYSINI"),
	NAME("PSQLRC"), /* psql runs \! from it */
	NAME("PGSYSCONFDIR"),
	NAME("PGSERVICEFILE"),
	NAME("PGPASSFILE"),
	NAME("MYSQL_HOME"),
	NAME("MAGIC"),	  /* libmagic database */
	NAME("TEXMFCNF"), /* can enable shell_escape */
	PREFIX("FONTCONFIG_"),
	PREFIX("ALSA_"), /* ALSA_CONFIG_PATH loads plugins */
	NAME("LIBGL_DRIVERS_PATH"),
	PREFIX("__EGL_VENDOR_LIBRARY_"),
	NAME("__GLX_VENDOR_LIBRARY_NAME"),
	PREFIX("VK_"), /* VK_ICD_FILENAMES, VK_LAYER_PATH */
	NAME("GIO_EXTRA_MODULES"),
	NAME("GIO_MODULE_DIR"),
	NAME("GI_TYPELIB_PATH"),
	NAME("GTK_PATH"),
	NAME("GTK_MODULES"),
	NAME("GTK_EXE_PREFIX"),
	NAME("GTK_DATA_PREFIX"),
	NAME("GTK_IM_MODULE_FILE"),
	NAME("GDK_PIXBUF_MODULE_FILE"),
	NAME("GDK_PIXBUF_MODULEDIR"),
	PREFIX("GST_"), /* GST_PLUGIN_PATH, GST_PLUGIN_SYSTEM_PATH */
	NAME("QT_PLUGIN_PATH"),
	NAME("QT_QPA_PLATFORM_PLUGIN_PATH"),
	NAME("QML_IMPORT_PATH"),
	NAME("QML2_IMPORT_PATH"),
	/* Desktop, session bus and service manager: config, data, sockets, fds. */
	PREFIX("XDG_"),	 /* XDG_CONFIG_HOME (git config: core.pager), XDG_DATA_DIRS, XDG_RUNTIME_DIR
			  */
	PREFIX("DBUS_"), /* a client-run bus answering the target, polkit included */
	NAME("NOTIFY_SOCKET"), /* sd_notify, FDSTORE=1 hands over fds */
	PREFIX("LISTEN_"),     /* LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES */
	NAME("CREDENTIALS_DIRECTORY"),
	NAME("CONFIGURATION_DIRECTORY"),
	NAME("RUNTIME_DIRECTORY"),
	NAME("STATE_DIRECTORY"),
	NAME("CACHE_DIRECTORY"),
	NAME("LOGS_DIRECTORY"),
};

/* Inherited variables that pass without keepenv. */
static const struct env_pattern allowlist[] = {
	NAME("TERM"), NAME("LANG"),	 NAME("LANGUAGE"), PREFIX("LC_"),
	NAME("TZ"),   NAME("COLORTERM"), NAME("NO_COLOR"),
};

/*
 * Variables whose client-supplied values are checked (HOSTILE.md 39; sudo's
 * initial_checkenv_table plus NO_COLOR): gettext appends LANGUAGE (and the
 * LC_MESSAGES locale name) to its catalog directory, so "../../../../tmp/x"
 * loads a client-made catalog, i.e. the printf formats of the target's
 * program; setlocale() loads an absolute LANG or LC_* as a locale directory
 * (CVE-2014-0475). The admin's setenv NAME=VALUE is not checked.
 */
static const struct env_pattern checked[] = {
	NAME("TERM"),	 NAME("LANG"), NAME("LANGUAGE"),  PREFIX("LC_"),
	NAME("LINGUAS"), NAME("TZ"),   NAME("COLORTERM"), NAME("NO_COLOR"),
};

/* Set by the daemon for every child; a client overrides them only via setenv NAME. */
enum forced_var {
	FORCED_HOME,
	FORCED_SHELL,
	FORCED_USER,
	FORCED_LOGNAME,
	FORCED_PATH,
	FORCED_SPAWND_USER,
	FORCED_SPAWND_UID,
	_FORCED_MAX,
};

static const char *const forced_names[_FORCED_MAX] = {
	[FORCED_HOME] = "HOME",
	[FORCED_SHELL] = "SHELL",
	[FORCED_USER] = "USER",
	[FORCED_LOGNAME] = "LOGNAME",
	[FORCED_PATH] = "PATH",
	[FORCED_SPAWND_USER] = "SPAWND_USER",
	[FORCED_SPAWND_UID] = "SPAWND_UID",
};

/*
 * For one name, the candidate with the highest priority wins. A forced
 * variable that the rule lets the client set (setenv NAME) drops to the
 * bottom so that the client's value, if any, replaces it.
 */
enum entry_prio {
	PRIO_FORCED_WEAK,
	PRIO_INHERIT,
	PRIO_EXPLICIT,
	PRIO_FORCED,
	PRIO_RULE_SET,
	PRIO_RULE_REMOVE,
};

struct entry {
	const char *name;
	size_t name_len;
	const char *value; /* NULL for a removal */
	enum entry_prio prio;
	size_t seq; /* tie-breaker: keeps qsort() deterministic */
};

static bool
name_eq(const char *a, size_t a_len, const char *b)
{
	return strlen(b) == a_len && memcmp(a, b, a_len) == 0;
}

static bool
name_matches(const struct env_pattern *list, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		size_t plen = strlen(list[i].name);

		if (list[i].prefix ? len >= plen && memcmp(name, list[i].name, plen) == 0
				   : name_eq(name, len, list[i].name))
			return true;
	}
	return false;
}

/* sudo's "*=()*": a value that an old bash would import as a function. */
static bool
function_value(const char *value)
{
	return value && value[0] == '(' && value[1] == ')';
}

/* By name (the table) or by value (a function definition). */
static bool
denied(const char *name, size_t len, const char *value)
{
	return name_matches(denylist, ELEMENTSOF(denylist), name, len) || function_value(value);
}

static bool
allowed(const char *name, size_t len)
{
	return name_matches(allowlist, ELEMENTSOF(allowlist), name, len);
}

/*
 * sudo's tz_is_safe(), stricter: an optional ':' (tzcode's "this is a file"
 * mark), then printable non-space bytes without '%' or "..", at most
 * SPAWND_TZ_MAX in all; an absolute path must lie under the zoneinfo
 * directory. A relative name ("Europe/Paris") or a POSIX rule
 * ("EST5EDT,M3.2.0/2,M11.1.0/2") is looked up under that directory by glibc
 * (TZDIR is denylisted), so its '/' is harmless once ".." is gone.
 */
static bool
tz_allowed(const char *value)
{
	const char *tz = value[0] == ':' ? value + 1 : value;

	if (strlen(value) > SPAWND_TZ_MAX)
		return false;
	if (tz[0] == '/' &&
	    (strncmp(tz, SPAWND_ZONEINFO_DIR "/", strlen(SPAWND_ZONEINFO_DIR "/")) != 0 ||
	     tz[strlen(SPAWND_ZONEINFO_DIR "/")] == '\0'))
		return false;
	for (const unsigned char *p = (const unsigned char *)tz; *p; p++)
		/* isprint() and isspace() without the locale: printable ASCII, no space. */
		if (*p <= ' ' || *p > '~' || *p == '%')
			return false;
	return !strstr(tz, "..");
}

static bool
value_allowed(const char *name, size_t len, const char *value)
{
	if (!name_matches(checked, ELEMENTSOF(checked), name, len))
		return true;
	if (name_eq(name, len, "TZ"))
		return tz_allowed(value);
	return !strpbrk(value, "/%") && !strstr(value, "..");
}

size_t
env_denylist(const struct env_pattern **ret)
{
	*ret = denylist;
	return ELEMENTSOF(denylist);
}

bool
env_name_denied(const char *name)
{
	return name && denied(name, strlen(name), NULL);
}

bool
env_name_allowed(const char *name)
{
	return name && allowed(name, strlen(name));
}

bool
env_value_allowed(const char *name, const char *value)
{
	return name && value && value_allowed(name, strlen(name), value);
}

static bool
forced(const char *name, size_t len)
{
	for (size_t i = 0; i < _FORCED_MAX; i++)
		if (name_eq(name, len, forced_names[i]))
			return true;
	return false;
}

/* The rule's setenv entry for a name, or NULL. */
static const struct env_rule *
rule_entry(const struct policy_rule *rule, const char *name, size_t len)
{
	if (!rule)
		return NULL;
	for (size_t i = 0; i < rule->n_env; i++)
		if (name_eq(name, len, rule->env[i].name))
			return &rule->env[i];
	return NULL;
}

/* Split "NAME=VALUE"; request.c already refused malformed entries, this is a second guard. */
static int
split(const char *s, size_t *ret_len, const char **ret_value)
{
	const char *eq = strchr(s, '=');

	if (!eq || eq == s)
		return -EINVAL;
	*ret_len = (size_t)(eq - s);
	*ret_value = eq + 1;
	return 0;
}

/*
 * Inherited variables are filtered silently (DESIGN.md 5): by name, then
 * by value, whatever let the name through.
 */
static bool
inherited_passes(const struct policy_rule *rule, const char *name, size_t len, const char *value)
{
	const struct env_rule *e = rule_entry(rule, name, len);

	if (e)
		return e->action == ENV_PASS && value_allowed(name, len, value);
	if (denied(name, len, value))
		return false;
	return ((rule && rule->keepenv) || allowed(name, len)) && value_allowed(name, len, value);
}

static const char why_name[] = "not allowed by policy";
static const char why_value[] = "value not allowed (no '/', '%' or '..')";
static const char why_tz[] =
	"value not allowed (a zone under " SPAWND_ZONEINFO_DIR ", no '%' or '..')";

/*
 * An explicit setting passes when the admin named it (setenv NAME), or under
 * keepenv when nothing else claims the name: not denylisted, not forced by
 * the daemon, not fixed or removed by the rule; and when its value passes
 * the value check. Anything else would be silently overridden or dropped,
 * so it refuses the request instead. Returns NULL or why not.
 */
static const char *
explicit_refusal(const struct policy_rule *rule, const char *name, size_t len, const char *value)
{
	const struct env_rule *e = rule_entry(rule, name, len);

	if (e) {
		if (e->action != ENV_PASS)
			return why_name;
	} else if (denied(name, len, value) || forced(name, len) || !rule || !rule->keepenv)
		return why_name;
	if (!value_allowed(name, len, value))
		return name_eq(name, len, "TZ") ? why_tz : why_value;
	return NULL;
}

static int
entry_cmp(const void *a_, const void *b_)
{
	const struct entry *a = a_, *b = b_;
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);

	if (c != 0)
		return c;
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	if (a->prio != b->prio)
		return a->prio > b->prio ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void
add(struct entry *v, size_t *n, const char *name, size_t len, const char *value,
    enum entry_prio prio)
{
	v[*n] = (struct entry){
		.name = name,
		.name_len = len,
		.value = value,
		.prio = prio,
		.seq = *n,
	};
	(*n)++;
}

/*
 * Refuse first, so that nothing is allocated for a request that cannot run:
 * -EPERM with the name (ret_refused, allocated) and why (ret_why) for the
 * first explicit setting that explicit_refusal() refuses.
 */
static int
refuse_explicit(const struct policy_rule *rule, char *const *set, size_t n_set, char **ret_refused,
		const char **ret_why)
{
	for (size_t i = 0; i < n_set; i++) {
		const char *value = NULL, *why;
		size_t len = 0;

		if (split(set[i], &len, &value) < 0)
			return -EINVAL;
		why = explicit_refusal(rule, set[i], len, value);
		if (!why)
			continue;
		if (ret_refused) {
			char *name = strndup(set[i], len);

			if (!name)
				return -ENOMEM;
			*ret_refused = name;
		}
		if (ret_why)
			*ret_why = why;
		return -EPERM;
	}
	return 0;
}

/* The client's inherited variables that pass the filter, then its explicit settings. */
static int
add_client(struct entry *v, size_t *n, const struct policy_rule *rule, char *const *inherit,
	   size_t n_inherit, char *const *set, size_t n_set)
{
	for (size_t i = 0; i < n_inherit; i++) {
		const char *value = NULL;
		size_t len = 0;

		if (split(inherit[i], &len, &value) < 0)
			return -EINVAL;
		if (inherited_passes(rule, inherit[i], len, value))
			add(v, n, inherit[i], len, value, PRIO_INHERIT);
	}
	for (size_t i = 0; i < n_set; i++) {
		const char *value = NULL;
		size_t len = 0;

		(void)split(set[i], &len, &value);
		add(v, n, set[i], len, value, PRIO_EXPLICIT);
	}
	return 0;
}

/* The daemon's variables; uid_buf holds the client's uid as text and must outlive v. */
static void
add_forced(struct entry *v, size_t *n, const struct policy_rule *rule,
	   const struct target_user *target, const char *client_name, const char *uid_buf)
{
	const char *values[_FORCED_MAX] = {
		[FORCED_HOME] = target->home,
		[FORCED_SHELL] = target->shell,
		[FORCED_USER] = target->name,
		[FORCED_LOGNAME] = target->name,
		[FORCED_PATH] = SPAWND_FIXED_PATH,
		[FORCED_SPAWND_USER] = client_name ? client_name : uid_buf,
		[FORCED_SPAWND_UID] = uid_buf,
	};

	for (size_t i = 0; i < _FORCED_MAX; i++) {
		const char *name = forced_names[i];
		const struct env_rule *e = rule_entry(rule, name, strlen(name));

		add(v, n, name, strlen(name), values[i],
		    e && e->action == ENV_PASS ? PRIO_FORCED_WEAK : PRIO_FORCED);
	}
}

/* The rule's own setenv NAME=VALUE and unsetenv NAME. */
static void
add_rule(struct entry *v, size_t *n, const struct policy_rule *rule)
{
	for (size_t i = 0; rule && i < rule->n_env; i++) {
		const struct env_rule *e = &rule->env[i];

		if (e->action == ENV_SET)
			add(v, n, e->name, strlen(e->name), e->value ? e->value : "",
			    PRIO_RULE_SET);
		else if (e->action == ENV_REMOVE)
			add(v, n, e->name, strlen(e->name), NULL, PRIO_RULE_REMOVE);
	}
}

/* Sort the candidates and render each name's winner as NAME=VALUE (a removal renders nothing). */
static int
render_winners(struct entry *v, size_t n, char ***ret_envp)
{
	_cleanup_strv_free_ char **envp = NULL;
	size_t out = 0;

	qsort(v, n, sizeof(*v), entry_cmp);
	envp = calloc(n + 1, sizeof(char *));
	if (!envp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		/* After sorting, the first entry of each name is the winner. */
		if (i > 0 && v[i].name_len == v[i - 1].name_len &&
		    memcmp(v[i].name, v[i - 1].name, v[i].name_len) == 0)
			continue;
		if (!v[i].value)
			continue;
		if (asprintf(&envp[out], "%.*s=%s", (int)v[i].name_len, v[i].name, v[i].value) <
		    0) {
			envp[out] = NULL;
			return -ENOMEM;
		}
		out++;
	}
	*ret_envp = TAKE_PTR(envp);
	return 0;
}

int
env_build(const struct policy_rule *rule, const struct target_user *target, uid_t client_uid,
	  const char *client_name, char *const *inherit, char *const *set, char ***ret_envp,
	  char **ret_refused, const char **ret_why)
{
	_cleanup_free_ struct entry *v = NULL;
	size_t n_inherit = strv_length(inherit), n_set = strv_length(set);
	size_t n_rule = rule ? rule->n_env : 0, n = 0;
	char uid_buf[16];
	int r;

	if (!target || !target->name || !target->home || !target->shell)
		return -EINVAL;
	r = refuse_explicit(rule, set, n_set, ret_refused, ret_why);
	if (r < 0)
		return r;

	if (n_inherit > SIZE_MAX / 2 || n_set > SIZE_MAX / 2 - n_inherit)
		return -E2BIG;
	v = calloc(n_inherit + n_set + _FORCED_MAX + n_rule, sizeof(*v));
	if (!v)
		return -ENOMEM;
	r = add_client(v, &n, rule, inherit, n_inherit, set, n_set);
	if (r < 0)
		return r;
	(void)snprintf(uid_buf, sizeof(uid_buf), "%u", (unsigned)client_uid);
	add_forced(v, &n, rule, target, client_name, uid_buf);
	add_rule(v, &n, rule);
	return render_winners(v, n, ret_envp);
}
