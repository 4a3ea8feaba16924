/* SPDX-License-Identifier: MIT */
/*
 * The policy: rules from the config file (config.c parses them) and the
 * decision for a peer. Pure: matching uses only data resolved at load time
 * and the peer's kernel-supplied credentials. See DESIGN.md section 5.
 *
 *   permit|deny [options] IDENTITY [as TARGET] [cmd COMMAND [args [ARG ...]]]
 *
 * The last matching rule wins; no match = deny.
 */
#ifndef SPAWND_POLICY_H
#define SPAWND_POLICY_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

/* One entry of `setenv { NAME NAME=VALUE -NAME }` (doas semantics). */
enum env_action {
	ENV_PASS,   /* NAME: may come from the client (inherited or explicit), even if denylisted */
	ENV_SET,    /* NAME=VALUE: set by the admin */
	ENV_REMOVE, /* -NAME: never set */
};

struct env_rule {
	enum env_action action;
	char *name;
	char *value; /* ENV_SET only */
};

struct policy_rule {
	bool permit;
	unsigned line;

	/* Identity: a user (uid) or, with is_group, a group (gid). valid is
	 * false when the name did not resolve at load time: the rule never
	 * matches. */
	bool is_group;
	bool ident_valid;
	uid_t ident_uid;
	gid_t ident_gid;
	char *ident_name; /* as written, without the ':' */

	/* `as TARGET`: when has_target, only this uid (never matches if !target_valid). */
	bool has_target;
	bool target_valid;
	uid_t target_uid;
	char *target_name;

	/* `cmd PATH`: NULL = any command. cmd is the path as written, in the
	 * lexical normal form (command_normalize()); cmd_canonical the same
	 * with every symlink resolved when the policy was loaded (realpath(),
	 * as root: the path is the admin's), or NULL when it did not resolve
	 * then. A rule matches the program, not the spelling (see
	 * policy_match()). */
	char *cmd;
	char *cmd_canonical;
	/* `args ...`: when has_args, argv[1..] must equal args exactly. */
	bool has_args;
	char **args; /* NULL-terminated */
	size_t n_args;

	bool keepenv;
	/* `narrowgroups`: the request may leave out some of the target's groups. */
	bool narrowgroups;
	struct env_rule *env;
	size_t n_env;
};

struct policy {
	char *path;
	struct policy_rule *rules;
	size_t n_rules;
};

/* The client as the kernel reported it (SO_PEERCRED + SO_PEERGROUPS). */
struct peer_cred {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
};

/*
 * The command of a request, as the policy sees it: path is the absolute
 * path the client asked for (a bare name resolved on the fixed PATH) in
 * lexical normal form; canonical is the same with its symlinks resolved
 * with the client's file access rights (command_canonicalize()), or NULL
 * when that failed or was not needed (policy_wants_canonical()). name is
 * argv[0] when the client chose it apart from the path (Spawn.exec_path),
 * else NULL: the name the program will see itself run under.
 */
struct policy_command {
	const char *path;
	const char *canonical;
	const char *name;
};

/*
 * The last rule matching who/target/command/argv, or NULL (= deny).
 * argv[0] is not compared, argv[1..] is compared with `args`. The caller
 * permits only if the result is non-NULL and ->permit.
 *
 * A rule's `cmd` names a program: it matches when any spelling of the rule
 * (cmd, cmd_canonical) equals any spelling of the request (path,
 * canonical). So `deny ... cmd /bin/sh` also catches /bin//sh, sh,
 * /usr/bin/sh and, where /bin/sh -> dash, dash itself. A permit must
 * moreover have the same last component as the request's path (sudo's
 * rule), and as its name when the client chose one (exec_path): a
 * multi-call program (busybox, bash as rbash, vim as rvim) picks what it
 * does by argv[0], so "permit cmd /bin/ls" with /bin/ls -> busybox must
 * not let a link named "sh", nor argv[0] "sh", run busybox's shell (the
 * name is judged exactly by what follows its last '/'). A deny
 * never looks at the name. A NULL command never matches a `cmd` rule.
 */
const struct policy_rule *policy_match(const struct policy *p, const struct peer_cred *who,
				       uid_t target_uid, const struct policy_command *command,
				       char *const *argv);

/*
 * Whether a rule with `cmd` could match who at all: only then does the
 * decision depend on the canonical path, and only then is a client's path
 * worth resolving (which costs a resolver thread, and may hang on FUSE).
 */
bool policy_wants_canonical(const struct policy *p, const struct peer_cred *who);

/*
 * The child's umask for a request asking for `requested`: the requested one
 * OR 022 (never group- or world-writable files), unless the target is the
 * client's own uid, which may make its own files as it likes.
 */
mode_t policy_umask(mode_t requested, uid_t client_uid, uid_t target_uid);

/* NULL-safe; returns NULL. */
struct policy *policy_free(struct policy *p);

#endif
