#!/bin/busybox sh
# nvmock: the test system's init for scripts/lockdep-boots (installed as /init in place of
# init.sh): the boot only as far as nvmock. Prints lockdep's state at the point where init.sh
# starts nvmock ("nvmock-init: lockdep: on|off|not built"), loads the shim, the relinked
# drivers and nvmock as /nvmock/plan says (a plan without KUnit suites, nvmock with nvme=1),
# checks that the relinked copies are the ones loaded and that the controller's namespace
# appears, prints the state again ("nvmock-init: lockdep after
# loading: ..."), and powers off.
# shellcheck shell=sh
/bin/busybox mkdir -p /nvmock/bin
/bin/busybox --install -s /nvmock/bin
export PATH=/nvmock/bin:/usr/sbin:/usr/bin:/sbin:/bin
# shellcheck source=lib.sh
. /nvmock/lib.sh
guest_mounts
echo "nvmock-init: lockdep: $(lockdep_now)"
plan_load boot || echo "nvmock-init: FAILED: loading nvmock's modules"
check_watermarks boot
# nvme=1: the driver binds the controller and scans its namespace.
i=0
while [ ! -e /sys/block/nvme0n1 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -e /sys/block/nvme0n1 ]; then
	echo "nvmock-init: nvme0n1 present"
else
	echo "nvmock-init: FAILED: no nvme0n1 10 s after nvmock loaded"
fi
echo "nvmock-init: lockdep after loading: $(lockdep_now)"
echo "nvmock-init: done"
poweroff -f
