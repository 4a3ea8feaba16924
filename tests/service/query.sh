#!/bin/bash
# Table-driven policy regression through `spawnd --query` (doas regress):
# for each tests/policy/NAME.conf with a NAME.cases, every line
#   [--group G] [--groups G1,G2] CLIENT TARGET CMD [ARG...] -> permit|deny LINE|none
# must give exactly that decision, rule and exit code (0 permit, 1 deny).
# With a NAME.group, its lines are added to /etc/group for that table only,
# in a private mount namespace (the real file is never touched).
. "$(dirname "$0")/lib.sh"
need_root
policy_dir=$1
grouplist_grows=$2
n=0

# in_groups GROUPFILE COMMAND...: COMMAND with GROUPFILE as /etc/group, or as
# is when GROUPFILE is empty.
in_groups() {
	local groupfile=$1
	shift
	if [ -z "$groupfile" ]; then
		"$@"
		return
	fi
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private \
		sh -c 'mount --bind "$0" /etc/group && exec "$@"' "$groupfile" "$@"
}

for cases in "$policy_dir"/*.cases; do
	conf=${cases%.cases}.conf
	# The daemon refuses a policy not owned by root or writable by others;
	# checkouts differ, so test a copy with the right owner and mode.
	copy=$WORK/$(basename "$conf")
	cp "$conf" "$copy"
	chown root:root "$copy"
	chmod 0644 "$copy"
	groupfile=
	if [ -f "${cases%.cases}.group" ]; then
		groupfile=$WORK/$(basename "${cases%.cases}").group
		cat /etc/group "${cases%.cases}.group" >"$groupfile"
		chmod 0644 "$groupfile"
	fi
	lineno=0
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		case $line in '' | '#'*) continue ;; esac
		request=${line% -> *}
		expect=${line##* -> }
		read -r -a words <<<"$request"
		options=()
		while [ "${#words[@]}" -gt 1 ] && [[ ${words[0]} == --* ]]; do
			options+=("${words[0]}" "${words[1]}")
			words=("${words[@]:2}")
		done
		want_decision=${expect%% *}
		want_rule=${expect#* }
		if [ "$want_rule" = none ]; then want_out="$want_decision no rule"; else want_out="$want_decision $copy:$want_rule"; fi
		if [ "$want_decision" = permit ]; then want_rc=0; else want_rc=1; fi
		rc=0
		out=$(in_groups "$groupfile" "$SPAWND" -c "$copy" --query ${options[@]+"${options[@]}"} \
			"${words[0]}" "${words[1]}" -- "${words[@]:2}" 2>"$WORK/err") || rc=$?
		if [ "$out" != "$want_out" ] || [ "$rc" != "$want_rc" ]; then
			fail "$(basename "$cases"):$lineno: '$request': got '$out' (exit $rc), want '$want_out' (exit $want_rc) $(cat "$WORK/err")"
		fi
		n=$((n + 1))
	done <"$cases"
done
[ "$n" -gt 20 ] || fail "only $n cases ran"
pass "$n policy cases decide as expected"

# Exit 2: a config error, an unknown client or target.
conf=$WORK/last-match.conf
rc=0; "$SPAWND" -c "$conf" --query no-such-user-xyz root -- id >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unknown client: exit $rc"
rc=0; "$SPAWND" -c "$conf" --query root no-such-user-xyz -- id >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unknown target: exit $rc"
echo 'permit root bogus' >"$WORK/bad.conf"
chmod 0644 "$WORK/bad.conf"
rc=0; "$SPAWND" -c "$WORK/bad.conf" --query root root -- id >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] || fail "config error: exit $rc"
grep -q "^$WORK/bad.conf:1: " "$WORK/err" || fail "no FILE:LINE for the config error: $(cat "$WORK/err")"
pass "exit 2 for an unknown client, an unknown target and a config error"

# --group/--groups: a group the target cannot have is exit 2 once a rule
# permits (after the policy, as in the daemon); a narrowing denial says why.
conf=$WORK/narrowgroups.conf
groupfile=$WORK/narrowgroups.group
rc=0; in_groups "$groupfile" "$SPAWND" -c "$conf" --query --groups nogroup,root www-data nobody -- id \
	>/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] || fail "--groups with a group nobody is not in: exit $rc"
grep -qxF "spawnd: group 'root': not one of the target's groups" "$WORK/err" ||
	fail "--groups root: $(cat "$WORK/err")"
rc=0; in_groups "$groupfile" "$SPAWND" -c "$conf" --query --group no-such-group-xyz www-data nobody -- id \
	>/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] || fail "--group with an unknown group: exit $rc"
rc=0; in_groups "$groupfile" "$SPAWND" -c "$conf" --query --groups nogroup www-data nobody -- id \
	>/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] || fail "narrowing without narrowgroups: exit $rc"
grep -qF "does not allow narrowing (narrowgroups)" "$WORK/err" ||
	fail "no reason for the narrowing denial: $(cat "$WORK/err")"
for bad in "" "a,,b" "nogroup,"; do
	rc=0; "$SPAWND" -c "$conf" --query --groups "$bad" www-data nobody -- id >/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "--groups '$bad': exit $rc"
done
rc=0; "$SPAWND" -c "$conf" --groups nogroup --check-config >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--groups without --query: exit $rc"
pass "--query --group/--groups: exit 2 for a group the target cannot have, 1 with a reason for narrowing"

# --check-config: 0 valid (warnings allowed), 1 invalid with FILE:LINE.
"$SPAWND" -c "$WORK/groups.conf" --check-config 2>"$WORK/err" || fail "groups.conf invalid: $(cat "$WORK/err")"
grep -q "groups.conf:5: warning: " "$WORK/err" || fail "no warning for an unknown group: $(cat "$WORK/err")"
rc=0; "$SPAWND" -c "$WORK/bad.conf" --check-config 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] || fail "--check-config on a bad file: exit $rc"
grep -q "^$WORK/bad.conf:1: " "$WORK/err" || fail "no FILE:LINE: $(cat "$WORK/err")"
# A deny of a program after a permit of anything for the same client is no
# sandbox (HOSTILE.md 44): --check-config says so, and still passes.
"$SPAWND" -c "$WORK/spellings.conf" --check-config 2>"$WORK/err" || fail "spellings.conf invalid: $(cat "$WORK/err")"
grep -q "spellings.conf:7: warning: deny of /bin/sh after the broader permit on line 6 is no sandbox" "$WORK/err" ||
	fail "no warning for deny-after-permit: $(cat "$WORK/err")"
[ "$(grep -c warning "$WORK/err")" = 1 ] || fail "unexpected warnings: $(cat "$WORK/err")"
chmod 0666 "$WORK/last-match.conf"
rc=0; "$SPAWND" -c "$WORK/last-match.conf" --check-config 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "--check-config accepted a world-writable file"
# CRLF line ends: an error naming the line, not a warning about user 'root\r'.
printf '# saved with CRLF\r\npermit root\r\n' >"$WORK/crlf.conf"
chmod 0644 "$WORK/crlf.conf"
rc=0; "$SPAWND" -c "$WORK/crlf.conf" --check-config 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] || fail "--check-config on a CRLF file: exit $rc"
[ "$(cat "$WORK/err")" = "$WORK/crlf.conf:1: carriage return in line (CRLF line ends?): lines must end with LF only" ] ||
	fail "CRLF: $(cat "$WORK/err")"
pass "--check-config: warnings pass, errors, CRLF and unsafe files fail with FILE:LINE"

# A client whose group list keeps growing while getgrouplist() reads it (an
# LD_PRELOAD stand-in for such an NSS source): exit 2 and no decision. The
# policy names a group, so a decision would read the client's whole list.
printf 'permit :nogroup as nobody\n' >"$WORK/group.conf"
chmod 0644 "$WORK/group.conf"
rc=0
out=$(LD_PRELOAD=$grouplist_grows GROUPLIST_GROWS_USER=root \
	"$SPAWND" -c "$WORK/group.conf" --query root nobody -- id 2>"$WORK/err") || rc=$?
[ "$rc" = 2 ] && [ -z "$out" ] ||
	fail "a group list that keeps growing: got '$out' (exit $rc) $(cat "$WORK/err")"
grep -q "^spawnd: client user 'root': " "$WORK/err" || fail "no reason given: $(cat "$WORK/err")"
pass "exit 2 for a client whose group list keeps growing"
