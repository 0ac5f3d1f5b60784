# nvmock: the configfs area of the test system's userspace checks (busybox sh; sourced by
# init.sh from /nvmock/configfs.sh): a controller with 4 KiB blocks made at run time through
# nvmock's configfs subsystem, bad input refused, power off and on, removal. Uses nvme.sh's
# nvme_data.
# shellcheck shell=sh disable=SC2154 # $dev, $ctrl: set by lib.sh's nvme_find

configfs_check() {
	mkdir -p /sys/kernel/config
	mount -t configfs configfs /sys/kernel/config 2>/dev/null
	cfs=/sys/kernel/config/nvmock_nvme
	if mkdir $cfs/ssd0; then
		echo 4096 > $cfs/ssd0/lba_size || echo "nvmock-init: FAILED: configfs lba_size 4096 refused"
		echo 16 > $cfs/ssd0/ns_mib || echo "nvmock-init: FAILED: configfs ns_mib 16 refused"
		echo 2 > $cfs/ssd0/namespaces || echo "nvmock-init: FAILED: configfs namespaces 2 refused"
		echo 0x1234 > $cfs/ssd0/vendor_id || echo "nvmock-init: FAILED: configfs vendor_id 0x1234 refused"
		echo abcd > $cfs/ssd0/device_id || echo "nvmock-init: FAILED: configfs device_id abcd refused"
		[ "$(cat $cfs/ssd0/vendor_id):$(cat $cfs/ssd0/device_id)" = 0x1234:0xabcd ] \
			|| echo "nvmock-init: FAILED: configfs shows IDs $(cat $cfs/ssd0/vendor_id):$(cat $cfs/ssd0/device_id)"
		for bad in "lba_size 1000" "ns_mib 0" "queue_entries 1" "mdts 0" "power maybe" "namespaces 0" \
			"namespaces 17" "vendor_id 0xffff" "vendor_id 0" "device_id 0x10000" "device_id zz"; do
			if echo "${bad#* }" > $cfs/ssd0/"${bad%% *}" 2>/dev/null; then
				echo "nvmock-init: FAILED: configfs accepted ${bad%% *}=${bad#* }"
			fi
		done
		serial=$(cat $cfs/ssd0/serial)
		echo 1 > $cfs/ssd0/power || echo "nvmock-init: FAILED: configfs power on"
		echo 512 > $cfs/ssd0/lba_size 2>/dev/null && echo "nvmock-init: FAILED: configfs changed a live profile"
		if nvme_find "$serial"; then
			bs=$(cat /sys/block/"$dev"/queue/logical_block_size)
			[ "$bs" = 4096 ] || echo "nvmock-init: FAILED: $dev has $bs-byte blocks, not 4096"
			ids=$(cat "$ctrl"/device/vendor):$(cat "$ctrl"/device/device)
			[ "$ids" = 0x1234:0xabcd ] || echo "nvmock-init: FAILED: PCI IDs are $ids, not 0x1234:0xabcd"
			i=0 n=0
			while [ $i -lt 50 ]; do
				n=$(grep -lx "$serial *" /sys/block/nvme*/device/serial 2>/dev/null | wc -l)
				[ "$n" -ge 2 ] && break
				sleep 0.1; i=$((i + 1))
			done
			[ "$n" = 2 ] && echo "nvmock-init: configfs: $serial (PCI $ids) has 2 namespaces" \
				|| echo "nvmock-init: FAILED: $serial has $n namespaces, not 2"
			nvme_data "$dev" 4
		fi
		echo 0 > $cfs/ssd0/power || echo "nvmock-init: FAILED: configfs power off"
		[ -e /sys/block/"$dev" ] && echo "nvmock-init: FAILED: $dev still there after power off"
		echo 1 > $cfs/ssd0/power || echo "nvmock-init: FAILED: configfs power on again"
		nvme_find "$serial" >/dev/null && echo "nvmock-init: configfs: $serial back as /dev/$dev"
		rmdir $cfs/ssd0 || echo "nvmock-init: FAILED: configfs rmdir of a live controller"
		[ -e /sys/block/"$dev" ] && echo "nvmock-init: FAILED: $dev still there after rmdir"
	else
		echo "nvmock-init: FAILED: mkdir $cfs/ssd0"
	fi
	umount /sys/kernel/config
	area_done configfs
}
