#!/bin/sh
# nvmock: ndctl's test suite in the guest, run as `meson test` runs it, from the list that
# scripts/ndctl makes from `meson introspect --tests` (/ndctl/tests.tsv): each test with its
# environment, working directory and timeout, stdin from /dev/null, its output in a log file of
# its own; one line per test and the totals as meson prints them. POSIX sh (dash, busybox sh).
#
#   ndctl-suite.sh [LOGDIR] [SUITE...]
#
#   LOGDIR   an absolute path, first argument only: where the logs go (else $NDCTL_LOGDIR, else
#            /tmp/ndctl-logs): NAME.log per test, summary.txt (what was printed).
#   SUITE    a suite (ndctl, dax, cxl) or project:suite (ndctl:dax); none: every test.
# Environment:
#   NDCTL_TESTS="NAME ..."       only these tests (meson's names: libndctl, create.sh, ...)
#   NDCTL_TIMEOUT=SECONDS        every test's timeout instead of its own (decimals allowed, 0: none)
#   NDCTL_TIMEOUT_MULTIPLIER=N   each test's own timeout times N (meson test -t N; 0: none)
#   NDCTL_TESTS_LIST=FILE        the list (default /ndctl/tests.tsv)
#   NDCTL_PROFILE=0              no per-test profile (default: LOGDIR/profile.tsv, below)
#   NDCTL_STEP_TIMES=0           no time stamps in the tests' traces (below); =all: also trace
#                                the shell tests that do not trace themselves (btt-check.sh)
# Like meson: exit code 77 is SKIP, 99 ERROR (counted as Fail), a test marked should_fail
# inverts OK and FAIL; MALLOC_PERTURB_ (random), ASAN/UBSAN/MSAN_OPTIONS and
# MESON_TEST_ITERATION are set unless already set. A timed-out test and its process group get
# SIGTERM, then SIGKILL 10 s later (timeout(1)).
# Exit status: 1 if a test failed, errored, timed out or passed unexpectedly; 2 on bad usage
# (a suite or test name that matches nothing included); else 0.
#
# The profile, LOGDIR/profile.tsv, one line per test: its result and wall time, the guest's
# CPU time during it by kind from /proc/stat (user, system, idle, iowait, irq: seconds summed
# over the CPUs, so they add up to CPUs x wall), and what nvmock's emulated buses did for it:
# commands, milliseconds spent in them (nvmock's nfit_test: NfitBus::ctl), label bytes read
# and written. The bus columns come from each bus's debugfs file <bus>/stats (reset when a test
# starts) plus the line a bus logs when it goes (tests reload nfit_test); against the kernel's
# C nfit_test, which keeps no such count, they are "-".
#
# Step times: ndctl's shell tests run under `bash -x`. Bash reads BASH_ENV before a script (it
# does not take PS4 from the environment when run as root), so the runner points it at a file
# that puts the time (EPOCHREALTIME, no fork) in PS4: each traced line of a test's log then
# starts with "+ SECONDS.MICROSECONDS ", which scripts/ndctl-steps turns into the time each
# step took. Nothing else changes: the trace goes where it went before. With
# NDCTL_STEP_TIMES=all the file also turns tracing on in every bash that starts without it,
# which puts trace lines on stderr where a test did not have them: for looking at a test,
# not for a run whose results count.

