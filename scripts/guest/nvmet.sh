# nvmock: the nvmet area of the test system's userspace checks (busybox sh; sourced by init.sh
# from /nvmock/nvmet.sh): an emulated controller exported by the kernel's NVMe target (nvmet)
# through a passthru subsystem on a loop port, connected to by the fabrics host with nvme-cli;
# fio verifies data through the fabrics namespace, the passthru (target-side) controller is
# reset under that I/O, a second verify passes, then everything is disconnected, torn down and
# unloaded. nvmet, nvme-loop and nvme-fabrics are the kernel's own modules, built against the
# exports of the relinked nvme-core that is loaded. Uses emuctl.sh and nvme.sh's fio_verify.
# shellcheck shell=sh disable=SC2154 # $dev, $ctrl, $cdev: set by emuctl.sh's emu_ctrl

NVMET_NQN=nqn.2026-12.dev.nvmock:passthru
NVMET=/sys/kernel/config/nvmet

# nvmet_export CDEV: the passthru subsystem for controller CDEV on loop port 1.
nvmet_export() {
	s=$NVMET/subsystems/$NVMET_NQN
	if ! { mkdir "$s" && echo 1 > "$s"/attr_allow_any_host && echo "$1" > "$s"/passthru/device_path \
		&& echo 1 > "$s"/passthru/enable; }; then
		echo "nvmock-init: FAILED: nvmet passthru subsystem for $1"; return 1
	fi
	if ! { mkdir $NVMET/ports/1 && echo loop > $NVMET/ports/1/addr_trtype \
		&& ln -s "$s" $NVMET/ports/1/subsystems/$NVMET_NQN; }; then
		echo "nvmock-init: FAILED: nvmet loop port"; return 1
	fi
	echo "nvmock-init: nvmet: $1 exported as $NVMET_NQN (passthru) on a loop port"
}

