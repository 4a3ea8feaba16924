#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The child's environment against an unprivileged client, with the attacks
# themselves (HOSTILE.md 39 and 42, DESIGN.md section 5): the real spawnd on
# a path it binds (-s), spawnctl run as www-data through setpriv.
#
#  - 39: www-data writes a gettext catalog into its own directory and asks
#    for LANGUAGE=../../../..DIR; the permitted program (gettext-probe) must
#    not print the planted translation, and an explicit -E LANGUAGE=... is
#    refused (exit 125, naming LANGUAGE) even where the rule lets the client
#    set LANGUAGE. The same for LC_ALL and TZ paths.
#  - 42: under keepenv, PERLLIB (a planted strict.pm in a permitted perl)
#    and the other interpreter variables never reach the child, and an
#    explicit one is refused naming it.
#
#   [SPAWND_IT_ENGINE=fork|vfork] environ.sh SPAWND SPAWNCTL SPAWN_PROBE GETTEXT_PROBE
#
# Exit 0 when every case passed, 1 otherwise, 77 (skipped) when not root.
set -u

if [ "$(id -u)" != 0 ]; then
	echo "skipped: environ.sh switches users and needs root"
	exit 77
fi
if [ $# -ne 4 ]; then
	echo "usage: $0 SPAWND SPAWNCTL SPAWN_PROBE GETTEXT_PROBE" >&2
	exit 2
fi
SPAWND=$1
SPAWNCTL=$2
for tool in setpriv timeout python3 perl; do
	command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

work=$(mktemp -d /tmp/environ-it.XXXXXX)
chmod 0755 "$work"
sock=$work/sock
conf=$work/spawnd.conf
log=$work/spawnd.log
probe=$work/spawn-probe
gettext=$work/gettext-probe
install -m 0755 "$3" "$probe"
install -m 0755 "$4" "$gettext"

# The client's own directory: www-data writes the catalog and the module.
plant=$work/plant
install -d -m 0755 -o www-data -g www-data "$plant"
# gettext reads /usr/share/locale/$LANGUAGE/LC_MESSAGES/DOMAIN.mo.
evil_language=../../../..$plant
MARKER="SPAWND-PLANTED-CATALOG"
PERL_MARKER="SPAWND-PLANTED-PERL-MODULE"
UNTRANSLATED="spawnd gettext probe: untranslated"

cat >"$conf" <<EOF
# environ.sh test policy
permit root
permit www-data as nobody cmd $gettext
permit setenv { LANGUAGE LC_ALL TZ } www-data as daemon cmd $gettext
permit keepenv www-data as bin cmd $gettext
permit www-data as nobody cmd $probe
permit keepenv www-data as daemon cmd $probe
permit keepenv www-data as nobody cmd /usr/bin/perl args -e "use strict; print qq(perl-ran-clean)"
permit setenv { LANGUAGE=$evil_language } www-data as sys cmd $gettext
EOF
chmod 0644 "$conf"

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/cli-lib.sh"

# as_www ENV... -- SPAWNCTL-ARGS...: spawnctl as www-data with exactly the
# given environment (env -i); sets rc, stdout in $work/out, stderr in $work/err.
as_www() {
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	timeout 60 setpriv --reuid=www-data --regid=www-data --clear-groups \
		env -i "${envs[@]}" "$SPAWNCTL" -s "$sock" "$@" \
		>"$work/out" 2>"$work/err" </dev/null
	rc=$?
}

# stdout is exactly the untranslated message: no planted catalog was used.
expect_untranslated() {
	grep -q "$MARKER" "$work/out" && fail "the planted catalog was used: $(cat "$work/out")"
	[ "$(cat "$work/out")" = "$UNTRANSLATED" ] ||
		fail "stdout '$(cat "$work/out")', expected '$UNTRANSLATED'"
}

# One line on stderr that names the variable $1 and says it was refused.
expect_refused_naming() {
	[ "$(wc -l <"$work/err")" = 1 ] || fail "stderr is not one line: $(cat "$work/err")"
	grep -qE -- "^spawnctl: .*(^|[ :])$1([ :]|\$).*not allowed" "$work/err" ||
		fail "stderr '$(cat "$work/err")' does not refuse $1"
	[ -s "$work/out" ] && fail "the child ran: $(head -n 1 "$work/out")"
}


expect_no_env() {
	grep -q "^env\.$1=" "$work/out" && fail "$1 reached the child: $(grep "^env\.$1=" "$work/out")"
}

# ---- the planted files, written by the client itself ----

plant_files() {
	# Made here (python3 may not be on www-data's PATH), installed by www-data.
	python3 - "$work/catalog.mo" "$UNTRANSLATED" "$MARKER" <<'EOF' ||
import struct, sys

path, msgid, marker = sys.argv[1], sys.argv[2], sys.argv[3]
# A GNU .mo file: header, sorted original and translation tables, strings.
messages = sorted([
    (b"", b"Content-Type: text/plain; charset=UTF-8\n"),
    (msgid.replace("untranslated", "%s").encode() + b"\n", marker.encode() + b" %s\n"),
])
n = len(messages)
orig_at, trans_at = 28, 28 + 8 * n
data_at = trans_at + 8 * n
tables, blob = [b"", b""], b""
for orig, trans in messages:
    for col, s in ((0, orig), (1, trans)):
        tables[col] += struct.pack("<II", len(s), data_at + len(blob))
        blob += s + b"\0"
header = struct.pack("<7I", 0x950412DE, 0, n, orig_at, trans_at, 0, data_at)
with open(path, "wb") as f:
    f.write(header + tables[0] + tables[1] + blob)
EOF
		{ echo "cannot make the catalog" >&2; exit 1; }
	chmod 0644 "$work/catalog.mo"
	# shellcheck disable=SC2016 # expanded by the inner sh
	setpriv --reuid=www-data --regid=www-data --clear-groups sh -c '
		mkdir -p "$1/LC_MESSAGES" "$1/perl" &&
		cp "$2" "$1/LC_MESSAGES/spawnd-gettext-probe.mo" &&
		printf "print qq(%s\\n); 1;\n" "$3" >"$1/perl/strict.pm"' \
		sh "$plant" "$work/catalog.mo" "$PERL_MARKER" ||
		{ echo "www-data cannot plant its files" >&2; exit 1; }
}

# ---- cases ----

# The attack works without spawnd: the same environment, run directly as
# nobody, makes the probe print the planted translation (and perl load the
# planted module). Without this, a broken plant would make every case below
# pass for nothing.
t_the_plant_works() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -i LANG=C.UTF-8 LANGUAGE="$evil_language" "$gettext" >"$work/out" 2>&1
	grep -qx "$MARKER untranslated" "$work/out" ||
		fail "gettext did not load the planted catalog outside spawnd: $(cat "$work/out")"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -i PERLLIB="$plant/perl" perl -e 'use strict; print qq(perl-ran-clean)' \
		>"$work/out" 2>&1
	grep -q "$PERL_MARKER" "$work/out" ||
		fail "perl did not load the planted module outside spawnd: $(cat "$work/out")"
}