set -u
tab=$(printf '\t')
list=${NDCTL_TESTS_LIST:-/ndctl/tests.tsv}
logdir=${NDCTL_LOGDIR:-/tmp/ndctl-logs}
case "${1:-}" in /*) logdir=$1; shift ;; esac
want_suites="$*"
want_tests=${NDCTL_TESTS:-}
usage() { echo "ndctl-suite: $*" >&2; exit 2; }
[ -r "$list" ] || usage "no test list at $list"
case "${NDCTL_TIMEOUT:-0}" in '' | *[!0-9.]* | *.*.*) usage "NDCTL_TIMEOUT=$NDCTL_TIMEOUT is not a number of seconds" ;; esac
case "${NDCTL_STEP_TIMES:-1}" in 0 | 1 | all) ;; *) usage "NDCTL_STEP_TIMES=$NDCTL_STEP_TIMES is not 0, 1 or all" ;; esac
case "${NDCTL_TIMEOUT_MULTIPLIER:-1}" in '' | *[!0-9]*) usage "NDCTL_TIMEOUT_MULTIPLIER=$NDCTL_TIMEOUT_MULTIPLIER is not a whole number" ;; esac
mkdir -p "$logdir" || usage "cannot create $logdir"
sel=$logdir/.selected
fails=$logdir/.failures
: >"$sel"
: >"$fails"
: >"$logdir/summary.txt"

# coreutils' timeout by its path: busybox sh (Debian's prefers its applets) would otherwise run
# busybox's, which exits 143 rather than 124.
timeout_bin=timeout
for p in /usr/bin/timeout /bin/timeout; do [ -x $p ] && { timeout_bin=$p; break; }; done

# is_zero T: T (seconds, maybe decimal) is zero.
is_zero() { awk -v t="$1" 'BEGIN { exit !(t + 0 == 0) }'; }
# now: seconds since boot, to the hundredth.
now() {
	if [ -r /proc/uptime ]; then read -r up _ </proc/uptime && echo "$up"; else date +%s.%N; fi
}
out() { printf '%s\n' "$*"; printf '%s\n' "$*" >>"$logdir/summary.txt"; }

# Pass 1: the selection, meson's pretty names and column widths.
all_suites=, matched=, count=0 name_max=0 dur_max=0
while IFS=$tab read -r name suites timeout should_fail workdir env cmd; do
	case "$name" in '#'* | '') continue ;; esac
	[ -n "$cmd" ] || usage "$list: short line for $name"
	case "$all_suites" in *",$suites,"*) ;; *) all_suites="$all_suites$suites," ;; esac
	ok=1
	if [ -n "$want_suites" ]; then
		ok=0
		for w in $want_suites; do
			case "$w" in
			*:*) case ",$suites," in *",$w,"*) ok=1 matched="$matched $w" ;; esac ;;
			*) case ",$suites," in *":$w,"*) ok=1 matched="$matched $w" ;; esac ;;
			esac
		done
	fi
	if [ -n "$want_tests" ] && [ $ok = 1 ]; then
		case " $want_tests " in *" $name "*) matched="$matched =$name" ;; *) ok=0 ;; esac
	fi
	[ $ok = 1 ] || continue
	if [ -n "${NDCTL_TIMEOUT:-}" ]; then
		t=$NDCTL_TIMEOUT
	else
		t=$((timeout * ${NDCTL_TIMEOUT_MULTIPLIER:-1}))
	fi
	# meson's duration column: as wide as the longest whole timeout (99 for none), plus 3.
	if is_zero "$t"; then w=99; else w=${t%%.*}; w=$((${w:-0} + 0)); fi
	[ ${#w} -le "$dur_max" ] || dur_max=${#w}
	count=$((count + 1))
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$suites" "$t" "$should_fail" "$workdir" "$env" "$cmd" >>"$sel"
done <"$list"
for w in $want_suites; do
	case "$matched " in *" $w "*) ;; *) usage "no suite '$w' in $list" ;; esac
done
for n in $want_tests; do
	case "$matched " in *" =$n "*) ;; *) usage "no test '$n' in the suites selected from $list" ;; esac
done
[ $count -gt 0 ] || usage "no tests in $list"

# meson prefixes the project and suites only when the project has more than one suite.
pretty() { # NAME SUITES
	case "$all_suites" in
	,*,*,*) printf '%s' "${2%%:*}:"; printf '%s' "$2" | awk -v RS=, '{ sub(/^[^:]*:/, ""); printf "%s%s", (NR > 1 ? "+" : ""), $0 }'; printf ' / %s' "$1" ;;
	*) printf '%s' "$1" ;;
	esac
}
while IFS=$tab read -r name suites _; do
	p=$(pretty "$name" "$suites")
	[ ${#p} -le "$name_max" ] || name_max=${#p}
done <"$sel"
numlen=${#count}
durlen=$((dur_max + 3))

# --- the profile ---------------------------------------------------------------------------
profile=$logdir/profile.tsv
[ "${NDCTL_PROFILE:-1}" = 0 ] && profile=
# cpu_now: user system idle iowait irq, in clock ticks summed over the CPUs.
cpu_now() { awk '$1 == "cpu" { print $2 + $3, $4, $5, $6, $7 + $8 }' /proc/stat; }
bus_stats() { ls /sys/kernel/debug/nfit_test.*/stats 2>/dev/null; }
# bus_begin NUM: resets the buses' counts and marks the kernel log where test NUM begins.
bus_begin() {
	for f in $(bus_stats); do echo 0 >"$f" 2>/dev/null; done
	echo "<6>nvmock-profile: test $1 begins" >/dev/kmsg 2>/dev/null
}
# bus_end NUM: "commands ms label_read label_written" since bus_begin NUM, or "- - - -" if no
# bus of nvmock's ran (the C nfit_test).
bus_end() {
	{
		for f in $(bus_stats); do head -n 2 "$f" 2>/dev/null; done
		dmesg 2>/dev/null | awk -v m="nvmock-profile: test $1 begins" \
			'index($0, m) { n = 0; next } { l[n++] = $0 } END { for (i = 0; i < n; i++) print l[i] }' \
			| grep ' commands in .* us (longest'
	} | awk '
		$1 == "commands" { c += $2; ns += $4; seen = 1 }
		$1 == "label_bytes" { r += $3; w += $5 }
		/ commands in / {
			for (i = 1; i <= NF; i++) {
				if ($(i + 1) == "commands" && $(i + 2) == "in") { c += $i; ns += $(i + 3) * 1000; seen = 1 }
				if ($i == "read" && $(i - 2) == "bytes") r += $(i - 1)
				if ($i == "written") w += $(i - 1)
			}
		}
		END { if (seen) printf "%d %.1f %d %d\n", c, ns / 1e6, r, w; else print "- - - -" }'
}
if [ -n "$profile" ]; then
	printf 'test\tresult\twall_s\tuser_s\tsys_s\tidle_s\tiowait_s\tirq_s\tbus_cmds\tbus_ms\tlabel_rd\tlabel_wr\n' >"$profile"
