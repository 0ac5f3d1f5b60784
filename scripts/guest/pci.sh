# nvmock: the pci area of the test system's userspace checks (busybox sh; sourced by init.sh
# from /nvmock/pci.sh): an emulated controller's PCI function reset through sysfs (a Function
# Level Reset: reset_method lists flr, not bus) while fio writes its namespace with
# verification, which passes, as does a second verify; then the function removed through
# sysfs while fio does I/O on its namespace, and found again by a bus rescan: the I/O ends
# (failed, not hung), the function, its driver and its namespace go away; after the rescan the
# nvme driver binds the new pci_dev (with an interrupt), the namespace comes back and a fio
# verify passes. Then a controller in a hot-plug slot of a root port (nvmock_fabric, driven
# by the kernel's pciehp): bad slot settings refused with the reason in the log; the slot
# powered off and on through /sys/bus/pci/slots/<n>/power (the function and its namespace go
# and come back, the data written before is there); the adapter pulled out of the slot
# while fio does I/O (the I/O ends, failed, not hung) and put back (a fio verify passes).
# Uses emuctl.sh and nvme.sh's fio_verify.
# shellcheck shell=sh disable=SC2154 # $dev, $ctrl: set by emuctl.sh's emu_ctrl

pci_check() {
	cfs_mount
	if emu_ctrl pci "$EMU_MIB"; then
		serial=$(tr -d ' ' <"$ctrl"/serial)
		fn=$(readlink -f "$ctrl"/device)
		bdf=${fn##*/} old=$dev cname=${ctrl##*/}
		# Function Level Reset under I/O. The PCI core offers flr and not bus: the function
		# sits alone on a root bus, with no bridge above it to reset its bus and no slot
		# (README: Function Level Reset). fio writes the namespace with verification while
		# sysfs `reset` runs pci_reset_function(): reset_prepare, the FLR, reset_done.
		methods=$(cat /sys/bus/pci/devices/"$bdf"/reset_method 2>/dev/null)
		echo "nvmock-init: pci: $bdf reset_method: $methods"
		case " $methods " in
		*" bus "*) echo "nvmock-init: FAILED: $bdf offers a bus reset on a root bus" ;;
		*" flr "*) ;;
		*) echo "nvmock-init: FAILED: $bdf does not offer flr" ;;
		esac
		fio_verify "$dev" &
		fpid=$!
		i=0
		while [ "$(awk '{print $5}' /sys/block/"$dev"/stat)" -lt 64 ] && [ $i -lt 100 ]; do
			sleep 0.1; i=$((i + 1))
		done
		writes=$(awk '{print $5}' /sys/block/"$dev"/stat)
		during=no
		if echo 1 > /sys/bus/pci/devices/"$bdf"/reset; then
			kill -0 "$fpid" 2>/dev/null && during=yes
		else
			echo "nvmock-init: FAILED: writing $bdf/reset"
		fi
		if ! wait_pid "$fpid" 120; then
			echo "nvmock-init: FAILED: fio on $dev still running 120 s after the FLR of $bdf"
			kill "$fpid"
		elif [ "$wait_rc" = 0 ] && grep -q "err= 0" /tmp/fio.out && [ $during = yes ]; then
			echo "nvmock-init: pci: fio verify on $dev passed across an FLR of $bdf (after $writes writes; controller $(cat "$ctrl"/state))"
		else
			echo "nvmock-init: FAILED: fio verify across the FLR of $bdf (status $wait_rc, fio still running after the reset: $during):"; cat /tmp/fio.out
		fi
		if fio_verify "$dev" && grep -q "err= 0" /tmp/fio.out; then
			echo "nvmock-init: pci: fio verify on $dev after the FLR passed"
		else
			echo "nvmock-init: FAILED: fio verify on $dev after the FLR:"; cat /tmp/fio.out
		fi
		# The controller's character device stays open across the removal, so the
		# controller is freed when it is closed, not when fio closes the namespace: that
		# close, under the disk's open_mutex, would free its tag set there, which lockdep
		# reports as a possible deadlock with the reset path (README: kernel issues).
		dev_node c "$cname" "$ctrl/dev"
		exec 3<"/dev/$cname"
		fio_busy "$dev"
		if ! kill -0 "$fpid" 2>/dev/null; then
			echo "nvmock-init: FAILED: fio on $dev ended before the removal:"; cat /tmp/fio.out
		fi
		ios=$(awk '{print $1 + $5}' /sys/block/"$dev"/stat)
		echo 1 > /sys/bus/pci/devices/"$bdf"/remove || echo "nvmock-init: FAILED: writing $bdf/remove"
		if ! wait_pid "$fpid" 30; then
			echo "nvmock-init: FAILED: fio on $dev still running 30 s after $bdf was removed"
			kill "$fpid"
		elif [ "$wait_rc" = 0 ]; then
			echo "nvmock-init: FAILED: fio on $dev ran on without an error although $bdf was removed"
		else
			echo "nvmock-init: pci: $bdf removed after $ios I/Os: fio ended with status $wait_rc ($(grep -m1 -E 'error|err=' /tmp/fio.out))"
		fi
		[ -e "$fn" ] && echo "nvmock-init: FAILED: $fn still there after remove"
		wait_gone /sys/block/"$old" || echo "nvmock-init: FAILED: $old still there after $bdf was removed"
		exec 3<&-
		echo 1 > /sys/bus/pci/rescan || echo "nvmock-init: FAILED: writing /sys/bus/pci/rescan"
		if nvme_find "$serial" >/dev/null; then
			drv=$(readlink -f "$ctrl"/device/driver)
			irq=$(cat "$ctrl"/device/irq)
			now=$(readlink -f "$ctrl"/device)
			if [ "${drv##*/}" = nvme ] && [ "${now##*/}" = "$bdf" ] && [ "$irq" != 0 ]; then
				echo "nvmock-init: pci: rescan found $bdf again: driver nvme, irq $irq, namespace /dev/$dev"
			else
				echo "nvmock-init: FAILED: after the rescan: function ${now##*/}, driver '${drv##*/}', irq $irq"
			fi
			if fio_verify "$dev" && grep -q "err= 0" /tmp/fio.out; then
				echo "nvmock-init: pci: fio verify on $dev after the rescan passed"
			else
				echo "nvmock-init: FAILED: fio verify on $dev after the rescan:"; cat /tmp/fio.out
			fi
		else
			echo "nvmock-init: FAILED: the rescan did not bring back $serial"
		fi
		emu_ctrl_rm pci
	fi
	pci_slot_check
	cfs_umount
	area_done pci
}

