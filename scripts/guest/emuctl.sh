# nvmock: emulated controllers of their own for the faults, nvmet and pci areas (busybox sh;
# sourced by init.sh from /nvmock/emuctl.sh), made through nvmock's configfs subsystem so that
# each area starts from a fresh controller whatever the areas before it did to nvme=1's, and
# kernel log excerpts for the checks that read what the kernel said.
# shellcheck shell=sh disable=SC2154,SC2034 # $dev, $ctrl: set by lib.sh's nvme_find; $cdev,
# $wait_rc: read by the areas

# cfs_mount: configfs at /sys/kernel/config (nvmock's nvmock_nvme, nvmet's nvmet).
cfs_mount() {
	mkdir -p /sys/kernel/config
	grep -q " /sys/kernel/config configfs " /proc/mounts || mount -t configfs configfs /sys/kernel/config
}

# cfs_umount: unmounts it again (the run unloads the configfs module at its end).
cfs_umount() {
	umount /sys/kernel/config || echo "nvmock-init: FAILED: umount /sys/kernel/config"
}

# EMU_MIB: the size of the areas' controllers: 16 MiB, 8 MiB under x86_64's TCG, where each fio
# pass over a namespace is an order of magnitude slower than on UML.
EMU_MIB=16
[ "${NVMOCK_ARCH:-}" = x86_64 ] && EMU_MIB=8

# emu_ctrl NAME MIB: a controller of the default profile with one namespace of MIB MiB, made
# and powered on through configfs; sets $ctrl and $dev (lib.sh's nvme_find) and $cdev (the
# controller's character device, made if there is no devtmpfs). 1 on failure (printed).
emu_ctrl() {
	d=/sys/kernel/config/nvmock_nvme/$1
	mkdir "$d" || { echo "nvmock-init: FAILED: mkdir $d"; return 1; }
	echo "$2" > "$d"/ns_mib || { echo "nvmock-init: FAILED: $1: ns_mib $2 refused"; return 1; }
	echo 1 > "$d"/power || { echo "nvmock-init: FAILED: $1: power on"; return 1; }
	nvme_find "$(cat "$d"/serial)" || return 1
	cdev=/dev/${ctrl##*/}
	dev_node c "${ctrl##*/}" "$ctrl/dev"
}

# emu_ctrl_rm NAME: removes it (rmdir of a powered controller removes the controller).
emu_ctrl_rm() {
	rmdir /sys/kernel/config/nvmock_nvme/"$1" || echo "nvmock-init: FAILED: rmdir of controller $1"
}

# klog_mark TAG: a line in the kernel log that klog_since finds.
klog_mark() {
	[ -c /dev/kmsg ] || mknod /dev/kmsg c 1 11
	echo "nvmock-mark: $1" > /dev/kmsg
}

# klog_since TAG: the kernel log after the mark TAG, into /tmp/klog.
klog_since() {
	dmesg | sed -n "/nvmock-mark: $1\$/,\$p" | sed 1d >/tmp/klog
}

# klog_has TAG WHAT ERE: whether the kernel log after TAG has a line matching ERE; prints it
# ("nvmock-init: TAG: kernel log: LINE"), or a failure naming WHAT with the excerpt.
klog_has() {
	klog_since "$1"
	if line=$(grep -m1 -E "$3" /tmp/klog); then
		echo "nvmock-init: $1: kernel log: ${line#\[*\] }"
		return 0
	fi
	echo "nvmock-init: FAILED: $1: no $2 in the kernel log (/$3/); after the mark:"
	tail -n 20 /tmp/klog
	return 1
}

# attr_refused MARK WHO DIR ATTR VALUE ERE: writing VALUE to DIR/ATTR must fail, with a
# kernel log line naming the attribute whose reason matches ERE; a failure says WHO (the
# check's name), the kernel log is searched after the mark MARK-bad-ATTR.
attr_refused() {
	klog_mark "$1-bad-$4"
	if echo "$5" > "$3/$4" 2>/dev/null; then
		echo "nvmock-init: FAILED: $2: $4 '$5' was accepted"
		return 1
	fi
	klog_has "$1-bad-$4" "refusal of $4 '$5'" "nvmock_fabric: $4: .*$6"
}

# wait_gone PATH [TENTHS]: waits (default 10 s) until PATH no longer exists; 1 if it still does.
wait_gone() {
	i=0
	while [ -e "$1" ] && [ $i -lt "${2:-100}" ]; do sleep 0.1; i=$((i + 1)); done
	[ ! -e "$1" ]
}

# wait_pid PID SECONDS: waits up to SECONDS for the background job PID; 0 when it ended
# (its status in $wait_rc), 1 if it is still running.
wait_pid() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	kill -0 "$1" 2>/dev/null && return 1
	wait "$1"
	wait_rc=$?
	return 0
}