fi
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
step_env=
if [ "${NDCTL_STEP_TIMES:-1}" != 0 ]; then
	step_env=$logdir/.bash_env
	# shellcheck disable=SC2016 # expanded by each traced bash, not here
	printf '%s\n' '# nvmock: time-stamped xtrace (ndctl-suite.sh)' 'PS4='"'"'+ ${EPOCHREALTIME} '"'" >"$step_env"
	if [ "${NDCTL_STEP_TIMES:-1}" = all ]; then
		printf '%s\n' 'case $- in *x*) ;; *) set -x ;; esac' >>"$step_env"
	fi
fi

n_ok=0 n_xfail=0 n_fail=0 n_xpass=0 n_skip=0 n_timeout=0 num=0
while IFS=$tab read -r name suites t should_fail workdir env cmd; do
	num=$((num + 1))
	p=$(pretty "$name" "$suites")
	log=$logdir/$(printf '%s' "$name" | tr '/ ' '__').log
	[ "$env" != - ] || env=
	if is_zero "$t"; then tcmd=; else tcmd="$timeout_bin -k 10 $t"; fi
	mp=$(od -An -N1 -tu1 /dev/urandom 2>/dev/null | tr -d ' ')
	mp=$(((${mp:-0} % 255) + 1))
	{
		echo "==================================== $num/$count ===================================="
		echo "test:         $p"
		echo "start time:   $(date '+%Y-%m-%d %H:%M:%S')"
		echo "workdir:      $workdir"
		echo "command:      $env $cmd"
		echo "timeout:      $(if [ -n "$tcmd" ]; then echo "${t}s"; else echo none; fi)"
		echo "----------------------------------- output -----------------------------------"
	} >"$log"
	if [ -n "$profile" ]; then
		bus_begin $num
		cpu0=$(cpu_now)
	fi
	start=$(now)
	(
		: "${MALLOC_PERTURB_:=$mp}"
		: "${ASAN_OPTIONS:=halt_on_error=1:abort_on_error=1:print_summary=1}"
		: "${UBSAN_OPTIONS:=halt_on_error=1:abort_on_error=1:print_summary=1:print_stacktrace=1}"
		: "${MSAN_OPTIONS:=halt_on_error=1:abort_on_error=1:print_summary=1:print_stacktrace=1}"
		MESON_TEST_ITERATION=1
		export MALLOC_PERTURB_ ASAN_OPTIONS UBSAN_OPTIONS MSAN_OPTIONS MESON_TEST_ITERATION
		[ -z "$step_env" ] || export BASH_ENV="$step_env"
		cd "$workdir" || exit 99
		# No exec: a shell reports a child killed by a signal, this one into the log.
		eval "env $env $tcmd $cmd"
	) </dev/null >>"$log" 2>&1
	rc=$?
	end=$(now)
	[ -z "$profile" ] || cpu1=$(cpu_now)
	dur=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
	timed_out=0
	if [ -n "$tcmd" ] && { [ $rc = 124 ] || [ $rc = 137 ] || [ $rc = 143 ]; } \
		&& awk -v d="$dur" -v t="$t" 'BEGIN { exit !(d + 0.05 >= t + 0) }'; then
		timed_out=1
	fi
	if [ $timed_out = 1 ]; then
		res=TIMEOUT n_timeout=$((n_timeout + 1))
	elif [ $rc = 77 ]; then
		res=SKIP n_skip=$((n_skip + 1))
	elif [ $rc = 99 ]; then
		res=ERROR n_fail=$((n_fail + 1))
	elif [ $rc = 0 ]; then
		if [ "$should_fail" = 1 ]; then res=UNEXPECTEDPASS n_xpass=$((n_xpass + 1)); else res=OK n_ok=$((n_ok + 1)); fi
	else
		if [ "$should_fail" = 1 ]; then res=EXPECTEDFAIL n_xfail=$((n_xfail + 1)); else res=FAIL n_fail=$((n_fail + 1)); fi
	fi
	# meson's details: how the process ended, when not with 0.
	if [ $timed_out = 1 ]; then
		if [ $rc = 137 ]; then details="killed by signal 9 SIGKILL"; else details="killed by signal 15 SIGTERM"; fi
	elif [ $rc = 0 ]; then
		details=
	elif [ $rc -le 128 ]; then
		details="exit status $rc"
	else
		details="(exit status $rc or signal $((rc - 128)) SIG$(kill -l $((rc - 128)) 2>/dev/null || echo invalid))"
	fi
	{
		echo "----------------------------------- result -----------------------------------"
		echo "result:       $res${details:+   $details}"
		echo "duration:     ${dur}s"
	} >>"$log"
	line=$(printf "%${numlen}d/%d %-$((name_max + 1))s%-14s %${durlen}s" "$num" "$count" "$p" "$res" "$dur")
	line="${line}s${details:+   $details}"
	out "$line"
	if [ -n "$profile" ]; then
		printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$res" "$dur" "$(echo "$cpu0 $cpu1" | awk -v hz="$hz" \
			'{ for (i = 1; i <= 5; i++) printf "%s%.1f", (i > 1 ? "\t" : ""), ($(i + 5) - $i) / hz }')" \
			"$(bus_end $num | tr ' ' '\t')" >>"$profile"
	fi
	case $res in FAIL | ERROR | TIMEOUT | UNEXPECTEDPASS) printf '%s\n' "$line" >>"$fails" ;; esac
done <"$sel"

if [ -s "$fails" ]; then
	out ""
	out "Summary of Failures:"
	out ""
	while IFS= read -r line; do out "$line"; done <"$fails"
fi
out ""
out "$(printf 'Ok:                 %-4s' $n_ok)"
out "$(printf 'Expected Fail:      %-4s' $n_xfail)"
out "$(printf 'Fail:               %-4s' $n_fail)"
out "$(printf 'Unexpected Pass:    %-4s' $n_xpass)"
out "$(printf 'Skipped:            %-4s' $n_skip)"
out "$(printf 'Timeout:            %-4s' $n_timeout)"
out ""
out "Logs written to $logdir"
rm -f "$sel" "$fails" ${step_env:+"$step_env"}
[ $((n_fail + n_xpass + n_timeout)) = 0 ]
