#!/bin/busybox sh
# nvmock: the test system's init (scripts/boot installs it as /init, with this directory's
# other scripts in /nvmock/). Loads nvmock's modules as /nvmock/plan says (their KUnit suites
# run as they load), runs the userspace checks of each area (full runs), unloads everything,
# scans for leaks and powers off. Every line the runner reads starts with "nvmock-init:";
# a failed check prints "nvmock-init: FAILED ...".
#
# /nvmock/env sets NVMOCK_ARCH (um, x86_64), NVMOCK_MODE: full or quick (the KUnit suites
# only: no userspace checks, no kmemleak waits), and NVMOCK_AREAS: the userspace check areas
# this run does (config/modules' area lines; none in quick runs).
# shellcheck shell=sh
# busybox's applets first (the checks are written for them), then Debian's tools.
/bin/busybox mkdir -p /nvmock/bin
/bin/busybox --install -s /nvmock/bin
export PATH=/nvmock/bin:/usr/sbin:/usr/bin:/sbin:/bin
# shellcheck source=/dev/null # written by scripts/boot
. /nvmock/env
# shellcheck source=lib.sh
. /nvmock/lib.sh
# shellcheck source=nvme.sh
. /nvmock/nvme.sh
# shellcheck source=configfs.sh
. /nvmock/configfs.sh
# shellcheck source=nvdimm.sh
. /nvmock/nvdimm.sh
# shellcheck source=zoned.sh
. /nvmock/zoned.sh
# shellcheck source=emuctl.sh
. /nvmock/emuctl.sh
# shellcheck source=faults.sh
. /nvmock/faults.sh
# shellcheck source=nvmet.sh
. /nvmock/nvmet.sh
# shellcheck source=pci.sh
. /nvmock/pci.sh
# shellcheck source=p2p.sh
. /nvmock/p2p.sh
guest_mounts
mount -t debugfs debugfs /sys/kernel/debug
phase start
echo "nvmock-init: $NVMOCK_ARCH, $NVMOCK_MODE run, areas: ${NVMOCK_AREAS:-none}"
# kmemleak baseline: objects from boot (UML's and early x86 allocations it cannot see
# referenced) are reported once they are 5 s old; report and clear them now, so the final
# scan shows only what nvmock's modules leaked.
if [ "$NVMOCK_MODE" = full ] && [ -w /sys/kernel/debug/kmemleak ]; then
	echo "nvmock-init: kmemleak baseline"
	sleep 5
	echo scan > /sys/kernel/debug/kmemleak
	echo clear > /sys/kernel/debug/kmemleak
	phase kmemleak-baseline
fi
# Whether lockdep still checks (a report during boot switches it off for the whole run):
# scripts/boot fails a run that starts with it off (after one repeat).
echo "nvmock-init: lockdep: $(lockdep_now)"
# The shim, the relinked drivers, then the Rust module, whose KUnit suites run as it loads.
plan_load boot
# The relinked drivers, not the production ones, must be the ones loaded.
check_watermarks boot
phase modules

if area_runs nvme-smoke; then
	nvme_checks
	phase nvme
fi
if area_runs configfs; then
	configfs_check
	phase configfs
fi
# Each on a controller of its own, made through nvmock's configfs.
for a in faults nvmet pci p2p; do
	if area_runs $a; then
		${a}_check
		phase $a
	fi
done
if area_runs zoned; then
	zoned_check
	phase zoned
fi
# The NVDIMM area (x86_64, the only arch with ACPI NFIT) also loads the NVDIMM KUnit suites.
if area_runs nvdimm; then
	nvdimm_check
	phase nvdimm
fi
# configfs too (nvmock loaded it): a file system type going away drops the cached text of
# /proc/filesystems. On UML that text is only referenced from a static variable outside the
# data and bss sections kmemleak scans, so kmemleak would report the copy the last reader
# (fio) built as a leak of that reader.
plan_unload boot
for m in mtd configfs; do
	rmmod $m || echo "nvmock-init: FAILED rmmod $m"
done
phase unload
# kmemleak reports an object that two scans found unreferenced and unchanged, once it is 5 s
# old: scan, then scan again no sooner than 5.5 s after the first began (the first scan's
# own time counts: seconds under TCG).
if [ "$NVMOCK_MODE" = quick ]; then
	echo "nvmock-init: kmemleak: not scanned (quick run)"
elif [ -w /sys/kernel/debug/kmemleak ]; then
	echo "nvmock-init: kmemleak scan"
	read -r t0 _ </proc/uptime
	echo scan > /sys/kernel/debug/kmemleak
	read -r t1 _ </proc/uptime
	sleep "$(awk -v a="$t0" -v b="$t1" 'BEGIN {w = a + 5.5 - b; printf "%.1f", (w > 0 ? w : 0)}')"
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak
	phase kmemleak-scan
else
	echo "nvmock-init: kmemleak unavailable"
fi
echo "nvmock-init: done"
poweroff -f
