# nvmock: the NVMe area of the test system's userspace checks (busybox sh; sourced by
# init.sh from /nvmock/nvme.sh). nvme_checks runs them against the controller nvmock's
# nvme=1 parameter made (the default profile): on UML every check, on x86_64 (TCG, slow) the
# smoke checks only (NVMOCK_AREAS, from config/modules' area lines, says which).
# shellcheck shell=sh disable=SC2154 # $dev, $ctrl: set by lib.sh's nvme_find

# nvme_data DEV MIB: writes MIB MiB of random data at 3 MiB, drops the caches, reads it back.
nvme_data() {
	dd if=/dev/urandom of=/tmp/pattern bs=1M count="$2" 2>/dev/null
	dd if=/tmp/pattern of=/dev/"$1" bs=1M seek=3 conv=fsync 2>/tmp/dd.err \
		|| echo "nvmock-init: FAILED: write to $1: $(cat /tmp/dd.err)"
	echo 3 > /proc/sys/vm/drop_caches
	dd if=/dev/"$1" of=/tmp/readback bs=1M skip=3 count="$2" 2>/dev/null \
		|| echo "nvmock-init: FAILED: read from $1"
	if cmp -s /tmp/pattern /tmp/readback; then
		echo "nvmock-init: $1: $2 MiB written and read back intact"
	else
		echo "nvmock-init: FAILED: $1 read back differs from what was written"
	fi
	rm -f /tmp/pattern /tmp/readback
}

# nvme_cli CTRL NS: Debian's nvme-cli against the controller nvme=1 made (the default
# profile), each output checked for what the profile says.
nvme_cli() {
	expect() { # what command, pattern
		# shellcheck disable=SC2086 # the command and its arguments: separate words
		if ! /usr/sbin/nvme $2 >/tmp/nvme.out 2>&1; then
			echo "nvmock-init: FAILED: nvme $2: exit status"; cat /tmp/nvme.out; return
		fi
		if [ -z "$3" ] || grep -qE "$3" /tmp/nvme.out; then
			echo "nvmock-init: nvme $1: ok"
		else
			echo "nvmock-init: FAILED: nvme $2: no '$3' in:"; cat /tmp/nvme.out
		fi
	}
	expect list "list" "$2 .*NVMOCK00000000 +nvmock emulated NVMe controller"
	expect id-ctrl "id-ctrl $1" "^sn +: NVMOCK00000000"
	expect id-ctrl "id-ctrl $1" "^mn +: nvmock emulated NVMe controller"
	expect id-ctrl "id-ctrl $1" "^mdts +: 5$"
	expect id-ns "id-ns $2" "^nsze +: 0x20000$"
	expect id-ns "id-ns $2" "lbaf +0 : ms:0 +lbads:9 .*in use"
	expect smart-log "smart-log $1" "^critical_warning[[:space:]]+: 0$"
	expect error-log "error-log $1" "Error Log Entries for device"
	expect ns-rescan "ns-rescan $1" ""
}

# nvme_firmware CHARDEV: an image downloaded in two pieces, committed to slot 2 and
# activated at once (Commit Action 011b); the firmware slot log must show it.
nvme_firmware() {
	dd if=/dev/urandom of=/tmp/fw.bin bs=4k count=8 2>/dev/null
	if ! /usr/sbin/nvme fw-download "$1" --fw=/tmp/fw.bin --xfer=16384 >/tmp/nvme.out 2>&1 \
		|| ! /usr/sbin/nvme fw-commit "$1" --slot=2 --action=3 >>/tmp/nvme.out 2>&1; then
		echo "nvmock-init: FAILED: nvme fw-download/fw-commit"; cat /tmp/nvme.out; return
	fi
	/usr/sbin/nvme fw-log "$1" >/tmp/nvme.out 2>&1
	if grep -qE "^afi +: 0x2$" /tmp/nvme.out && grep -qE "^frs2 +: .*IMG00001" /tmp/nvme.out; then
		echo "nvmock-init: nvme fw-download, fw-commit: slot 2 holds IMG00001 and is active"
	else
		echo "nvmock-init: FAILED: nvme fw-log after activating slot 2:"; cat /tmp/nvme.out
	fi
}

# fio_verify DEV: random 4 KiB writes over the whole of DEV at queue depth 16, then every
# block verified by its CRC32C; fio's output in /tmp/fio.out.
# --thread: jobs as threads, since the test kernels have no System V shared memory.
fio_verify() {
	fio --thread --name=verify --filename=/dev/"$1" --ioengine=libaio --direct=1 --rw=randwrite \
		--bs=4k --iodepth=16 --size=100% --verify=crc32c --verify_fatal=1 >/tmp/fio.out 2>&1
}