# 39, inherited: the client's LANGUAGE (and LC_ALL, LANG as paths) is dropped
# silently under the allowlist, under keepenv and when the rule names it.
t_inherited_language_dropped() {
	for user in nobody daemon bin; do
		as_www LANG=C.UTF-8 LANGUAGE="$evil_language" -- -u "$user" -- "$gettext"
		expect_rc 0
		expect_untranslated
	done
	# LC_MESSAGES as a path to a locale directory, LANG with '..'.
	as_www LANG=C.UTF-8 LC_ALL="$plant" LANGUAGE="$evil_language" -- -u nobody -- "$gettext"
	expect_rc 0
	expect_untranslated
	# The allowlist still works for good values: the probe sees them.
	as_www LANG=C.UTF-8 LANGUAGE=de:en TERM=xterm-256color TZ=Europe/Paris -- \
		-u nobody -- "$probe"
	expect_rc 0
	expect_out_line "env.LANG=C.UTF-8"
	expect_out_line "env.LANGUAGE=de:en"
	expect_out_line "env.TERM=xterm-256color"
	expect_out_line "env.TZ=Europe/Paris"
	as_www LANG=C.UTF-8 LANGUAGE=../x LC_ALL=/tmp TERM=../../x TZ=/tmp/zone COLORTERM=%n -- \
		-u nobody -- "$probe"
	expect_rc 0
	expect_out_line "env.LANG=C.UTF-8"
	for v in LANGUAGE LC_ALL TERM TZ COLORTERM; do
		expect_no_env "$v"
	done
	as_www TZ=:/usr/share/zoneinfo/UTC -- -u nobody -- "$probe"
	expect_rc 0
	expect_out_line "env.TZ=:/usr/share/zoneinfo/UTC"
}

