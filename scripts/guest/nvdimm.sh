# nvmock: the NVDIMM area of the test system's checks (busybox sh; sourced by init.sh from
# /nvmock/nvdimm.sh; x86_64, the only arch with ACPI NFIT): nvmock's nfit_test on the relinked
# stack, the buses and DIMMs as ndctl's tests look for them, the e820 bus (nvdimm_e820), data
# through a pmem namespace,
# then fsdax with O_DIRECT to an emulated NVMe namespace (nvdimm_fsdax), the NVDIMM KUnit
# suites (nvmock_nvdimm), and everything unloaded again. Uses nvme.sh's nvme_data and
# emuctl.sh's controllers. (ndctl's own suite: make ndctl-test.)
# shellcheck shell=sh disable=SC2154 # $dev: set by emuctl.sh's emu_ctrl

# nvdimm_fsdax: the iopmem scenario on nfit_test's memory (reserved RAM, the devmem
# reservation: real ZONE_DEVICE pages). The largest writable pmem namespace is put in fsdax
# mode through sysfs as `ndctl create-namespace -m fsdax` would (a pfn device, 2 MiB aligned,
# its struct pages in the namespace: map=dev), ext4 is mounted -o dax on it, and dax-dio
# (scripts/guest/dax-dio.c) maps a file MAP_SYNC and moves data between it and an emulated
# NVMe namespace with O_DIRECT both ways, every byte compared, the physical address behind
# the mapping checked to be the namespace's. The namespace goes back to raw mode after.
nvdimm_fsdax() {
	nd=/sys/bus/nd/devices ns='' best=0
	for n in "$nd"/namespace*.*; do
		[ -e "$n/driver" ] || continue
		[ "$(cat "$n/mode" 2>/dev/null)" = raw ] || continue
		r=$(readlink -f "$n/..")
		[ "$(cat "$r/read_only")" = 0 ] || continue
		sz=$(cat "$n/size")
		[ "$sz" -gt "$best" ] && best=$sz ns=${n##*/} region=${r##*/}
	done
	[ -n "$ns" ] || { echo "nvmock-init: FAILED: fsdax: no writable pmem namespace"; return; }
	res=$(cat "$nd/$ns/resource")
	pfn=$(cat "$nd/$region/pfn_seed")
	echo "$ns" > /sys/bus/nd/drivers/nd_pmem/unbind
	if ! { cat /proc/sys/kernel/random/uuid > "$nd/$pfn/uuid" && echo pmem > "$nd/$pfn/mode" \
		&& echo 2097152 > "$nd/$pfn/align" && echo "$ns" > "$nd/$pfn/namespace" \
		&& echo "$pfn" > /sys/bus/nd/drivers/nd_pmem/bind; }; then
		echo "nvmock-init: FAILED: fsdax: cannot set up $pfn on $ns ($region)"
		dmesg | tail -5
		return
	fi
	blk=$(ls "$nd/$pfn/block" 2>/dev/null)
	echo "nvmock-init: nvdimm: $ns ($region, $((best >> 20)) MiB at $res) in fsdax mode: $pfn, /dev/$blk, align $(cat "$nd/$pfn/align")"
	mkdir -p /mnt/dax
	if [ -n "$blk" ] && dev_node b "$blk" "/sys/block/$blk/dev" && mkfs.ext4 -F -q -b 4096 "/dev/$blk" \
		&& mount -o dax "/dev/$blk" /mnt/dax; then
		grep " /mnt/dax " /proc/mounts | grep -q dax || echo "nvmock-init: FAILED: fsdax: /mnt/dax not mounted with dax"
		cfs_mount
		if emu_ctrl fsdax "$EMU_MIB"; then
			dax-dio /mnt/dax/target "/dev/$dev" 4 >/tmp/dax-dio.out 2>&1
			rc=$?
			cat /tmp/dax-dio.out
			phys=$(sed -n 's/.* phys \(0x[0-9a-f]*\)$/\1/p' /tmp/dax-dio.out)
			end=$(printf '%d' "$res")
			end=$((end + best))
			if [ -z "$phys" ] || [ "$(printf '%d' "$phys")" -lt "$(printf '%d' "$res")" ] \
				|| [ "$(printf '%d' "$phys")" -ge "$end" ]; then
				echo "nvmock-init: FAILED: fsdax: the mapping's page ($phys) is not in $ns ($res, $best bytes)"
			fi
			[ $rc = 0 ] && echo "nvmock-init: nvdimm: fsdax ext4 -o dax: MAP_SYNC file on $ns and O_DIRECT to /dev/$dev both ways, every byte checked"
			[ $rc = 0 ] || echo "nvmock-init: FAILED: fsdax: dax-dio exited $rc"
			emu_ctrl_rm fsdax
		fi
		cfs_umount
		umount /mnt/dax || echo "nvmock-init: FAILED: umount /mnt/dax"
	else
		echo "nvmock-init: FAILED: fsdax: no ext4 -o dax on /dev/$blk"
	fi
	# Back to raw: the pfn device let go, its namespace bound alone again.
	echo "$pfn" > /sys/bus/nd/drivers/nd_pmem/unbind
	echo > "$nd/$pfn/namespace"
}

# nd_bus PROVIDER: prints the /sys/bus/nd/devices/ndbusN whose provider is PROVIDER; fails if
# there is none.
nd_bus() {
	for ndb in /sys/bus/nd/devices/ndbus*; do
		[ "$(cat "$ndb/provider" 2>/dev/null)" = "$1" ] && { echo "$ndb"; return 0; }
	done
	return 1
}

# nvdimm_e820: the e820 bus of nvmock_e820 (legacy persistent memory on the devmem
# reservation; config/modules loads it with mib=256): one "Persistent Memory (legacy)" range
# in /proc/iomem, the bus whose provider is e820 (what ndctl's dax-dev looks for) with one
# region of that size, its namespace in fsdax mode ("memory": libnvdimm maps pages for it in
# RAM) with a pmem block device, data written and read back through it; after rmmod, no
# e820 bus and no legacy range left (the run's kmemleak scan and WARN check cover the rest).
nvdimm_e820() {
	want=$((256 << 20))
	bus=$(nd_bus e820) || { echo "nvmock-init: FAILED: e820: no bus with provider e820"; return; }
	bus=$(readlink -f "$bus")
	n=$(grep -c "Persistent Memory (legacy)" /proc/iomem)
	[ "$n" = 1 ] || echo "nvmock-init: FAILED: e820: $n 'Persistent Memory (legacy)' ranges in /proc/iomem"
	set -- "$bus"/region*
	if [ $# != 1 ] || [ ! -e "$1" ]; then
		echo "nvmock-init: FAILED: e820: the bus has regions '$*', not one"
		return
	fi
	region=$1
	[ "$(cat "$region/size")" = "$want" ] \
		|| echo "nvmock-init: FAILED: e820: ${region##*/} is $(cat "$region/size") bytes, not $want"
	# Namespaces and their block devices register asynchronously after the probe.
	i=0 ns='' blk=''
	while [ -z "$blk" ] && [ $i -lt 100 ]; do
		for n in "$region"/namespace*.*; do
			[ -e "$n" ] && ns=$n && blk=$(ls "$n/block" 2>/dev/null)
		done
		[ -n "$blk" ] || { sleep 0.2; i=$((i + 1)); }
	done
	[ -n "$blk" ] || { echo "nvmock-init: FAILED: e820: no pmem block device on ${region##*/} (namespace '${ns##*/}')"; return; }
	mode=$(cat "$ns/mode")
	[ "$mode" = memory ] || echo "nvmock-init: FAILED: e820: ${ns##*/} is in mode '$mode', not memory (fsdax)"
	echo "nvmock-init: nvdimm: e820 bus ${bus##*/}: ${region##*/} $(($(cat "$region/size") >> 20)) MiB at $(cat "$region/resource"), ${ns##*/} mode $mode, /dev/$blk"
	dev_node b "$blk" "/sys/block/$blk/dev"
	nvme_data "$blk" 8
	rmmod nvmock_e820 || { echo "nvmock-init: FAILED rmmod nvmock_e820"; return; }
	b=$(nd_bus e820) && echo "nvmock-init: FAILED: e820: ${b##*/} still there after rmmod"
	grep -q "Persistent Memory (legacy)" /proc/iomem && echo "nvmock-init: FAILED: e820: legacy range left in /proc/iomem after rmmod"
	[ -e "/sys/block/$blk" ] && echo "nvmock-init: FAILED: e820: /dev/$blk still there after rmmod"
	echo "nvmock-init: nvdimm: e820 bus gone after rmmod nvmock_e820"
}

# ars_starts: the ARS Start commands nfit_test.0 has answered (its debugfs profile).
ars_starts() {
	awk '$1 == "bus:ars_start" { n = $3 } END { print n + 0 }' /sys/kernel/debug/nfit_test.0/stats 2>/dev/null
}

# scrub_idle FILE: waits up to 30 s for the bus's scrub (FILE: its nfit/scrub) to end.
scrub_idle() {
	i=0
	while grep -q '+' "$1" && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
	! grep -q '+' "$1"
}

# nvdimm_scrub_ranges: a scrub of nfit_test.0 covers its persistent ranges, 1 and 2, one ARS
# Start each. Not the hot-plug range 12 as well: the driver refused that update, and with
# config/patches/0004 a refused update leaves its lists as they were (without it, the
# update's range stayed on them, and every scrub started a third ARS).
nvdimm_scrub_ranges() {
	sb=$(nd_bus nfit_test.0)/nfit/scrub
	[ -e "$sb" ] || { echo "nvmock-init: FAILED: nvdimm: nfit_test.0 has no nfit/scrub"; return; }
	scrub_idle "$sb" || { echo "nvmock-init: FAILED: nvdimm: nfit_test.0's first scrub still runs after 30 s"; return; }
	s0=$(ars_starts)
	echo 1 >"$sb" || { echo "nvmock-init: FAILED: nvdimm: writing 1 to $sb"; return; }
	scrub_idle "$sb" || { echo "nvmock-init: FAILED: nvdimm: nfit_test.0's scrub still runs after 30 s"; return; }
	s1=$(ars_starts)
	if [ $((s1 - s0)) = 2 ]; then
		echo "nvmock-init: nvdimm: a scrub of nfit_test.0 started ARS on its 2 persistent ranges"
	else
		echo "nvmock-init: FAILED: nvdimm: a scrub of nfit_test.0 sent $((s1 - s0)) ARS Starts, not 2 (one per persistent range)"
	fi
}

nvdimm_check() {
	# No udev here to load drivers by modalias: the plan's order (the namespace drivers
	# before nfit_test). The modules that hold KUnit suites come after the buses' checks.
	plan_load nvdimm "" plain || return
	check_watermarks nvdimm
	providers=$(cat /sys/bus/nd/devices/ndbus*/provider | sort | tr '\n' ' ')
	[ "$providers" = "e820 nfit_test.0 nfit_test.1 " ] && echo "nvmock-init: nvdimm: buses $providers" \
		|| echo "nvmock-init: FAILED: NVDIMM bus providers are '$providers'"
	nvdimm_e820
	d=/sys/devices/platform/nfit_test.1/nfit_test_dimm/test_dimm5
	[ "$(cat $d/handle 2>/dev/null)" = 0x10000 ] || echo "nvmock-init: FAILED: $d/handle is '$(cat $d/handle 2>&1)'"
	echo -5 > $d/fail_cmd_code && [ "$(cat $d/fail_cmd_code)" = -5 ] \
		|| echo "nvmock-init: FAILED: $d/fail_cmd_code did not take -5"
	echo 1 > $d/fail_cmd_code 2>/dev/null && echo "nvmock-init: FAILED: fail_cmd_code accepted 1"
	echo 0 > $d/fail_cmd_code
	# nfit_test.0's DIMMs have Intel security and firmware update; the bus activates
	# firmware. A DIMM without a passphrase has nothing to lock.
	d=/sys/devices/platform/nfit_test.0/nfit_test_dimm/test_dimm0
	echo 1 > $d/lock_dimm 2>/dev/null && echo "nvmock-init: FAILED: $d/lock_dimm locked a DIMM without a passphrase"
	n=$(grep -lx disabled /sys/bus/nd/devices/nmem*/security 2>/dev/null | wc -l)
	fwa=$(cat /sys/bus/nd/devices/ndbus*/firmware/activate 2>/dev/null | tr '\n' ' ')
	[ "$n" -ge 4 ] && echo "nvmock-init: nvdimm: $n DIMMs with security disabled; firmware activation: $fwa" \
		|| echo "nvmock-init: FAILED: $n DIMMs report security 'disabled', nfit_test.0 has 4"
	[ "$fwa" = "idle " ] || echo "nvmock-init: FAILED: bus firmware activation is '$fwa', not one bus idle"
	echo "nvmock-init: nvdimm: $(count /sys/bus/nd/devices/nmem*) DIMMs," \
		"$(count /sys/bus/nd/devices/region*) regions, pmem: $(cd /sys/block && echo pmem*)"
	# nfit_test.0 hot-plugs DIMM 0x1000 through _FIT once probed. Linux 7.3's NFIT driver
	# ORs the flags of a DIMM's mappings into its stored copy of one of them, so a _FIT
	# that repeats nfit_test.0's mappings with differing flags no longer matches, and the
	# merge is refused (config/patches/0004 makes the refusal leave the driver as it was;
	# the kernel's C nfit_test fails earlier, at "failed to evaluate _FIT"): either outcome
	# is the driver's.
	if grep -lqx 0x1000 /sys/bus/nd/devices/nmem*/nfit/handle 2>/dev/null; then
		echo "nvmock-init: nvdimm: hot-plugged DIMM 0x1000 present"
	elif dmesg | grep -q "nfit_test.0: failed to merge updated NFIT"; then
		echo "nvmock-init: nvdimm: _FIT hot plug evaluated; the driver refused the merge"
	else
		echo "nvmock-init: FAILED: nfit_test.0's _FIT hot plug never reached the driver"
	fi
	nvdimm_scrub_ranges
	pmem=
	for b in /sys/block/pmem*; do [ -e "$b" ] && pmem=${b##*/} && break; done
	if [ -n "$pmem" ]; then
		dev_node b "$pmem" "/sys/block/$pmem/dev"
		nvme_data "$pmem" 8
	else
		echo "nvmock-init: FAILED: no pmem block device on the emulated buses"
	fi
	nvdimm_fsdax
	# nfit_test unloads only once no region is enabled (ndctl disable-region does this).
	for r in /sys/bus/nd/drivers/nd_region/region*; do
		[ -e "$r" ] && echo "${r##*/}" > /sys/bus/nd/drivers/nd_region/unbind
	done
	rmmod nfit_test || echo "nvmock-init: FAILED rmmod nfit_test"
	# The NVDIMM KUnit suites build their own buses on the same stack as they load.
	plan_load nvdimm "" suites
	plan_unload nvdimm
	area_done nvdimm
}
