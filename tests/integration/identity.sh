#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The child's groups and umask as an unprivileged client would try to bend
# them (HOSTILE.md 40, 41; DESIGN.md section 5): the real spawnd on a socket
# it binds itself, clients switched with setpriv to www-data, daemon and
# games, spawnctl as the client.
#
#   [SPAWND_IT_ENGINE=fork|vfork] identity.sh SPAWND SPAWNCTL SPAWN_PROBE
#
# nobody gets a group spawnd-blocked that denies it a root:spawnd-blocked
# 0604 file. The group lives in a private copy of /etc/group, bind-mounted
# in a mount namespace of this script's own (unshare), so the real account
# files and other tests never see it.
#
# Exit 0 when every case passed, 1 otherwise, 77 (skipped) when not root.
set -u

if [ "$(id -u)" != 0 ]; then
	echo "skipped: identity.sh switches users and needs root"
	exit 77
fi
if [ $# -ne 3 ]; then
	echo "usage: $0 SPAWND SPAWNCTL SPAWN_PROBE" >&2
	exit 2
fi
for tool in setpriv timeout unshare mount stat; do
	command -v "$tool" >/dev/null || { echo "missing $tool (util-linux/coreutils)" >&2; exit 1; }
done
if [ -z "${SPAWND_IDENTITY_NS:-}" ]; then
	SPAWND_IDENTITY_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
SPAWND=$1
SPAWNCTL=$2
PROBE_SRC=$3

work=$(mktemp -d /tmp/identity-it.XXXXXX)
chmod 0755 "$work"
sock=$work/sock
conf=$work/spawnd.conf
log=$work/spawnd.log
probe=$work/spawn-probe
install -m 0755 "$PROBE_SRC" "$probe"

# A gid nobody uses, and nobody in it, in this mount namespace only.
blocked_gid=
for gid in $(seq 4242100 4242199); do
	getent group "$gid" >/dev/null || { blocked_gid=$gid; break; }
done
[ -n "$blocked_gid" ] || { echo "no unused gid" >&2; exit 1; }
cp /etc/group "$work/group"
echo "spawnd-blocked:x:$blocked_gid:nobody" >>"$work/group"
chmod 0644 "$work/group"
mount --bind "$work/group" /etc/group || { echo "cannot bind-mount /etc/group" >&2; exit 1; }

NOBODY_GID=$(id -g nobody)
WWW_UID=$(id -u www-data)
[ "$(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ')" = \
	"$(printf '%s\n' "$NOBODY_GID" "$blocked_gid" | sort -n | tr '\n' ' ')" ] ||
	{ echo "nobody's groups are not nogroup + spawnd-blocked: $(id nobody)" >&2; exit 1; }

# Readable by everyone except the members of spawnd-blocked.
echo "the secret" >"$work/secret"
chown "root:$blocked_gid" "$work/secret"
chmod 0604 "$work/secret"
# A directory www-data may create files in, for its own umask.
mkdir -m 0755 "$work/www"
chown www-data:www-data "$work/www"

# Line numbers matter: messages name "CONF:LINE".
cat >"$conf" <<EOF
# identity.sh test policy
permit www-data as nobody cmd /usr/bin/cat
permit narrowgroups daemon as nobody cmd /usr/bin/cat
permit www-data as nobody cmd $probe
permit www-data as www-data cmd $probe
permit www-data as root cmd /usr/bin/touch
permit www-data as www-data cmd /usr/bin/touch
permit games as root cmd /usr/bin/cat
EOF
chmod 0644 "$conf"
CAT_LINE=2

# In this mount namespace only; it ends with the script anyway.
cleanup_more() {
	umount /etc/group 2>/dev/null
}
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/cli-lib.sh"

no_secret() {
	! grep -q "the secret" "$work/out" || fail "the child read the spawnd-blocked file: $*"
}

sorted() {
	tr ',' '\n' <<<"$1" | sort -n | paste -sd,
}

# ---- HOSTILE 40: the child carries all of the target's groups ----

# As nobody runs normally, spawnd-blocked denies it the file.
t_blocked_group_denies() {
	ctl_as www-data -u nobody -- /usr/bin/cat "$work/secret"
	expect_rc 1
	no_secret "with all of nobody's groups"
	# The same with every group named, in another order: that narrows nothing.
	ctl_as www-data -u nobody -G "spawnd-blocked,$NOBODY_GID" -- /usr/bin/cat "$work/secret"
	expect_rc 1
	no_secret "-G naming all of nobody's groups"
	# The primary gid counts: -G spawnd-blocked still leaves nogroup as the gid.
	ctl_as www-data -u nobody -G spawnd-blocked -- /usr/bin/cat "$work/secret"
	expect_rc 1
	no_secret "-G spawnd-blocked"
}

# -G without spawnd-blocked is refused unless the rule says narrowgroups.
t_narrowing_refused() {
	ctl_as www-data -u nobody -G "$NOBODY_GID" -- /usr/bin/cat "$work/secret"
	expect_rc 125
	no_secret "-G $NOBODY_GID"
	grep -qxF "spawnctl: denied by policy: the requested groups leave out some of nobody's groups; rule $conf:$CAT_LINE does not allow narrowing (narrowgroups)" "$work/err" ||
		fail "stderr: $(cat "$work/err")"
	grep -q "stage=policy detail=\"the requested groups leave out some of nobody's groups" "$log" ||
		fail "no audit record of the refusal in the log"
	# -g picks the primary and sheds nothing: nogroup stays a supplementary group.
	ctl_as www-data -u nobody -g nogroup -- /usr/bin/cat "$work/secret"
	expect_rc 1
	no_secret "-g nogroup"
	ctl_as www-data -u nobody -g spawnd-blocked -- "$probe"
	expect_rc 0
	expect_out_line "gid=$blocked_gid"
	got=$(sorted "$(grep '^groups=' "$work/out" | cut -d= -f2)")
	[ "$got" = "$(sorted "$NOBODY_GID,$blocked_gid")" ] ||
		fail "-g spawnd-blocked: groups=$got, expected nogroup and spawnd-blocked"
	# The audit record names the child's groups.
	grep -qE "audit: permit client_uid=$WWW_UID .* gid=$blocked_gid groups=[0-9,]*\\b$NOBODY_GID\\b" "$log" ||
		fail "the permit record does not name the child's groups: $(grep 'audit: permit' "$log" | tail -1)"
}

# A rule with narrowgroups lets daemon leave the group out.
t_narrowgroups_allows() {
	ctl_as daemon -u nobody -G "$NOBODY_GID" -- /usr/bin/cat "$work/secret"
	expect_rc 0
	expect_out_line "the secret"
}

# ---- issue 9 8b: no group facts for a client without a rule ----

# games may act as root only: about nobody's groups it learns nothing, a
# group of nobody's and a group that is not get the same denial.
t_no_group_facts_without_rule() {
	local a b c
	ctl_as games -u nobody -G spawnd-blocked -- /usr/bin/cat "$work/secret"
	expect_rc 125
	a=$(cat "$work/err")
	ctl_as games -u nobody -G root -- /usr/bin/cat "$work/secret"
	expect_rc 125
	b=$(cat "$work/err")
	ctl_as games -u nobody -g root -- /usr/bin/cat "$work/secret"
	expect_rc 125
	c=$(cat "$work/err")
	[ "$a" = "spawnctl: denied by policy: /usr/bin/cat as nobody: no matching rule" ] ||
		fail "a group of nobody's: '$a'"
	[ "$b" = "$a" ] || fail "not one of nobody's groups (-G root): '$b', with one: '$a'"
	[ "$c" = "$a" ] || fail "not one of nobody's groups (-g root): '$c', with one: '$a'"
	# Allowed to act as the target, the client is told.
	ctl_as www-data -u nobody -G root -- /usr/bin/cat "$work/secret"
	expect_rc 125
	grep -qxF "spawnctl: group root is not one of nobody's groups (as nobody)" "$work/err" ||
		fail "with a rule: $(cat "$work/err")"
}

# ---- HOSTILE 41: umask ----

t_umask_floor_for_other_users() {
	ctl_as www-data -u root --umask 0 -- /usr/bin/touch "$work/by-root"
	expect_rc 0
	[ "$(stat -c '%a %U' "$work/by-root")" = "644 root" ] ||
		fail "touch as root with --umask 0 made $(stat -c '%a %U' "$work/by-root")"
	ctl_as www-data -u nobody --umask 0 -- "$probe"
	expect_rc 0
	expect_out_line "umask=0022"
	ctl_as www-data -u nobody --umask 0077 -- "$probe"
	expect_rc 0
	expect_out_line "umask=0077"
	ctl_as www-data -u nobody --umask 0005 -- "$probe"
	expect_rc 0
	expect_out_line "umask=0027"
	# Without --umask: 022, as before.
	ctl_as www-data -u nobody -- "$probe"
	expect_rc 0
	expect_out_line "umask=0022"
}

t_umask_as_is_for_oneself() {
	ctl_as www-data -u www-data --umask 0 -- /usr/bin/touch "$work/www/own"
	expect_rc 0
	[ "$(stat -c '%a %U' "$work/www/own")" = "666 www-data" ] ||
		fail "touch as itself with --umask 0 made $(stat -c '%a %U' "$work/www/own")"
	ctl_as www-data -u www-data --umask 0 -- "$probe"
	expect_rc 0
	expect_out_line "umask=0000"
}

run_all t_blocked_group_denies t_narrowing_refused t_narrowgroups_allows \
	t_no_group_facts_without_rule t_umask_floor_for_other_users t_umask_as_is_for_oneself