# slot_refused DIR ATTR VALUE ERE: emuctl.sh's attr_refused for the slot checks.
slot_refused() {
	attr_refused slot "pci: slot" "$@"
}

# pci_slot_check: a controller in the hot-plug slot (physical number 31) of a root port.
pci_slot_check() {
	slot_cfs=/sys/kernel/config/nvmock_fabric/slot
	mkdir "$slot_cfs" || { echo "nvmock-init: FAILED: mkdir $slot_cfs"; return; }
	if ! echo "rp@0 ep@1" > "$slot_cfs"/topology || ! echo 2 > "$slot_cfs"/members; then
		echo "nvmock-init: FAILED: pci: slot: topology or members refused"
		rmdir "$slot_cfs"
		return
	fi
	slot_refused "$slot_cfs" slots "2=5" "node 2 is not a root or downstream port"
	slot_refused "$slot_cfs" slots "1=0" "slot number that is not 1 to 8191"
	slot_refused "$slot_cfs" slots "1=5,lever" "an option other than"
	if ! echo "1=31" > "$slot_cfs"/slots || ! echo 1 > "$slot_cfs"/power; then
		echo "nvmock-init: FAILED: pci: slot: slots '1=31' or power on refused"
		rmdir "$slot_cfs"
		return
	fi
	slot_refused "$slot_cfs" slot_event "2 pull" "node 2 has no slot"
	bdf=$(awk '$1 == 2 {print $2}' "$slot_cfs"/devices)
	slot_dir=''
	for slot_addr in /sys/bus/pci/slots/*/address; do
		[ -e "$slot_addr" ] && [ "$(cat "$slot_addr")" = "${bdf%.*}" ] && slot_dir=${slot_addr%/address}
	done
	serial=''
	for c in /sys/bus/pci/devices/"$bdf"/nvme/nvme*; do
		[ -e "$c/serial" ] && serial=$(tr -d ' ' <"$c"/serial)
	done
	if [ -z "$slot_dir" ] || [ -z "$serial" ] || ! nvme_find "$serial"; then
		echo "nvmock-init: FAILED: pci: slot: no slot (${slot_dir:-none}) or controller (${serial:-none}) for $bdf; slots: $(ls /sys/bus/pci/slots)"
	else
		echo "nvmock-init: pci: slot ${slot_dir##*/} holds $bdf (power $(cat "$slot_dir"/power), $ctrl)"
		dd if=/dev/urandom of=/tmp/slot.pat bs=64k count=16 2>/dev/null
		dd if=/tmp/slot.pat of=/dev/"$dev" bs=64k seek=16 conv=fsync 2>/dev/null \
			|| echo "nvmock-init: FAILED: pci: slot: writing /dev/$dev"
		old=$dev
		echo 0 > "$slot_dir"/power || echo "nvmock-init: FAILED: pci: slot: writing 0 to ${slot_dir##*/}/power"
		[ "$(cat "$slot_dir"/power)" = 0 ] || echo "nvmock-init: FAILED: pci: slot ${slot_dir##*/} reads power $(cat "$slot_dir"/power) after 0"
		wait_gone /sys/bus/pci/devices/"$bdf" || echo "nvmock-init: FAILED: pci: slot: $bdf still there after power off"
		wait_gone /sys/block/"$old" || echo "nvmock-init: FAILED: pci: slot: $old still there after power off"
		echo 1 > "$slot_dir"/power || echo "nvmock-init: FAILED: pci: slot: writing 1 to ${slot_dir##*/}/power"
		if nvme_find "$serial" && dd if=/dev/"$dev" of=/tmp/slot.back bs=64k skip=16 count=16 2>/dev/null \
			&& cmp -s /tmp/slot.pat /tmp/slot.back; then
			drv=$(readlink -f /sys/bus/pci/devices/"$bdf"/driver)
			echo "nvmock-init: pci: slot ${slot_dir##*/} powered off and on: $bdf back (driver ${drv##*/}, /dev/$dev), the 1 MiB written before read back equal"
		else
			echo "nvmock-init: FAILED: pci: slot: after power on, no controller or the data differs"
		fi
		# The adapter pulled out under I/O: pciehp removes the function (the controller's
		# character device held open, as in pci_check above).
		cname=${ctrl##*/}
		dev_node c "$cname" "$ctrl/dev"
		exec 3<"/dev/$cname"
		fio_busy "$dev"
		old=$dev
		echo "1 pull" > "$slot_cfs"/slot_event || echo "nvmock-init: FAILED: pci: slot: writing '1 pull' to slot_event"
		if ! wait_pid "$fpid" 30; then
			echo "nvmock-init: FAILED: pci: slot: fio on $old still running 30 s after the pull"
			kill "$fpid"
		elif [ "$wait_rc" = 0 ]; then
			echo "nvmock-init: FAILED: pci: slot: fio on $old ran on without an error after the pull"
		else
			echo "nvmock-init: pci: slot ${slot_dir##*/}: adapter pulled under I/O: fio ended with status $wait_rc"
		fi
		wait_gone /sys/bus/pci/devices/"$bdf" || echo "nvmock-init: FAILED: pci: slot: $bdf still there after the pull"
		wait_gone /sys/block/"$old" || echo "nvmock-init: FAILED: pci: slot: $old still there after the pull"
		exec 3<&-
		echo "1 insert" > "$slot_cfs"/slot_event || echo "nvmock-init: FAILED: pci: slot: writing '1 insert' to slot_event"
		# Verified over its first 8 MiB (the whole 64 MiB takes half a minute under TCG).
		if nvme_find "$serial" && fio --thread --name=verify --filename=/dev/"$dev" --ioengine=libaio \
			--direct=1 --rw=randwrite --bs=4k --iodepth=16 --size=8M --verify=crc32c --verify_fatal=1 \
			>/tmp/fio.out 2>&1 && grep -q "err= 0" /tmp/fio.out; then
			echo "nvmock-init: pci: slot ${slot_dir##*/}: adapter put back: $bdf bound again, fio verify of 8 MiB of /dev/$dev passed"
		else
			echo "nvmock-init: FAILED: pci: slot: after the insertion:"; cat /tmp/fio.out
		fi
	fi
	echo 0 > "$slot_cfs"/power || echo "nvmock-init: FAILED: pci: slot: power off of $slot_cfs"
	rmdir "$slot_cfs" || echo "nvmock-init: FAILED: rmdir $slot_cfs"
}
