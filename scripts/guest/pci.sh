# nvmock: the pci area of the test system's userspace checks (busybox sh; sourced by init.sh
# from /nvmock/pci.sh): an emulated controller's PCI function reset through sysfs (a Function
# Level Reset: reset_method lists flr, not bus) while fio writes its namespace with
# verification, which passes, as does a second verify; then the function removed through
# sysfs while fio does I/O on its namespace, and found again by a bus rescan: the I/O ends
# (failed, not hung), the function, its driver and its namespace go away; after the rescan the
# nvme driver binds the new pci_dev (with an interrupt), the namespace comes back and a fio
# verify passes. Uses emuctl.sh and nvme.sh's fio_verify.
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
			kill -0 $fpid 2>/dev/null && during=yes
		else
			echo "nvmock-init: FAILED: writing $bdf/reset"
		fi
		if ! wait_pid $fpid 120; then
			echo "nvmock-init: FAILED: fio on $dev still running 120 s after the FLR of $bdf"
			kill $fpid
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
		# I/O that lasts: random reads and writes for 60 s, so the removal lands in it.
		fio --thread --name=busy --filename=/dev/"$dev" --ioengine=libaio --direct=1 --rw=randrw \
			--bs=4k --iodepth=16 --time_based --runtime=60 >/tmp/fio.out 2>&1 &
		fpid=$!
		i=0
		while [ "$(awk '{print $1 + $5}' /sys/block/"$dev"/stat)" -lt 64 ] && [ $i -lt 100 ]; do
			sleep 0.1; i=$((i + 1))
		done
		if ! kill -0 $fpid 2>/dev/null; then
			echo "nvmock-init: FAILED: fio on $dev ended before the removal:"; cat /tmp/fio.out
		fi
		ios=$(awk '{print $1 + $5}' /sys/block/"$dev"/stat)
		echo 1 > /sys/bus/pci/devices/"$bdf"/remove || echo "nvmock-init: FAILED: writing $bdf/remove"
		if ! wait_pid $fpid 30; then
			echo "nvmock-init: FAILED: fio on $dev still running 30 s after $bdf was removed"
			kill $fpid
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
	cfs_umount
	area_done pci
}
