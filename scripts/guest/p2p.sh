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

# p2p_member BDF: the namespace of the controller at PCI address BDF (sets $ctrl and $dev).
p2p_member() {
	for c in /sys/bus/pci/devices/"$1"/nvme/nvme*; do
		[ -e "$c/serial" ] && nvme_find "$(tr -d ' ' <"$c"/serial)" && return 0
	done
	echo "nvmock-init: FAILED: p2p: no nvme controller at $1"
	return 1
}

# p2p_refused DIR ATTR VALUE ERE: emuctl.sh's attr_refused for the p2p area.
p2p_refused() {
	attr_refused p2p p2p "$@"
}

# p2p_switch: p2pmem-test's own advice, a PCIe switch between the drives (nvmock_fabric, the
# PCIe topology of issue 15 part 3): A (with the CMB) and B behind one switch, C under another
# root port of the same host bridge (QEMU's root ports: not on the kernel's whitelist). A to B
# through A's CMB is a peer-to-peer copy by bus address, every byte compared; A to C is
# refused at its first write, the P2PDMA layer's reason in the log.
p2p_switch() {
	f=/sys/kernel/config/nvmock_fabric/p2p
	mkdir "$f" || { echo "nvmock-init: FAILED: mkdir $f"; return; }
	# Bad values are refused when written, the attribute and the reason in the log: an
	# endpoint on a switch upstream port, ports that are not known, a member at a port's node.
	p2p_refused "$f" topology "rp@0 usp@1 ep@2" "cannot sit on its parent"
	p2p_refused "$f" ports pcie "is not qemu or skylake-e"
	if ! echo "rp@0.0 usp@1 dsp@2.0 dsp@2.1 ep@3 ep@4 rp@0.1 ep@7" > "$f"/topology \
		|| ! p2p_refused "$f" members "4:2" "node 4 is not an endpoint" \
		|| ! echo qemu > "$f"/ports || ! echo "5:16 6 8" > "$f"/members || ! echo 1 > "$f"/power; then
		echo "nvmock-init: FAILED: p2p: cannot make the switch topology in $f"
		rmdir "$f" 2>/dev/null
		return
	fi
	sa=$(awk '$1 == 5 {print $2}' "$f"/devices) sb=$(awk '$1 == 6 {print $2}' "$f"/devices)
	sc=$(awk '$1 == 8 {print $2}' "$f"/devices)
	echo "nvmock-init: p2p: switch topology: A $sa (CMB), B $sb behind the same switch, C $sc under another root port"
	if p2p_member "$sa" && sdev_a=$dev && p2p_member "$sb" && sdev_b=$dev && p2p_member "$sc"; then
		sdev_c=$dev
		sp2p=/sys/bus/pci/devices/$sa/p2pmem
		[ "$(cat "$sp2p"/published 2>/dev/null)" = 1 ] \
			|| echo "nvmock-init: FAILED: p2p: the CMB of $sa is not published"
		for args in "4 65536 2 0" "4 1048576 4 4096"; do
			# shellcheck disable=SC2086 # four words
			p2p-copy "/dev/$sdev_a" "/dev/$sdev_b" "$sp2p"/allocate $args \
				|| echo "nvmock-init: FAILED: p2p: copy $sdev_a -> $sdev_b through the CMB of $sa behind one switch ($args) exited $?"
		done
		klog_mark p2p-rootports
		if p2p-copy "/dev/$sdev_a" "/dev/$sdev_c" "$sp2p"/allocate 1 65536 1 0 >/tmp/p2p.out 2>&1; then
			echo "nvmock-init: FAILED: p2p: a copy from $sdev_a to $sdev_c passed between two root ports that are not whitelisted"
		elif grep -q "O_DIRECT write of chunk 0 from P2P memory" /tmp/p2p.out; then
			echo "nvmock-init: p2p: between root ports refused: $(grep -m1 'O_DIRECT write' /tmp/p2p.out | sed 's/.*memory: //')"
			klog_has p2p-rootports "P2PDMA refusal" "cannot be used for peer-to-peer DMA"
		else
			echo "nvmock-init: FAILED: p2p: the copy to $sdev_c failed otherwise:"
			cat /tmp/p2p.out
		fi
	fi
	echo 0 > "$f"/power || echo "nvmock-init: FAILED: p2p: power off of $f"
	rmdir "$f" || echo "nvmock-init: FAILED: rmdir $f"
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
	if [ -d /sys/kernel/config/nvmock_fabric ]; then
		p2p_switch
	else
		echo "nvmock-init: p2p: no nvmock_fabric in this build: the copy between two drives behind a switch is not checked"
	fi
	cfs_umount
	area_done p2p
}
