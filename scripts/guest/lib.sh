# nvmock: shell functions for the test system's init scripts (busybox sh; sourced from
# /nvmock/lib.sh, where scripts/vm.sh installs it).
# shellcheck shell=sh

# guest_mounts: /proc, /sys and /dev; without devtmpfs (UML's kernels), the nodes the init
# scripts use.
guest_mounts() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs dev /dev 2>/dev/null
	[ -c /dev/null ] || mknod /dev/null c 1 3
	[ -c /dev/urandom ] || mknod /dev/urandom c 1 9
}

# dev_node b|c NAME SYSFS-DEV: /dev/NAME for the device whose "major:minor" is in SYSFS-DEV.
# Without devtmpfs (UML's kernels) the node is made here, and made again whenever the device
# number changed (a namespace deleted and created again gets a new minor: the old node would
# answer ENXIO).
dev_node() {
	want=$(cat "$3") || return 1
	[ "$(stat -c '%t:%T' "/dev/$2" 2>/dev/null)" = "$(printf '%x:%x' "${want%%:*}" "${want##*:}")" ] && return 0
	rm -f "/dev/$2"
	mknod "/dev/$2" "$1" "${want%%:*}" "${want##*:}"
}

# nvme_find SERIAL: waits for the controller with serial number SERIAL and its namespace's
# block device; sets $ctrl (sysfs) and $dev (name), or prints a failure and returns 1.
nvme_find() {
	i=0 ctrl='' dev=''
	while [ -z "$ctrl" ] && [ $i -lt 200 ]; do
		for c in /sys/class/nvme/nvme*; do
			# The serial number is space-padded to 20 characters.
			[ "$(tr -d ' ' <"$c"/serial 2>/dev/null)" = "$1" ] && ctrl=$c
		done
		[ -n "$ctrl" ] || { sleep 0.1; i=$((i + 1)); }
	done
	[ -n "$ctrl" ] || { echo "nvmock-init: FAILED: no controller with serial $1"; return 1; }
	i=0
	while [ -z "$dev" ] && [ $i -lt 200 ]; do
		for b in /sys/block/nvme*; do
			# device/ is the controller, or the NVM subsystem with native multipath.
			[ "$(tr -d ' ' <"$b"/device/serial 2>/dev/null)" = "$1" ] && dev=${b##*/}
		done
		[ -n "$dev" ] || { sleep 0.1; i=$((i + 1)); }
	done
	[ -n "$dev" ] || { echo "nvmock-init: FAILED: no block device for $ctrl"; return 1; }
	dev_node b "$dev" "/sys/block/$dev/dev"
	echo "nvmock-init: $ctrl ($1): model '$(tr -s ' ' <"$ctrl/model")', namespace /dev/$dev"
}

# count PATH...: how many of the paths exist (for a glob that may match nothing).
count() {
	n=0
	for p in "$@"; do [ -e "$p" ] && n=$((n + 1)); done
	echo $n
}

# phase NAME: marks the end of a phase of the run with the guest's uptime, for the runner's
# timing table ("nvmock-init: phase NAME at SECONDS").
phase() {
	read -r up _ </proc/uptime
	echo "nvmock-init: phase $1 at $up"
}

# The load plan, /nvmock/plan (scripts/suites plan ARCH MODE, from config/modules): one line per
# module, in load order: NAME LOAD ROLE HELD FILTER PARAMS UNLOAD. LOAD is the group that loads it
# (boot: init.sh before the checks; nvdimm: the NVDIMM area); HELD how many KUnit suites it
# holds; FILTER the suites to run as it loads (* every one it holds, - none, else a
# comma-separated list); PARAMS comma-separated module parameters (full runs) or -; UNLOAD
# whether the run unloads it at the end (yes, no).

# plan_has GROUP: whether the plan loads any module in GROUP.
plan_has() {
	grep -q "^[^ ]* $1 " /nvmock/plan
}

# plan_modules GROUP [ROLE] [suites|plain]: the names of GROUP's modules (of ROLE; holding
# KUnit suites or not), in load order.
plan_modules() {
	awk -v g="$1" -v r="${2:-}" -v s="${3:-}" '$2 == g && (r == "" || $3 == r) &&
		(s == "" || (s == "suites") == ($4 > 0)) {print $1}' /nvmock/plan
}

# kunit_glob GLOB: the suites (suite_glob[.test_glob]) the next module loads run; "*.*" is
# KUnit's default, every suite. No newline: the parameter is taken as written.
kunit_glob() {
	printf '%s' "$1" > /sys/module/kunit/parameters/filter_glob \
		|| echo "nvmock-init: FAILED: setting kunit.filter_glob to $1"
}

# plan_load_one NAME: loads NAME as its plan line says; 1 if a load failed. A module that is
# to run only some of its suites loads once per suite under kunit.filter_glob, and is
# unloaded in between; the last load keeps it (with its parameters) for the checks.
plan_load_one() {
	# The plan's fields are single words, and "*" is one of them: no globbing until the end.
	set -f
	# shellcheck disable=SC2046 # split into the fields
	set -- $(grep "^$1 " /nvmock/plan)
	name=$1 filter=$5 params=
	[ "$6" = - ] || params=$(echo "$6" | tr ',' ' ')
	case "$filter" in
	'*') globs='*.*' ;;
	-) globs=nvmock-no-suite ;;
	*) globs=$(echo "$filter" | tr ',' ' ') ;;
	esac
	last=${globs##* } rc=0
	for g in $globs; do
		kunit_glob "$g"
		echo "nvmock-init: modprobe $name $params (kunit.filter_glob=$g)"
		if [ "$g" = "$last" ]; then
			# shellcheck disable=SC2086 # params: separate words
			modprobe "$name" $params || { echo "nvmock-init: FAILED modprobe $name"; rc=1; }
		else
			modprobe "$name" || { echo "nvmock-init: FAILED modprobe $name"; rc=1; }
			rmmod "$name" || echo "nvmock-init: FAILED rmmod $name"
		fi
	done
	kunit_glob '*.*'
	set +f
	return $rc
}

# plan_load GROUP [ROLE] [suites|plain]: GROUP's modules (as plan_modules selects them), in
# order; 1 if one failed to load.
plan_load() {
	rc=0
	for m in $(plan_modules "$@"); do
		plan_load_one "$m" || rc=1
	done
	return $rc
}

# plan_unload GROUP: GROUP's modules that are still loaded and are to be unloaded, in reverse
# order.
plan_unload() {
	awk -v g="$1" '$2 == g && $7 == "yes" {print $1}' /nvmock/plan | sed -n '1!G;h;$p' >/tmp/unload
	while read -r m; do
		grep -q "^$m " /proc/modules || continue
		rmmod "$m" || echo "nvmock-init: FAILED rmmod $m"
	done </tmp/unload
}

# check_watermarks GROUP: every relinked module of GROUP must be nvmock's copy, not the
# production module of the same name. One pass over /proc/kallsyms for the whole group (each
# pass formats every kernel symbol: seconds under TCG with KASAN).
check_watermarks() {
	grep -o 'nvmock_watermark_[A-Za-z0-9_]*' /proc/kallsyms >/tmp/watermarks
	for w in $(plan_modules "$1" relinked); do
		grep -qx "nvmock_watermark_$w" /tmp/watermarks || echo "nvmock-init: FAILED: $w is not the relinked copy"
	done
}

# area_runs NAME: whether this run does the userspace checks of area NAME.
area_runs() {
	case " $NVMOCK_AREAS " in *" $1 "*) return 0 ;; esac
	return 1
}

# area_done NAME: an area's checks ran to their end (the runner requires this line of every
# area the run was to do; a failed check still prints its own FAILED line).
area_done() {
	echo "nvmock-init: area $1 done"
}

# lockdep_now: whether lockdep still checks (on, off, or "not built"): its first report (also
# one the kernel makes about itself while booting) switches it off for the rest of the boot.
# The runner reads the first "nvmock-init: lockdep: STATE" line (scripts/lockdep.sh).
lockdep_now() {
	if [ ! -r /proc/lockdep_stats ]; then
		echo "not built"
	elif grep -qE "debug_locks: +1$" /proc/lockdep_stats; then
		echo on
	else
		echo off
	fi
}
