# nvmock: the p2p area of the test system's userspace checks (busybox sh; sourced by init.sh
# from /nvmock/p2p.sh; x86_64, the only arch with ZONE_DEVICE and the devmem reservation):
# p2pmem-test's scenario with the project's own tool (scripts/guest/p2p-copy.c). A controller
# with a 16 MiB Controller Memory Buffer is made through configfs; the nvme driver registers
# the CMB with the P2PDMA layer and publishes it (/sys/bus/pci/devices/<bdf>/p2pmem/). Data
# written to its namespace is read with O_DIRECT into a buffer mmap'd from p2pmem/allocate and
# written back with O_DIRECT from there, in several chunk sizes, thread counts and buffer
# offsets, then read back and compared byte for byte. The CMB is the drive's own, so the
# kernel always allows it (distance 0) and the controller serves the transfers inside itself.
# A second controller without a CMB sits on a host bridge of its own: a copy through the first
# one's CMB to it crosses two host bridges, which the kernel refuses (no whitelisted root, no
# switch between them): the copy's first write to it must fail, with the P2PDMA layer's
# reason in the kernel log. Uses emuctl.sh's configfs and kernel log helpers.
# shellcheck shell=sh disable=SC2154 # $dev, $ctrl: set by lib.sh's nvme_find

# p2p_ctrl NAME NS_MIB CMB_MIB: a controller of the default profile with a namespace of NS_MIB
# MiB and a CMB of CMB_MIB MiB (0: none), powered on through configfs; sets $ctrl and $dev.
p2p_ctrl() {
	d=/sys/kernel/config/nvmock_nvme/$1
	mkdir "$d" || { echo "nvmock-init: FAILED: mkdir $d"; return 1; }
	echo "$2" > "$d"/ns_mib || { echo "nvmock-init: FAILED: $1: ns_mib $2 refused"; return 1; }
	echo "$3" > "$d"/cmb_mib || { echo "nvmock-init: FAILED: $1: cmb_mib $3 refused"; return 1; }
	echo 1 > "$d"/power || { echo "nvmock-init: FAILED: $1: power on"; return 1; }
	nvme_find "$(cat "$d"/serial)"
}

p2p_check() {
	cfs_mount
	if p2p_ctrl p2pa 8 16; then
		pa=$dev
		bdf=$(readlink -f "$ctrl"/device)
		bdf=${bdf##*/}
		p2p=/sys/bus/pci/devices/$bdf/p2pmem
		echo "nvmock-init: p2p: $bdf: p2pmem size $(cat "$p2p"/size 2>&1), available $(cat "$p2p"/available 2>&1), published $(cat "$p2p"/published 2>&1)"
		[ "$(cat "$p2p"/published 2>/dev/null)" = 1 ] \
			|| echo "nvmock-init: FAILED: p2p: the CMB of $bdf is not published"
		# MIB CHUNK THREADS BUFOFF: 4 MiB copied each time (the namespace holds the source and
		# the destination); every chunk size's buffers fit the CMB beside the SQs.
		for args in "4 4096 1 0" "4 65536 2 20480" "4 131072 3 1048576" "4 1048576 4 0"; do
			# shellcheck disable=SC2086 # four words
			p2p-copy "/dev/$pa" "/dev/$pa" "$p2p"/allocate $args \
				|| echo "nvmock-init: FAILED: p2p: copy through the CMB of $bdf ($args) exited $?"
		done
		if p2p_ctrl p2pb 8 0; then
			pb=$dev
			# Through A's CMB from A to B: B's DMA would cross from one host bridge to the other.
			klog_mark p2p-across
			p2p-copy "/dev/$pa" "/dev/$pb" "$p2p"/allocate 1 65536 1 0 >/tmp/p2p.out 2>&1
			rc=$?
			if [ $rc = 0 ]; then
				echo "nvmock-init: FAILED: p2p: a copy from $pa to $pb through $bdf's CMB passed across two host bridges"
			elif grep -q "O_DIRECT write of chunk 0 from P2P memory" /tmp/p2p.out; then
				echo "nvmock-init: p2p: across host bridges refused as the kernel's rules say: $(grep -m1 'O_DIRECT write' /tmp/p2p.out | sed 's/.*memory: //')"
				klog_has p2p-across "P2PDMA refusal" "cannot be used for peer-to-peer DMA"
			else
				echo "nvmock-init: FAILED: p2p: the copy to $pb failed otherwise:"
				cat /tmp/p2p.out
			fi
			rmdir /sys/kernel/config/nvmock_nvme/p2pb || echo "nvmock-init: FAILED: rmdir of controller p2pb"
		fi
		rmdir /sys/kernel/config/nvmock_nvme/p2pa || echo "nvmock-init: FAILED: rmdir of controller p2pa"
	fi
	cfs_umount
	area_done p2p
}