# nvmet_connect SERIAL: nvme connect over loop; sets $fctrl (sysfs) and $fdev (its namespace's
# block device), checks the fabrics controller answers with the passthru controller's identity.
nvmet_connect() {
	dev_node c nvme-fabrics /sys/class/misc/nvme-fabrics/dev
	if ! /usr/sbin/nvme connect -t loop -n $NVMET_NQN >/tmp/nvme.out 2>&1; then
		echo "nvmock-init: FAILED: nvme connect -t loop -n $NVMET_NQN:"; cat /tmp/nvme.out; return 1
	fi
	fctrl='' fdev='' i=0
	while [ -z "$fdev" ] && [ $i -lt 100 ]; do
		for c in /sys/class/nvme/nvme*; do
			[ "$(cat "$c"/transport 2>/dev/null)" = loop ] \
				&& [ "$(cat "$c"/subsysnqn 2>/dev/null)" = $NVMET_NQN ] && fctrl=$c
		done
		[ -n "$fctrl" ] && for n in "$fctrl"/nvme*n*; do [ -e "$n"/dev ] && fdev=${n##*/}; done
		[ -n "$fdev" ] || { sleep 0.1; i=$((i + 1)); }
	done
	[ -n "$fdev" ] || { echo "nvmock-init: FAILED: no loop controller with a namespace for $NVMET_NQN"; return 1; }
	dev_node b "$fdev" /sys/block/"$fdev"/dev
	dev_node c "${fctrl##*/}" "$fctrl"/dev
	sn=$(tr -d ' ' <"$fctrl"/serial) mn=$(tr -s ' ' <"$fctrl"/model)
	if [ "$sn" = "$1" ] && /usr/sbin/nvme id-ctrl /dev/"${fctrl##*/}" | grep -qE "^mn +: nvmock emulated NVMe controller"; then
		echo "nvmock-init: nvmet: connected over loop: ${fctrl##*/} (serial $sn, model '$mn'), namespace /dev/$fdev"
	else
		echo "nvmock-init: FAILED: the loop controller ${fctrl##*/} has serial '$sn', model '$mn', not the passthru controller's"
	fi
}

# nvmet_reset_under_io CDEV: fio writes and verifies the fabrics namespace while the passthru
# controller CDEV is reset (nvme reset) twice; fio must end (it may fail, but not hang), and
# a second verify must pass.
nvmet_reset_under_io() {
	fio_verify "$fdev" &
	fpid=$!
	resets=0 during=0
	sleep 0.5
	while kill -0 $fpid 2>/dev/null && [ $resets -lt 2 ]; do
		if /usr/sbin/nvme reset "$1" >/tmp/nvme.out 2>&1; then
			resets=$((resets + 1))
			kill -0 $fpid 2>/dev/null && during=$((during + 1))
		else
			echo "nvmock-init: FAILED: nvme reset $1:"; cat /tmp/nvme.out; break
		fi
		sleep 0.3
	done
	if ! wait_pid $fpid 300; then
		echo "nvmock-init: FAILED: fio on $fdev still running 300 s after $resets resets of $1"
		kill $fpid; return
	fi
	[ $during -ge 1 ] || echo "nvmock-init: FAILED: no reset of $1 while fio ran (fio ended first)"
	if [ "$wait_rc" = 0 ] && grep -q "err= 0" /tmp/fio.out; then
		echo "nvmock-init: nvmet: fio verify on $fdev passed across $during resets of the passthru controller"
	else
		echo "nvmock-init: nvmet: fio on $fdev ended with status $wait_rc across $during resets: $(grep -m1 -E 'err=|error' /tmp/fio.out)"
	fi
	if fio_verify "$fdev" && grep -q "err= 0" /tmp/fio.out; then
		echo "nvmock-init: nvmet: a second fio verify on $fdev after the resets passed"
	else
		echo "nvmock-init: FAILED: fio verify on $fdev after the resets:"; cat /tmp/fio.out
	fi
}

# nvmet_teardown: disconnect, port and subsystem removed, modules unloaded.
nvmet_teardown() {
	if [ -n "$fctrl" ]; then
		# The fabrics controller's character device stays open across the disconnect, so
		# the controller is freed when it is closed, not by the last close of its namespace
		# under open_mutex (lockdep's report against the reset path; README: kernel issues).
		dev_node c "${fctrl##*/}" "$fctrl/dev" && exec 4<"/dev/${fctrl##*/}"
		if /usr/sbin/nvme disconnect -n $NVMET_NQN >/tmp/nvme.out 2>&1 && grep -q "disconnected 1 controller" /tmp/nvme.out; then
			wait_gone "$fctrl" && echo "nvmock-init: nvmet: $(cat /tmp/nvme.out)" \
				|| echo "nvmock-init: FAILED: ${fctrl##*/} still there after nvme disconnect"
		else
			echo "nvmock-init: FAILED: nvme disconnect -n $NVMET_NQN:"; cat /tmp/nvme.out
		fi
		exec 4<&-
	fi
	s=$NVMET/subsystems/$NVMET_NQN
	[ -L $NVMET/ports/1/subsystems/$NVMET_NQN ] && { rm $NVMET/ports/1/subsystems/$NVMET_NQN || echo "nvmock-init: FAILED: unlinking the loop port"; }
	[ -d $NVMET/ports/1 ] && { rmdir $NVMET/ports/1 || echo "nvmock-init: FAILED: rmdir of the loop port"; }
	if [ -d "$s" ]; then
		echo 0 > "$s"/passthru/enable || echo "nvmock-init: FAILED: disabling the passthru subsystem"
		rmdir "$s" || echo "nvmock-init: FAILED: rmdir of the passthru subsystem"
	fi
	for m in nvme_loop nvmet nvme_fabrics; do
		grep -q "^$m " /proc/modules || continue
		rmmod $m || echo "nvmock-init: FAILED: rmmod $m"
	done
	left=$(grep -oE "^(nvme_loop|nvmet|nvme_fabrics) " /proc/modules | tr -d '\n')
	[ -z "$left" ] && [ ! -e $NVMET ] && echo "nvmock-init: nvmet: torn down, nvme_loop, nvmet and nvme_fabrics unloaded" \
		|| echo "nvmock-init: FAILED: after teardown: modules left: '$left'"
}

nvmet_check() {
	cfs_mount
	fctrl=''
	if emu_ctrl nvmet "$EMU_MIB"; then
		serial=$(tr -d ' ' <"$ctrl"/serial) tdev=$dev
		if modprobe nvme-loop; then
			for m in nvmet nvme_loop nvme_fabrics; do
				grep -q "^$m " /proc/modules || echo "nvmock-init: FAILED: $m not loaded with nvme-loop"
			done
			# The in-tree modules resolved nvme-core's exports against the relinked copy (the
			# boot's check_watermarks proved the loaded nvme_core is it): they hold it.
			holders=
			for h in /sys/module/nvme_core/holders/*; do holders="$holders${h##*/} "; done
			case " $holders" in
			*" nvme_fabrics "*) echo "nvmock-init: nvmet: nvme_fabrics, nvme_loop, nvmet loaded on the relinked nvme_core (its holders: $holders)" ;;
			*) echo "nvmock-init: FAILED: nvme_fabrics does not hold the relinked nvme_core (holders: $holders)" ;;
			esac
			nvmet_export "$cdev" && nvmet_connect "$serial" && nvmet_reset_under_io "$cdev"
		else
			echo "nvmock-init: FAILED: modprobe nvme-loop"
		fi
		nvmet_teardown
		# The exported controller is still the emulator's and still works.
		nvme_data "$tdev" 2
		emu_ctrl_rm nvmet
		wait_gone /sys/block/"$tdev" || echo "nvmock-init: FAILED: $tdev still there after its controller was removed"
	fi
	cfs_umount
	area_done nvmet
}
