/* SPDX-License-Identifier: MIT */
/*
 * The policy file (config.h): loading, the owner/mode check, and the
 * doas.conf-like grammar of DESIGN.md section 5.
 *
 *   permit|deny [options] IDENTITY [as TARGET] [cmd COMMAND [args [ARG ...]]]
 *   options: keepenv | narrowgroups | setenv { NAME NAME=VALUE -NAME ... }
 *
 * Lexing follows doas parse.y: words are split on spaces and tabs; '{', '}'
 * and '#' also end a word and '#' starts a comment to the end of the line.
 * Inside a word, "..." quotes (spaces, braces and '#' lose their meaning)
 * and a backslash takes the next character literally, in or out of quotes;
 * quoted and unquoted parts join into one word ("a"b is ab). A word with any
 * quote or backslash is never a keyword or a brace, so `"cmd"` names a user
 * called cmd. Unlike doas, a rule cannot continue on the next line, so a
 * setenv block must close on its own line, and a `NAME=$VAR` value (doas
 * copies the variable) is refused rather than taken literally.
 *
 * Names are resolved at load time. An unknown name is a warning and leaves a
 * rule that never matches (DESIGN.md 5); an NSS failure (not "not found") is
 * an error, because a `deny` rule that silently never matched would fail open.
 */
/* asprintf(), vasprintf() */
#define _GNU_SOURCE

#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "command.h"
#include "user.h"

/* Generous for any sane rule, small enough that a mistake cannot eat memory. */
#define CONFIG_LINE_MAX 8192
#define CONFIG_SIZE_MAX (1024 * 1024)

struct token {
	const char *text;
	bool quoted; /* had a quote or backslash: never a keyword or a brace */
};

struct tokens {
	struct token *v;
	size_t n, cap;
	char *store; /* all token texts, NUL-separated */
};

struct parser {
	const char *name;
	unsigned line;
	config_warn_fn warn;
	void *userdata;
	char *error;
	struct policy *policy;
	size_t cap_rules;
};

static const char *const reserved_words[] = {
	"permit", "deny", "keepenv", "narrowgroups", "setenv", "as", "cmd", "args", "{", "}",
};

static int parse_error(struct parser *p, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record the first error as "NAME:LINE: message" and return r. */
static int
parse_error(struct parser *p, int r, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	if (p->error)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg || asprintf(&p->error, "%s:%u: %s", p->name, p->line, msg) < 0)
		p->error = NULL;
	return r;
}

