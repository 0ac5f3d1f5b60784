# nvmock: the faults area of the test system's userspace checks (busybox sh; sourced by init.sh
# from /nvmock/faults.sh): the kernel's own fault injection (Documentation/fault-injection/)
# against an emulated controller's namespace. nvme-core's fault_inject debugfs puts a status on
# a command (seen by the caller and in the kernel log, retried or not as dont_retry says);
# fail_io_timeout drops a completion, so the driver times the command out, aborts it, resets the
# controller and the retried I/O completes; fail_make_request fails a bio with EIO before it
# reaches the driver. After each, the same I/O succeeds and the data read back is what was
# written. Uses emuctl.sh.
# shellcheck shell=sh disable=SC2154 # $dev, $ctrl, $cdev: set by emuctl.sh's emu_ctrl

# Debian's dd (busybox's has no iflag=direct): every I/O here goes straight to the driver.
DD=/usr/bin/dd

# fi_set DIR PROBABILITY TIMES: a fault attribute (lib/fault-inject.c's debugfs files): fail
# every eligible call with PROBABILITY percent, at most TIMES times, one log line each.
fi_set() {
	echo 1 > "$1"/interval && echo 0 > "$1"/space && echo 1 > "$1"/verbose \
		&& echo "$2" > "$1"/probability && echo "$3" > "$1"/times \
		|| echo "nvmock-init: FAILED: setting $1"
}

# blk_write DEV BLOCK FILE: FILE written at 4 KiB block BLOCK of DEV, direct I/O.
# blk_read DEV BLOCK COUNT FILE: COUNT 4 KiB blocks from BLOCK into FILE, direct I/O.
# dd's messages in /tmp/dd.err.
blk_write() {
	$DD if="$3" of=/dev/"$1" bs=4k seek="$2" oflag=direct conv=notrunc 2>/tmp/dd.err
}
blk_read() {
	$DD if=/dev/"$1" of="$4" bs=4k skip="$2" count="$3" iflag=direct 2>/tmp/dd.err
}

# same FILE1 FILE2 WHAT: the two files are equal, or a failure naming WHAT.
same() {
	cmp -s "$1" "$2" && return 0
	echo "nvmock-init: FAILED: $3: the data read back differs from what was written"
	return 1
}

