# nvmock: reading lockdep's state from a test system's console, for scripts/boot and
# scripts/lockdep-boots (sourced, not run).
# shellcheck shell=bash
#
# lockdep_state CONSOLE: what the guest printed when nvmock started ("nvmock-init: lockdep:
#   on|off|not built", scripts/guest/lib.sh's lockdep_now): on, off, "not built" (the kernel
#   has no lockdep) or nothing (the boot died before).
# lockdep_off_reason CONSOLE: the first kernel report before nvmock's first line (the one that
#   switched lockdep off): its first four lines that say something (not rules, blank or taint
#   lines); nothing if there is none.

lockdep_state() {
	grep -m1 -o 'nvmock-init: lockdep: [a-z ]*[a-z]' "$1" | sed 's/^nvmock-init: lockdep: //' || true
}

lockdep_off_reason() {
	awk '/nvmock-init:/ {exit}
		!n && /WARNING:|BUG:|kernel BUG|Oops|KASAN:|UBSAN:|DEBUG_LOCKS_WARN_ON|turning off the locking correctness validator|Disabling lock debugging/ {n = 4}
		n { sub(/\r$/, ""); t = $0; sub(/^\[[ 0-9.]*\] */, "", t)
			if (t ~ /^[-=]*\r?$/ || t ~ /(Not tainted|Tainted:)/) next
			print; if (!--n) exit }' "$1"
}