# fio_busy DEV: I/O that lasts, so that what the caller does next lands in it: random 4 KiB
# reads and writes on DEV for 60 s at queue depth 16, in the background ($fpid, output in
# /tmp/fio.out); returns once DEV has seen 64 I/Os (or after 10 s).
fio_busy() {
	fio --thread --name=busy --filename=/dev/"$1" --ioengine=libaio --direct=1 --rw=randrw \
		--bs=4k --iodepth=16 --time_based --runtime=60 >/tmp/fio.out 2>&1 &
	fpid=$!
	i=0
	while [ "$(awk '{print $1 + $5}' /sys/block/"$1"/stat)" -lt 64 ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# nvme_reset_under_io CTRL DEV: controller resets (sysfs reset_controller) one after another
# while fio writes the whole namespace; every block must still verify afterwards.
nvme_reset_under_io() {
	fio_verify "$2" &
	fpid=$!
	resets=0 during=0
	while kill -0 $fpid 2>/dev/null; do
		if echo 1 > "$1"/reset_controller; then
			resets=$((resets + 1))
			# Counted only if fio was still running when the reset finished.
			kill -0 $fpid 2>/dev/null && during=$((during + 1))
		else
			echo "nvmock-init: FAILED: reset_controller"; break
		fi
		sleep 0.2
	done
	if wait $fpid && grep -q "err= 0" /tmp/fio.out && [ $during -ge 2 ]; then
		echo "nvmock-init: fio verify survived $during controller resets on $2"
	else
		echo "nvmock-init: FAILED: fio with resets on $2 ($during resets during I/O):"; cat /tmp/fio.out
	fi
}

# nvme_ns_management CHARDEV CTRL: namespace 1 deleted, a 32 MiB namespace of 4 KiB blocks
# created in its place and attached; the driver follows each change (Namespace Attribute
# Changed notices); refused requests get the status a controller must return.
nvme_ns_management() {
	cli() { # what, expected status text ("" for success), arguments
		w=$1 want=$2
		shift 2
		if /usr/sbin/nvme "$@" >/tmp/nvme.out 2>&1; then
			[ -z "$want" ] && return 0
			echo "nvmock-init: FAILED: nvme $w succeeded, expected '$want'"
		elif [ -n "$want" ] && grep -q "$want" /tmp/nvme.out; then
			echo "nvmock-init: nvme $w refused: $want"; return 0
		else
			echo "nvmock-init: FAILED: nvme $w:"
		fi
		cat /tmp/nvme.out; return 1
	}
	gone() { # block device name: waits until the driver removed it
		i=0
		while [ -e /sys/block/"$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		[ ! -e /sys/block/"$1" ]
	}
	serial=$(tr -d ' ' <"$2"/serial) cntlid=$(cat "$2"/cntlid) old=$dev
	cli delete-ns "" delete-ns "$1" -n 1 || return
	gone "$old" || { echo "nvmock-init: FAILED: /dev/$old still there after delete-ns"; return; }
	/usr/sbin/nvme id-ctrl "$1" | grep -qE "^unvmcap +: 67108864$" \
		|| echo "nvmock-init: FAILED: id-ctrl unvmcap is not the whole 64 MiB after delete-ns"
	cli "create-ns (no size)" "Invalid Field" create-ns "$1" --nsze=0 --ncap=0 --flbas=0
	cli "create-ns (too large)" "Insufficient Capacity" create-ns "$1" --nsze=131073 --ncap=131073 --flbas=0
	cli create-ns "" create-ns "$1" --nsze=8192 --ncap=8192 --flbas=1 || return
	grep -q "created nsid:1" /tmp/nvme.out || { echo "nvmock-init: FAILED: create-ns:"; cat /tmp/nvme.out; }
	cli "create-ns (no slot left)" "Identifier Unavailable" create-ns "$1" --nsze=8 --ncap=8 --flbas=0
	cli "attach-ns (other controller)" "Controller List Invalid" attach-ns "$1" -n 1 -c $((cntlid + 1))
	cli attach-ns "" attach-ns "$1" -n 1 -c "$cntlid" || return
	cli "attach-ns (again)" "Already Attached" attach-ns "$1" -n 1 -c "$cntlid"
	nvme_find "$serial" >/dev/null || return
	size=$(cat /sys/block/"$dev"/size) bs=$(cat /sys/block/"$dev"/queue/logical_block_size)
	if [ "$size" = 65536 ] && [ "$bs" = 4096 ]; then
		echo "nvmock-init: nvme delete-ns, create-ns, attach-ns: /dev/$dev is 32 MiB of 4096-byte blocks"
	else
		echo "nvmock-init: FAILED: created namespace /dev/$dev: $size sectors of $bs bytes"
	fi
	nvme_data "$dev" 4
	cli detach-ns "" detach-ns "$1" -n 1 -c "$cntlid" || return
	gone "$dev" || echo "nvmock-init: FAILED: /dev/$dev still there after detach-ns"
	cli "detach-ns (again)" "Not Attached" detach-ns "$1" -n 1 -c "$cntlid"
}

# nvme_irqs CTRL: the controller's queues' lines of /proc/interrupts, printed. The default
# profile offers MSI-X (on x86_64 with the devmem reservation: README, interrupts), so the
# driver makes one I/O queue per possible CPU (up to the controller's 16) and gives the admin
# queue and each I/O queue an MSI-X vector of its own: fewer vectors than queues fails.
# Without the reservation (NVMOCK_DEVMEM=0) x86_64's functions use INTx, one shared line.
nvme_irqs() {
	c=${1##*/}
	queues=$(cat "$1"/queue_count)
	cpus=$(count /sys/devices/system/cpu/cpu[0-9]*)
	want=$((cpus < 16 ? cpus : 16))
	grep -E " ${c}q[0-9]+(,|\$)" /proc/interrupts >/tmp/irqs
	sed 's/^/nvmock-init: interrupts: /' /tmp/irqs
	# A vector of its own: a line whose only action is the queue, on an MSI-X chip.
	vectors=$(grep -cE "MSI.* ${c}q[0-9]+\$" /tmp/irqs)
	if [ "$NVMOCK_ARCH" = x86_64 ] && ! grep -q "nvmock devmem" /proc/iomem; then
		if [ "$vectors" = 0 ] && [ "$(wc -l </tmp/irqs)" = 1 ]; then
			echo "nvmock-init: $c: INTx, $queues queues on one line (no devmem reservation: no MSI-X)"
		else
			echo "nvmock-init: FAILED: $c: no devmem reservation, yet $vectors MSI-X vectors"
		fi
	elif [ "$queues" -ne $((want + 1)) ] || [ "$vectors" -lt "$queues" ]; then
		echo "nvmock-init: FAILED: $c: $vectors MSI-X vectors for $queues queues (the admin queue and one I/O queue for each of $cpus CPUs expected, each on its own vector)"
	else
		echo "nvmock-init: $c: $queues queues (admin + $((queues - 1)) I/O for $cpus CPUs) on $vectors MSI-X vectors"
	fi
}

# nvme_checks: the default profile's controller, as NVMOCK_AREAS asks: nvme-smoke (size,
# the queues' interrupts, data written and read back, raw passthrough commands) and nvme (nvme-cli, fio, format,
# firmware, resets under I/O, namespace management).
nvme_checks() {
	nvme_find NVMOCK00000000 || return
	size=$(cat "/sys/block/$dev/size")
	[ "$size" = 131072 ] || echo "nvmock-init: FAILED: $dev has $size sectors, not 131072"
	nvme_data "$dev" 8
	nvme_irqs "$ctrl"
	# Raw commands through the passthrough ioctls: invalid ones get the right status.
	cdev=/dev/${ctrl##*/}
	dev_node c "${ctrl##*/}" "$ctrl/dev"
	nvme-passthru "$cdev" "/dev/$dev" "$size" || echo "nvmock-init: FAILED: nvme-passthru: $? cases"
	area_done nvme-smoke
	area_runs nvme || return 0
	nvme_cli "$cdev" "/dev/$dev"
	# fio over the whole namespace.
	if fio_verify "$dev" && grep -q "err= 0" /tmp/fio.out; then
		echo "nvmock-init: fio: $dev written and verified (crc32c) end to end"
	else
		echo "nvmock-init: FAILED: fio verify on $dev"; cat /tmp/fio.out
	fi
	# nvme format to LBA format 1: 4096-byte blocks, the user data erased.
	if /usr/sbin/nvme format "/dev/$dev" --lbaf=1 --force >/tmp/nvme.out 2>&1; then
		sleep 1
		bs=$(cat "/sys/block/$dev/queue/logical_block_size")
		nz=$(dd if="/dev/$dev" bs=1M count=4 2>/dev/null | tr -d '\000' | wc -c)
		if [ "$bs" = 4096 ] && [ "$nz" = 0 ]; then
			echo "nvmock-init: nvme format: $dev now has 4096-byte blocks and reads as zeroes"
		else
			echo "nvmock-init: FAILED: nvme format: $dev has $bs-byte blocks, $nz non-zero bytes"
		fi
	else
		echo "nvmock-init: FAILED: nvme format"; cat /tmp/nvme.out
	fi
	nvme_firmware "$cdev"
	nvme_reset_under_io "$ctrl" "$dev"
	# The driver reads the running revision again (Identify Controller FR) on each reset.
	fr=$(tr -d ' ' <"$ctrl/firmware_rev")
	[ "$fr" = IMG00001 ] || echo "nvmock-init: FAILED: firmware_rev is '$fr' after resets, not IMG00001"
	nvme_ns_management "$cdev" "$ctrl"
	area_done nvme
}