# faults_status DEV: nvme-core's per-namespace fault_inject. An Unrecovered Read Error with DNR
# on one read: the read fails with ENODATA (the block layer's "critical medium error"), the
# kernel logs the command and its status; the next read gets the data. Without DNR (status
# Internal Error, dont_retry off): the driver retries, the read succeeds, the one fault is used.
faults_status() {
	fi=/sys/kernel/debug/$1/fault_inject
	[ -d "$fi" ] || { echo "nvmock-init: FAILED: no $fi (nvme-core without fault injection)"; return; }
	dd if=/dev/urandom of=/tmp/pattern bs=4k count=4 2>/dev/null
	blk_write "$1" 100 /tmp/pattern || { echo "nvmock-init: FAILED: writing $1: $(cat /tmp/dd.err)"; return; }
	klog_mark fault-status
	echo 0x02 > "$fi"/opcode && echo 0x281 > "$fi"/status && echo Y > "$fi"/dont_retry \
		|| echo "nvmock-init: FAILED: setting $fi"
	fi_set "$fi" 100 1
	if blk_read "$1" 100 4 /tmp/readback; then
		echo "nvmock-init: FAILED: fault_inject: a read with status 0x281 injected succeeded"
	elif grep -q "No data available" /tmp/dd.err; then
		echo "nvmock-init: fault_inject: the read failed as the caller sees it: $(grep -m1 "error" /tmp/dd.err)"
	else
		echo "nvmock-init: FAILED: fault_inject: the read failed without ENODATA: $(cat /tmp/dd.err)"
	fi
	klog_has fault-status "fault injected" "FAULT_INJECTION: forcing a failure" >/dev/null
	# nvme-core names the command and the status (names with NVME_VERBOSE_ERRORS, else
	# "I/O Cmd" and "I/O Error"); the block layer names the error class.
	klog_has fault-status "nvme error line" \
		"$1: (Read|I/O Cmd)\\(0x2\\) @ LBA [0-9]+, [0-9]+ blocks, (Unrecovered Read Error|I/O Error) \\(sct 0x2 / sc 0x81\\) DNR"
	klog_has fault-status "block layer error" "critical medium error, dev $1, sector [0-9]+ op 0x0:\\(READ\\)"
	[ "$(cat "$fi"/times)" = 0 ] || echo "nvmock-init: FAILED: fault_inject times is $(cat "$fi"/times) after the read, not 0"
	blk_read "$1" 100 4 /tmp/readback || echo "nvmock-init: FAILED: read after the injected fault: $(cat /tmp/dd.err)"
	same /tmp/pattern /tmp/readback "the read after the injected fault" \
		&& echo "nvmock-init: fault_inject: the next read returns the data"
	# Retried: no DNR, a status the driver retries.
	klog_mark fault-retry
	echo 0x0006 > "$fi"/status && echo N > "$fi"/dont_retry || echo "nvmock-init: FAILED: setting $fi"
	fi_set "$fi" 100 1
	if blk_read "$1" 100 4 /tmp/readback; then
		klog_since fault-retry
		n=$(grep -c "FAULT_INJECTION: forcing a failure" /tmp/klog)
		if [ "$n" = 1 ] && [ "$(cat "$fi"/times)" = 0 ] && ! grep -q "sc 0x6" /tmp/klog; then
			same /tmp/pattern /tmp/readback "the retried read" \
				&& echo "nvmock-init: fault_inject: status 0x6 without DNR: retried, the read succeeded"
		else
			echo "nvmock-init: FAILED: fault_inject retry: $n faults, times $(cat "$fi"/times); log:"; cat /tmp/klog
		fi
	else
		echo "nvmock-init: FAILED: fault_inject: a retryable status failed the read: $(cat /tmp/dd.err)"
	fi
	echo 0 > "$fi"/probability
	echo 0xffff > "$fi"/opcode
}

