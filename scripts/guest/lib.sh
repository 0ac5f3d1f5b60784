# nvmock: shell functions for the test system's init scripts (busybox sh; sourced from
# /nvmock/lib.sh, where scripts/vm.sh installs it).

# guest_mounts: /proc, /sys and /dev; without devtmpfs (UML's kernels), the nodes the init
# scripts use.
guest_mounts() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs dev /dev 2>/dev/null
	[ -c /dev/null ] || mknod /dev/null c 1 3
	[ -c /dev/urandom ] || mknod /dev/urandom c 1 9
}

# nvme_find SERIAL: waits for the controller with serial number SERIAL and its namespace's
# block device; sets $ctrl (sysfs) and $dev (name), or prints a failure and returns 1.
nvme_find() {
	i=0 ctrl= dev=
	while [ -z "$ctrl" ] && [ $i -lt 200 ]; do
		for c in /sys/class/nvme/nvme*; do
			# The serial number is space-padded to 20 characters.
			[ "$(tr -d ' ' <$c/serial 2>/dev/null)" = "$1" ] && ctrl=$c
		done
		[ -n "$ctrl" ] || { sleep 0.1; i=$((i + 1)); }
	done
	[ -n "$ctrl" ] || { echo "nvmock-init: FAILED: no controller with serial $1"; return 1; }
	i=0
	while [ -z "$dev" ] && [ $i -lt 200 ]; do
		for b in /sys/block/nvme*; do
			# device/ is the controller, or the NVM subsystem with native multipath.
			[ "$(tr -d ' ' <$b/device/serial 2>/dev/null)" = "$1" ] && dev=${b##*/}
		done
		[ -n "$dev" ] || { sleep 0.1; i=$((i + 1)); }
	done
	[ -n "$dev" ] || { echo "nvmock-init: FAILED: no block device for $ctrl"; return 1; }
	# UML's test kernel has no devtmpfs: make the node from sysfs when it is missing.
	[ -b /dev/$dev ] || mknod /dev/$dev b $(tr ':' ' ' </sys/block/$dev/dev)
	echo "nvmock-init: $ctrl ($1): model '$(cat $ctrl/model | tr -s ' ')', namespace /dev/$dev"
}