static int parse_warn(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hand "NAME:LINE: warning: message" to the caller's callback, if any. */
static int
parse_warn(struct parser *p, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *line = NULL;
	va_list ap;
	int r;

	if (!p->warn)
		return 0;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	/* On failure the *asprintf() pointer is undefined: reset it before the cleanup frees it. */
	if (r < 0) {
		msg = NULL;
		return parse_error(p, -ENOMEM, "out of memory");
	}
	if (asprintf(&line, "%s:%u: warning: %s", p->name, p->line, msg) < 0) {
		line = NULL;
		return parse_error(p, -ENOMEM, "out of memory");
	}
	p->warn(p->userdata, line);
	return 0;
}

static int
tokens_push(struct tokens *t, const char *text)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct token *v = reallocarray(t->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = (struct token){.text = text};
	return 0;
}

static void
tokens_done(struct tokens *t)
{
	free(t->v);
	free(t->store);
	*t = (struct tokens){};
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Split one line (no '\n', no NUL) into words; see the file comment for the rules. */
static int
tokenize(struct parser *p, const char *line, size_t len, struct tokens *ret)
{
	struct tokens t = {};
	size_t i = 0;
	char *w;

	/* Every word is at most as long as its input plus a NUL, and at
	 * least one input byte precedes each NUL: 2 * len + 1 is enough. */
	t.store = malloc(2 * len + 1);
	if (!t.store)
		return parse_error(p, -ENOMEM, "out of memory");
	w = t.store;

	for (;;) {
		bool quotes = false, escape = false, quoted = false;

		while (i < len && is_blank(line[i]))
			i++;
		if (i >= len || line[i] == '#')
			break;
		if (tokens_push(&t, w) < 0) {
			tokens_done(&t);
			return parse_error(p, -ENOMEM, "out of memory");
		}
		if (line[i] == '{' || line[i] == '}') {
			*w++ = line[i++];
			*w++ = '\0';
			continue;
		}
		for (; i < len; i++) {
			char c = line[i];

			if (escape) {
				*w++ = c;
				escape = false;
			} else if (c == '\\') {
				escape = quoted = true;
			} else if (c == '"') {
				quotes = !quotes;
				quoted = true;
			} else if (!quotes && (is_blank(c) || c == '{' || c == '}' || c == '#')) {
				break;
			} else
				*w++ = c;
		}
		*w++ = '\0';
		t.v[t.n - 1].quoted = quoted;
		if (escape || quotes) {
			tokens_done(&t);
			return parse_error(p, -EINVAL,
					   escape ? "unterminated escape at end of line"
						  : "unterminated quotes");
		}
	}
	*ret = t;
	return 0;
}

static bool
is_keyword(const struct token *t, const char *kw)
{
	return !t->quoted && strcmp(t->text, kw) == 0;
}

/* An unquoted keyword or brace where a name or path was expected. */
static bool
is_reserved(const struct token *t)
{
	for (size_t i = 0; i < ELEMENTSOF(reserved_words); i++)
		if (is_keyword(t, reserved_words[i]))
			return true;
	return false;
}

/* A setenv name: what a shell could export, so typos like `FOO BAR` read as two names. */
static bool
env_name_valid(const char *s, size_t len)
{
	if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static int
add_env_entry(struct parser *p, struct policy_rule *rule, const char *word)
{
	struct env_rule e = {.action = ENV_PASS}, *v;
	const char *name = word, *eq;
	size_t len;

	if (word[0] == '-') {
		e.action = ENV_REMOVE;
		name = word + 1;
		len = strlen(name);
	} else if ((eq = strchr(word, '='))) {
		e.action = ENV_SET;
		len = (size_t)(eq - word);
		if (eq[1] == '$')
			return parse_error(
				p, -EINVAL,
				"setenv '%s': copying a variable with $ is not supported", word);
	} else
		len = strlen(name);
	if (!env_name_valid(name, len))
		return parse_error(p, -EINVAL, "bad setenv entry '%s'", word);

	/* Two entries for one name (FOO and -FOO) would leave the meaning
	 * to the order of evaluation; make the admin pick one. */
	for (size_t i = 0; i < rule->n_env; i++)
		if (strlen(rule->env[i].name) == len && memcmp(rule->env[i].name, name, len) == 0)
			return parse_error(p, -EINVAL, "duplicate setenv entry '%.*s'", (int)len,
					   name);

	e.name = strndup(name, len);
	if (e.action == ENV_SET)
		e.value = strdup(name + len + 1);
	if (!e.name || (e.action == ENV_SET && !e.value)) {
		free(e.name);
		free(e.value);
		return parse_error(p, -ENOMEM, "out of memory");
	}
	/* n_env is bounded by the line length, so growing by one is cheap enough. */
	v = reallocarray(rule->env, rule->n_env + 1, sizeof(*v));
	if (!v) {
		free(e.name);
		free(e.value);
		return parse_error(p, -ENOMEM, "out of memory");
	}
	rule->env = v;
	rule->env[rule->n_env++] = e;
	return 0;
}

/* `setenv { ... }` starting at t->v[*i] == "setenv"; the block must close on this line. */
static int
parse_setenv(struct parser *p, const struct tokens *t, size_t *i, struct policy_rule *rule)
{
	size_t j = *i + 1;
	int r;

	if (j >= t->n || !is_keyword(&t->v[j], "{"))
		return parse_error(p, -EINVAL, "expected '{' after 'setenv'");
	for (j++;; j++) {
		if (j >= t->n)
			return parse_error(p, -EINVAL, "missing '}' to close 'setenv {'");
		if (is_keyword(&t->v[j], "}"))
			break;
		if (is_keyword(&t->v[j], "{"))
			return parse_error(p, -EINVAL, "unexpected '{' inside 'setenv { }'");
		r = add_env_entry(p, rule, t->v[j].text);
		if (r < 0)
			return r;
	}
	*i = j + 1;
	return 0;
}

/* IDENTITY: a user name or number, or :group (name or number). */
static int
parse_identity(struct parser *p, const char *word, struct policy_rule *rule)
{
	const char *name = word;
	uint32_t id;
	int r;

	if (word[0] == ':') {
		rule->is_group = true;
		name = word + 1;
		if (!*name)
			return parse_error(p, -EINVAL, "missing group name after ':'");
	} else if (!*name)
		return parse_error(p, -EINVAL, "empty identity");

	rule->ident_name = strdup(name);
	if (!rule->ident_name)
		return parse_error(p, -ENOMEM, "out of memory");

	if (user_is_numeric(name)) {
		/* A number is taken as is: the kernel reports uids and gids
		 * that need not have a passwd or group entry. */
		if (user_parse_id(name, &id) < 0)
			return parse_error(p, -EINVAL, "bad %s id '%s'",
					   rule->is_group ? "group" : "user", name);
		rule->ident_uid = (uid_t)id;
		rule->ident_gid = (gid_t)id;
		rule->ident_valid = true;
		return 0;
	}

	if (rule->is_group)
		r = user_lookup_gid(name, &rule->ident_gid);
	else
		r = user_lookup_uid(name, &rule->ident_uid);
	if (r == -ESRCH)
		return parse_warn(p, "unknown %s '%s'", rule->is_group ? "group" : "user", name);
	if (r < 0)
		return parse_error(p, r, "cannot look up %s '%s': %s",
				   rule->is_group ? "group" : "user", name, strerror(-r));
	rule->ident_valid = true;
	return 0;
}

/* TARGET: a user name or number that must exist, since only real accounts can be targets. */
static int
parse_target(struct parser *p, const char *word, struct policy_rule *rule)
{
	int r;

	if (!*word)
		return parse_error(p, -EINVAL, "empty target user");
	if (word[0] == ':')
		return parse_error(p, -EINVAL, "target '%s' must be a user, not a group", word);
	rule->has_target = true;
	rule->target_name = strdup(word);
	if (!rule->target_name)
		return parse_error(p, -ENOMEM, "out of memory");

	r = user_lookup_uid(word, &rule->target_uid);
	if (r == -EINVAL)
		return parse_error(p, r, "bad user id '%s'", word);
	if (r == -ESRCH)
		return parse_warn(p, "unknown user '%s'", word);
	if (r < 0)
		return parse_error(p, r, "cannot look up user '%s': %s", word, strerror(-r));
	rule->target_valid = true;
	return 0;
}

/*
 * Warn when a non-root user could swap the file a `cmd` names (HOSTILE.md
 * 14). The path is the admin's, so stat'ing it here is fine; requests are
 * compared with its normal and canonical forms, never stat'ed in the loop.
 */
static int
check_cmd_path(struct parser *p, const char *cmd)
{
	_cleanup_free_ char *culprit = NULL;
	bool is_dir = false;
	int r;

	r = command_check_trusted(cmd, &culprit, &is_dir);
	if (r >= 0)
		return 0;
	if (r == -ENOMEM)
		return parse_error(p, r, "out of memory");
	if (r == -EPERM)
		return parse_warn(p, "cmd %s: %s %s is writable by non-root", cmd,
				  is_dir ? "directory" : "file", culprit);
	if (culprit && strcmp(culprit, cmd) != 0)
		return parse_warn(p, "cmd %s: %s: %s", cmd, culprit, strerror(-r));
	return parse_warn(p, "cmd %s: %s", cmd, strerror(-r));
}

static int
parse_cmd(struct parser *p, const struct tokens *t, size_t *i, struct policy_rule *rule)
{
	size_t j = *i + 1;
	const char *cmd;
	int r;

	if (j >= t->n || is_reserved(&t->v[j]))
		return parse_error(p, -EINVAL, "missing command after 'cmd'");
	cmd = t->v[j].text;
	if (cmd[0] != '/')
		return parse_error(p, -EINVAL, "cmd '%s' must be an absolute path", cmd);
	/* The program, not the spelling (DESIGN.md 5): "/bin//sh" is /bin/sh. */
	if (command_normalize(cmd, &rule->cmd) < 0)
		return parse_error(p, -ENOMEM, "out of memory");
	r = check_cmd_path(p, cmd);
	if (r < 0)
		return r;
	/*
	 * And /bin/sh is /usr/bin/dash on a merged-/usr system: requests are
	 * matched against the canonical path too. The path is the admin's, so
	 * resolving it here, with our own rights, is fine. A path that does not
	 * resolve now (check_cmd_path() warned) is matched by its normal form
	 * only; a reload picks up the program once it exists.
	 */
	r = command_canonicalize(rule->cmd, NULL, &rule->cmd_canonical);
	if (r == -ENOMEM)
		return parse_error(p, r, "out of memory");
	j++;

	if (j < t->n && is_keyword(&t->v[j], "args")) {
		/* Every word after `args` is an argument, keywords included;
		 * only a bare brace is refused as a likely mistake. */
		size_t n = t->n - j - 1;

		rule->has_args = true;
		rule->args = calloc(n + 1, sizeof(char *));
		if (!rule->args)
			return parse_error(p, -ENOMEM, "out of memory");
		for (j++; j < t->n; j++) {
			const struct token *a = &t->v[j];

			if (is_keyword(a, "{") || is_keyword(a, "}"))
				return parse_error(p, -EINVAL, "unexpected '%s' in args", a->text);
			rule->args[rule->n_args] = strdup(a->text);
			if (!rule->args[rule->n_args])
				return parse_error(p, -ENOMEM, "out of memory");
			rule->n_args++;
		}
	}
	*i = j;
	return 0;
}

/* A zeroed rule appended to the policy; policy_free() releases it on any error. */
static struct policy_rule *
new_rule(struct parser *p)
{
	struct policy *pol = p->policy;

	if (pol->n_rules == p->cap_rules) {
		size_t cap = p->cap_rules ? p->cap_rules * 2 : 16;
		struct policy_rule *v = reallocarray(pol->rules, cap, sizeof(*v));

		if (!v)
			return NULL;
		pol->rules = v;
		p->cap_rules = cap;
	}
	pol->rules[pol->n_rules] = (struct policy_rule){.line = p->line};
	return &pol->rules[pol->n_rules++];
}

static int
parse_rule(struct parser *p, const struct tokens *t)
{
	struct policy_rule *rule;
	bool have_setenv = false;
	size_t i = 1;
	int r;

	if (!is_keyword(&t->v[0], "permit") && !is_keyword(&t->v[0], "deny"))
		return parse_error(p, -EINVAL, "unknown keyword '%s'", t->v[0].text);
	rule = new_rule(p);
	if (!rule)
		return parse_error(p, -ENOMEM, "out of memory");
	rule->permit = is_keyword(&t->v[0], "permit");

	for (;;) {
		if (i < t->n && is_keyword(&t->v[i], "keepenv")) {
			if (rule->keepenv)
				return parse_error(p, -EINVAL, "duplicate option 'keepenv'");
			rule->keepenv = true;
			i++;
		} else if (i < t->n && is_keyword(&t->v[i], "narrowgroups")) {
			if (rule->narrowgroups)
				return parse_error(p, -EINVAL, "duplicate option 'narrowgroups'");
			rule->narrowgroups = true;
			i++;
		} else if (i < t->n && is_keyword(&t->v[i], "setenv")) {
			if (have_setenv)
				return parse_error(p, -EINVAL, "duplicate option 'setenv'");
			have_setenv = true;
			r = parse_setenv(p, t, &i, rule);
			if (r < 0)
				return r;
		} else
			break;
	}

	if (i >= t->n || is_reserved(&t->v[i]))
		return parse_error(p, -EINVAL, "missing identity after '%s'", t->v[i - 1].text);
	r = parse_identity(p, t->v[i].text, rule);
	if (r < 0)
		return r;
	i++;

	if (i < t->n && is_keyword(&t->v[i], "as")) {
		i++;
		if (i >= t->n || is_reserved(&t->v[i]))
			return parse_error(p, -EINVAL, "missing target user after 'as'");
		r = parse_target(p, t->v[i].text, rule);
		if (r < 0)
			return r;
		i++;
	}

	if (i < t->n && is_keyword(&t->v[i], "cmd")) {
		r = parse_cmd(p, t, &i, rule);
		if (r < 0)
			return r;
	}

	if (i < t->n) {
		if (is_keyword(&t->v[i], "args"))
			return parse_error(p, -EINVAL, "'args' without 'cmd'");
		return parse_error(p, -EINVAL, "unexpected word '%s'", t->v[i].text);
	}
	return 0;
}

/* Same client: the same user, or the same group (by id, however it was written). */
static bool
same_identity(const struct policy_rule *a, const struct policy_rule *b)
{
	if (!a->ident_valid || !b->ident_valid || a->is_group != b->is_group)
		return false;
	return a->is_group ? a->ident_gid == b->ident_gid : a->ident_uid == b->ident_uid;
}

/*
 * A `deny ... cmd` after a permit of any command for the same client (and a
 * target the deny shares) reads like a sandbox but is none: the client still
 * runs `bash`, `busybox sh`, `perl -e 'exec "/bin/sh"'`, or a copy of the
 * program under another name (DESIGN.md 5, HOSTILE.md 44). Say so.
 */
static int
warn_deny_after_permit(struct parser *p, const struct policy_rule *deny)
{
	const struct policy *pol = p->policy;

	if (deny->permit || !deny->cmd)
		return 0;
	for (size_t i = 0; i + 1 < pol->n_rules; i++) {
		const struct policy_rule *permit = &pol->rules[i];

		if (!permit->permit || permit->cmd || !same_identity(permit, deny))
			continue;
		if (permit->has_target && deny->has_target &&
		    (!permit->target_valid || !deny->target_valid ||
		     permit->target_uid != deny->target_uid))
			continue;
		return parse_warn(p,
				  "deny of %s after the broader permit on line %u is no sandbox: "
				  "another program (another shell, an interpreter, a copy) "
				  "still runs; permit only the commands that may run",
				  deny->cmd, permit->line);
	}
	return 0;
}

static int
parse_line(struct parser *p, const char *line, size_t len)
{
	struct tokens t = {};
	bool had_rule;
	int r;

	if (len > CONFIG_LINE_MAX)
		return parse_error(p, -EINVAL, "line too long (more than %d bytes)",
				   CONFIG_LINE_MAX);
	if (memchr(line, '\0', len))
		return parse_error(p, -EINVAL, "NUL byte in line");
	/* CRLF line ends would make every last word end in '\r': a rule for
	 * user "root\r" that never matches is no way to report them. */
	if (memchr(line, '\r', len))
		return parse_error(p, -EINVAL,
				   "carriage return in line (CRLF line ends?): lines must end "
				   "with LF only");
	r = tokenize(p, line, len, &t);
	if (r < 0)
		return r;
	had_rule = t.n > 0;
	r = had_rule ? parse_rule(p, &t) : 0;
	tokens_done(&t);
	if (r >= 0 && had_rule)
		r = warn_deny_after_permit(p, &p->policy->rules[p->policy->n_rules - 1]);
	return r;
}

static int
parse_buffer(const char *name, const char *text, size_t size, config_warn_fn warn, void *userdata,
	     struct policy **ret, char **ret_error)
{
	struct parser p = {
		.name = name,
		.warn = warn,
		.userdata = userdata,
	};
	const char *s = text, *end = text + size;
	int r = 0;

	p.policy = calloc(1, sizeof(*p.policy));
	if (!p.policy || !(p.policy->path = strdup(name))) {
		r = parse_error(&p, -ENOMEM, "out of memory");
		goto fail;
	}

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);

		p.line++;
		r = parse_line(&p, s, len);
		if (r < 0)
			goto fail;
		s += len + (nl ? 1 : 0);
	}
	*ret = p.policy;
	return 0;

fail:
	policy_free(p.policy);
	if (ret_error)
		*ret_error = p.error;
	else
		free(p.error);
	return r;
}

int
config_parse_string(const char *name, const char *text, config_warn_fn warn, void *userdata,
		    struct policy **ret, char **ret_error)
{
	if (!name || !text || !ret)
		return -EINVAL;
	return parse_buffer(name, text, strlen(text), warn, userdata, ret, ret_error);
}

static int
file_error(char **ret_error, const char *path, int r, const char *msg)
{
	if (ret_error && asprintf(ret_error, "%s: %s", path, msg) < 0)
		*ret_error = NULL;
	return r;
}

/* Read the whole file (bounded by CONFIG_SIZE_MAX); the size may change while we read. */
static int
read_all(int fd, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *buf = malloc(CONFIG_SIZE_MAX + 1);
	size_t n = 0;

	if (!buf)
		return -ENOMEM;
	while (n <= CONFIG_SIZE_MAX) {
		ssize_t k = read(fd, buf + n, CONFIG_SIZE_MAX + 1 - n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > CONFIG_SIZE_MAX)
		return -EFBIG;
	*ret = TAKE_PTR(buf);
	*ret_size = n;
	return 0;
}

/*
 * The path itself may be a symlink (e.g. /etc/spawnd.conf managed by
 * configuration management): like doas, we check the file actually opened,
 * with fstat() on its fd, so the checked file is the parsed file. O_NONBLOCK
 * keeps a FIFO planted at the path from blocking the open; it is refused as
 * not a regular file right after.
 */
int
config_load(const char *path, bool check_owner, config_warn_fn warn, void *userdata,
	    struct policy **ret, char **ret_error)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t size = 0;
	int r;

	if (!path || !ret)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		return file_error(ret_error, path, r, strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		return file_error(ret_error, path, r, strerror(-r));
	}
	if (!S_ISREG(st.st_mode))
		return file_error(ret_error, path, -EINVAL, "not a regular file");
	if (check_owner && (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))))
		return file_error(ret_error, path, -EPERM,
				  "must be owned by root and not writable by group or other");
	if (st.st_size > CONFIG_SIZE_MAX)
		return file_error(ret_error, path, -EFBIG, "file too large (more than 1 MiB)");

	r = read_all(fd, &buf, &size);
	if (r == -EFBIG)
		return file_error(ret_error, path, r, "file too large (more than 1 MiB)");
	if (r < 0)
		return file_error(ret_error, path, r, strerror(-r));
	return parse_buffer(path, buf, size, warn, userdata, ret, ret_error);
}