# faults_admin CTRL: the controller's fault_inject (admin queue): Identify with Invalid Field
# in Command; nvme-cli reports the status; the next Identify works.
faults_admin() {
	fi=/sys/kernel/debug/${1##*/}/fault_inject
	[ -d "$fi" ] || { echo "nvmock-init: FAILED: no $fi"; return; }
	echo 0x06 > "$fi"/opcode && echo 0x2 > "$fi"/status && echo Y > "$fi"/dont_retry \
		|| echo "nvmock-init: FAILED: setting $fi"
	fi_set "$fi" 100 1
	if /usr/sbin/nvme id-ctrl "$cdev" >/tmp/nvme.out 2>&1; then
		echo "nvmock-init: FAILED: fault_inject: id-ctrl succeeded with Invalid Field injected"
	elif grep -qi "Invalid Field in Command" /tmp/nvme.out; then
		echo "nvmock-init: fault_inject: nvme id-ctrl: $(grep -i -m1 "Invalid Field" /tmp/nvme.out)"
	else
		echo "nvmock-init: FAILED: fault_inject: id-ctrl failed otherwise:"; cat /tmp/nvme.out
	fi
	/usr/sbin/nvme id-ctrl "$cdev" >/tmp/nvme.out 2>&1 \
		|| { echo "nvmock-init: FAILED: id-ctrl after the injected fault:"; cat /tmp/nvme.out; }
	echo 0 > "$fi"/probability
	echo 0xffff > "$fi"/opcode
}

# faults_timeout CTRL DEV: fail_io_timeout on the namespace's queue swallows one completion of
# a write; with a 1 s I/O timeout the driver times it out, aborts it (the controller has
# nothing to abort), times it out again and resets the controller; the write is retried and
# completes; the controller is live again and the data reads back.
faults_timeout() {
	q=/sys/block/$2
	t=/sys/kernel/debug/fail_io_timeout
	if [ ! -e "$q"/io-timeout-fail ] || [ ! -d $t ]; then
		echo "nvmock-init: FAILED: no fail_io_timeout for $2"; return
	fi
	old=$(cat "$q"/queue/io_timeout)
	echo 1000 > "$q"/queue/io_timeout || echo "nvmock-init: FAILED: setting $q/queue/io_timeout"
	dd if=/dev/urandom of=/tmp/pattern bs=64k count=1 2>/dev/null
	klog_mark fault-timeout
	fi_set $t 100 1
	echo 1 > "$q"/io-timeout-fail || echo "nvmock-init: FAILED: setting $q/io-timeout-fail"
	start=$(cut -d. -f1 /proc/uptime)
	if blk_write "$2" 200 /tmp/pattern; then
		echo "nvmock-init: fail_io_timeout: the write completed after $(($(cut -d. -f1 /proc/uptime) - start)) s"
	else
		echo "nvmock-init: FAILED: fail_io_timeout: the write failed: $(cat /tmp/dd.err)"
	fi
	echo 0 > "$q"/io-timeout-fail
	echo 0 > $t/probability
	[ "$(cat $t/times)" = 0 ] || echo "nvmock-init: FAILED: fail_io_timeout was not used (times $(cat $t/times))"
	klog_has fault-timeout "abort" "QID [0-9]+ timeout, aborting req_op:WRITE" \
		&& klog_has fault-timeout "controller reset" "QID [0-9]+ timeout, reset controller"
	i=0
	while [ "$(cat "$1"/state)" != live ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(cat "$1"/state)" = live ] || echo "nvmock-init: FAILED: ${1##*/} is $(cat "$1"/state) after the timeout, not live"
	echo "$old" > "$q"/queue/io_timeout
	blk_read "$2" 200 16 /tmp/readback || echo "nvmock-init: FAILED: read after the timeout: $(cat /tmp/dd.err)"
	same /tmp/pattern /tmp/readback "the write that timed out" \
		&& echo "nvmock-init: fail_io_timeout: ${1##*/} live again, the written data reads back"
}

# faults_bio DEV: make-it-fail on the disk with fail_make_request: one bio fails with EIO
# before it reaches the driver; the same write then succeeds and reads back.
faults_bio() {
	m=/sys/kernel/debug/fail_make_request
	if [ ! -e /sys/block/"$1"/make-it-fail ] || [ ! -d $m ]; then
		echo "nvmock-init: FAILED: no make-it-fail for $1"; return
	fi
	dd if=/dev/urandom of=/tmp/pattern bs=4k count=2 2>/dev/null
	klog_mark fault-bio
	fi_set $m 100 1
	echo 1 > /sys/block/"$1"/make-it-fail || echo "nvmock-init: FAILED: setting make-it-fail"
	if blk_write "$1" 300 /tmp/pattern; then
		echo "nvmock-init: FAILED: make-it-fail: the write succeeded"
	elif grep -q "Input/output error" /tmp/dd.err; then
		echo "nvmock-init: make-it-fail: the write failed: $(grep -m1 "error" /tmp/dd.err)"
	else
		echo "nvmock-init: FAILED: make-it-fail: the write failed without EIO: $(cat /tmp/dd.err)"
	fi
	klog_has fault-bio "fail_make_request fault" "name fail_make_request, interval 1, probability 100"
	blk_write "$1" 300 /tmp/pattern || echo "nvmock-init: FAILED: write after make-it-fail: $(cat /tmp/dd.err)"
	echo 0 > /sys/block/"$1"/make-it-fail
	echo 0 > $m/probability
	blk_read "$1" 300 2 /tmp/readback || echo "nvmock-init: FAILED: read after make-it-fail: $(cat /tmp/dd.err)"
	same /tmp/pattern /tmp/readback "the write after make-it-fail" \
		&& echo "nvmock-init: make-it-fail: the next write succeeded and reads back"
}

faults_check() {
	cfs_mount
	if emu_ctrl faults "$EMU_MIB"; then
		faults_status "$dev"
		faults_admin "$ctrl"
		faults_timeout "$ctrl" "$dev"
		faults_bio "$dev"
		emu_ctrl_rm faults
		wait_gone /sys/block/"$dev" || echo "nvmock-init: FAILED: $dev still there after its controller was removed"
	fi
	cfs_umount
	rm -f /tmp/pattern /tmp/readback
	area_done faults
}