# 39, explicit: refused, naming the variable, even where setenv or keepenv
# lets the client set the name; nothing runs.
t_explicit_language_refused() {
	for user in daemon bin; do
		as_www LANG=C.UTF-8 -- -u "$user" -E LANGUAGE="$evil_language" -- "$gettext"
		expect_rc 125
		expect_refused_naming LANGUAGE
	done
	as_www -- -u daemon -E LC_ALL="$plant" -- "$gettext"
	expect_rc 125
	expect_refused_naming LC_ALL
	as_www -- -u daemon -E TZ=/tmp/zone -- "$gettext"
	expect_rc 125
	expect_refused_naming TZ
	as_www -- -u daemon -E TZ=:/usr/share/zoneinfo/../../../tmp/zone -- "$gettext"
	expect_rc 125
	expect_refused_naming TZ
	# Good values pass where the rule allows them.
	as_www -- -u daemon -E LANGUAGE=de -E TZ=UTC -- "$gettext"
	expect_rc 0
	expect_untranslated
	# Without keepenv or setenv the name itself is refused, as before.
	as_www -- -u nobody -E LANGUAGE="$evil_language" -- "$gettext"
	expect_rc 125
	expect_refused_naming LANGUAGE
}

# A value the admin writes in the rule is the admin's choice, and taken as it is.
t_admin_value_trusted() {
	as_www LANG=C.UTF-8 LANGUAGE=de -- -u sys -- "$gettext"
	expect_rc 0
	grep -qx "$MARKER untranslated" "$work/out" ||
		fail "the rule's own LANGUAGE was not used: $(cat "$work/out")"
}

# 42: under keepenv a planted perl module is not loaded through PERLLIB, and
# the interpreter variables never reach the child.
t_keepenv_denylist() {
	local names=(PERLLIB PERL5LIB PERL5OPT RUBYLIB RUBYOPT JAVA_TOOL_OPTIONS _JAVA_OPTIONS
		JDK_JAVA_OPTIONS CLASSPATH NODE_PATH NODE_OPTIONS LUA_INIT LUA_PATH TCLLIBPATH
		BASHOPTS BASH_ENV TERMINFO TERMINFO_DIRS TZDIR TMPDIR OPENSSL_CONF MALLOC_CHECK_
		GLIBC_TUNABLES LD_PRELOAD PYTHONPATH GIT_CONFIG_GLOBAL PAGER EDITOR LESSOPEN
		XDG_CONFIG_HOME GCONV_PATH)
	local envs=(FOO=kept)
	for n in "${names[@]}"; do
		envs+=("$n=$plant/perl")
	done

	as_www PERLLIB="$plant/perl" -- -u nobody -- /usr/bin/perl -e 'use strict; print qq(perl-ran-clean)'
	expect_rc 0
	grep -q "$PERL_MARKER" "$work/out" && fail "perl loaded the planted module: $(cat "$work/out")"
	[ "$(cat "$work/out")" = perl-ran-clean ] || fail "perl printed '$(cat "$work/out")'"

	as_www "${envs[@]}" -- -u daemon -- "$probe"
	expect_rc 0
	expect_out_line "env.FOO=kept"
	for n in "${names[@]}"; do
		expect_no_env "$n"
	done

	for n in PERLLIB RUBYLIB JAVA_TOOL_OPTIONS NODE_PATH LUA_INIT TCLLIBPATH TERMINFO \
		OPENSSL_CONF MALLOC_CHECK_ TZDIR; do
		as_www -- -u daemon -E "$n=$plant/perl" -- "$probe"
		expect_rc 125
		expect_refused_naming "$n"
	done
}

plant_files
run_all t_the_plant_works t_inherited_language_dropped t_explicit_language_refused \
	t_admin_value_trusted t_keepenv_denylist
