# nvmock: the zoned area of the test system's userspace checks (sourced by init.sh from
# /nvmock/zoned.sh): a controller with a conventional and a zoned (ZNS) namespace made through
# configfs, bad zoned profiles refused with the attribute named, the kernel's zone view
# (blkzone) against the device's own report (nvme zns report-zones), fio zonemode=zbd with
# verify, and f2fs (metadata on the conventional namespace) and btrfs (zoned) round trips.
# shellcheck shell=sh disable=SC2154 # $dev, $ctrl: set by lib.sh's nvme_find

# zoned_fail MESSAGE: prints a failed check.
zoned_fail() {
	echo "nvmock-init: FAILED: zoned: $*"
}

# zoned_refused ATTR=VALUE...: powering on a fresh controller with these attributes must fail,
# and the kernel log must name the first attribute.
zoned_refused() {
	d=$cfs/znsbad
	mkdir "$d" || { zoned_fail "mkdir $d"; return; }
	echo 2 > "$d"/namespaces
	echo 1 > "$d"/zoned
	first=${1%%=*}
	for a in "$@"; do
		echo "${a#*=}" > "$d/${a%%=*}" || zoned_fail "configfs refused ${a%%=*}=${a#*=} when written"
	done
	dmesg -c >/dev/null
	if echo 1 > "$d"/power 2>/dev/null; then
		zoned_fail "powered on with $*"
		echo 0 > "$d"/power
	elif ! dmesg | grep -q "$first"; then
		zoned_fail "refusing $* did not name $first:"; dmesg | tail -3
	fi
	rmdir "$d"
}

# zone_conds DEV: every zone as blkzone reports it, "COND@WP" (em, oi, oe, cl, fu, ro, ol; the
# write pointer in sectors from the start of the device).
zone_conds() {
	blkzone report "/dev/$1" |
		sed -n 's/.*start: *\(0x[0-9a-f]*\),.*wptr \(0x[0-9a-f]*\).*zcond: *[0-9]*(\([a-z]*\)).*/\1 \2 \3/p' |
		while read -r st wp c; do printf '%s@%d ' "$c" $((st + wp)); done
}

# zone_states DEV: the same from the device's own Report Zones (nvme-cli prints each zone's
# state byte, ZS, and its write pointer in blocks: the namespace has 512-byte blocks here).
zone_states() {
	nvme zns report-zones "/dev/$1" 2>/dev/null |
		sed -n 's/.*WP: *\(0x[0-9a-f]*\|[0-9]*\) .*State: *\(0x[0-9a-f]*\).*/\1 \2/p' |
		while read -r wp zs; do
			case $zs in
			0x10) c=em ;; 0x20) c=oi ;; 0x30) c=oe ;; 0x40) c=cl ;;
			0xd0) c=ro ;; 0xe0) c=fu ;; 0xf0) c=ol ;; *) c="?$zs" ;;
			esac
			printf '%s@%d ' "$c" $((wp))
		done
}

# zones_agree DEV WHAT: blkzone and the device report the same zone conditions.
zones_agree() {
	k=$(zone_conds "$1") m=$(zone_states "$1")
	if [ -z "$k" ] || [ "$k" != "$m" ]; then
		zoned_fail "$2: kernel sees '$k', the device reports '$m'"
		nvme zns report-zones "/dev/$1" 2>&1 | head -3
		agree_failed=1
	fi
}

zoned_check() {
	mkdir -p /sys/kernel/config
	mount -t configfs configfs /sys/kernel/config 2>/dev/null
	cfs=/sys/kernel/config/nvmock_nvme
	# Single values out of range: refused when written.
	mkdir $cfs/znsattr || { zoned_fail "mkdir $cfs/znsattr"; area_done zoned; return; }
	for bad in "zone_kib 0" "zoned 17" "zasl 99" "read_across_zones maybe"; do
		echo "${bad#* }" > $cfs/znsattr/"${bad%% *}" 2>/dev/null \
			&& zoned_fail "configfs accepted ${bad%% *}=${bad#* }"
	done
	rmdir $cfs/znsattr
	# Combinations: refused at power on, with the attribute in the kernel log.
	zoned_refused zone_kib=3000
	zoned_refused zone_kib=131072 ns_mib=64
	zoned_refused zone_cap_kib=8192 zone_kib=4096
	zoned_refused max_open=5 max_active=4
	zoned_refused zoned=3
	zoned_refused zasl=6 mdts=5

	d=$cfs/zns0
	mkdir $d || { zoned_fail "mkdir $d"; area_done zoned; return; }
	echo 2 > $d/namespaces; echo 1 > $d/zoned; echo 128 > $d/ns_mib; echo 4096 > $d/zone_kib
	echo 14 > $d/max_open; echo 14 > $d/max_active
	serial=$(cat $d/serial)
	echo 1 > $d/power || zoned_fail "power on"
	nvme_find "$serial" || { rmdir $d; area_done zoned; return; }
	conv=$dev zns=''
	i=0
	while [ -z "$zns" ] && [ $i -lt 50 ]; do
		for b in /sys/block/nvme*; do
			[ "$(tr -d ' ' <"$b"/device/serial 2>/dev/null)" = "$serial" ] || continue
			[ "$(cat "$b"/queue/zoned)" = host-managed ] && zns=${b##*/}
		done
		[ -n "$zns" ] || { sleep 0.1; i=$((i + 1)); }
	done
	[ -n "$zns" ] || { zoned_fail "no host-managed namespace on $serial"; echo 0 > $d/power; rmdir $d; area_done zoned; return; }
	for b in /sys/block/nvme*; do
		[ "$(tr -d ' ' <"$b"/device/serial 2>/dev/null)" = "$serial" ] || continue
		[ "$(cat "$b"/queue/zoned)" = none ] && conv=${b##*/}
	done
	dev_node b "$zns" "/sys/block/$zns/dev"
	dev_node b "$conv" "/sys/block/$conv/dev"
	q=/sys/block/$zns/queue
	geo="$(cat "$q"/nr_zones) $(cat "$q"/chunk_sectors) $(cat "$q"/max_open_zones) $(cat "$q"/max_active_zones)"
	if [ "$geo" = "32 8192 14 14" ]; then
		echo "nvmock-init: zoned: /dev/$zns host-managed, 32 zones of 4 MiB, 14 open/active; /dev/$conv conventional"
	else
		zoned_fail "/dev/$zns: nr_zones chunk_sectors max_open max_active = $geo, not 32 8192 14 14"
	fi

	# The kernel's zone view against the device's report, through each transition.
	agree_failed=0
	zones_agree "$zns" "fresh"
	[ "$(zone_conds "$zns" | tr ' ' '\n' | grep -c '^em@')" = 32 ] || zoned_fail "fresh zones not all empty: $(zone_conds "$zns")"
	blkzone open -o 0 -c 1 "/dev/$zns" || zoned_fail "blkzone open"
	zones_agree "$zns" "after open"
	dd if=/dev/urandom of="/dev/$zns" bs=64k count=4 oflag=direct 2>/dev/null || zoned_fail "write at zone 0's start"
	dd if=/dev/urandom of="/dev/$zns" bs=64k count=1 seek=100 oflag=direct 2>/dev/null && zoned_fail "write past the write pointer accepted"
	zones_agree "$zns" "after writes"
	blkzone close -o 0 -c 1 "/dev/$zns" || zoned_fail "blkzone close"
	zones_agree "$zns" "after close"
	blkzone finish -o 0 -c 1 "/dev/$zns" || zoned_fail "blkzone finish"
	zones_agree "$zns" "after finish"
	case "$(zone_conds "$zns" | cut -d' ' -f1)" in fu@*) true ;; *) false ;; esac || zoned_fail "finished zone is $(zone_conds "$zns" | cut -d' ' -f1)"
	blkzone reset "/dev/$zns" || zoned_fail "blkzone reset (all)"
	zones_agree "$zns" "after reset"
	[ $agree_failed = 0 ] && echo "nvmock-init: zoned: blkzone open/close/finish/reset agree with the device's report"

	# fio's zoned mode: sequential writes within the open limit, then verified.
	if fio --thread --name=zbd --filename="/dev/$zns" --ioengine=libaio --direct=1 --zonemode=zbd \
		--max_open_zones=8 --rw=write --bs=64k --iodepth=4 --size=64M --verify=crc32c \
		--verify_fatal=1 >/tmp/fio.out 2>&1 && grep -q "err= 0" /tmp/fio.out; then
		echo "nvmock-init: zoned: fio zonemode=zbd wrote and verified 64 MiB on /dev/$zns"
	else
		zoned_fail "fio zonemode=zbd on /dev/$zns:"; tail -20 /tmp/fio.out
	fi
	zones_agree "$zns" "after fio"
	blkzone reset "/dev/$zns"

	# f2fs: metadata on the conventional namespace, data on the zoned one.
	if mkfs.f2fs -f -m -c "/dev/$zns" "/dev/$conv" >/tmp/mkfs.out 2>&1; then
		zoned_fs_round_trip "f2fs on /dev/$conv + /dev/$zns" f2fs "/dev/$conv" fsck.f2fs "/dev/$conv"
	else
		zoned_fail "mkfs.f2fs:"; tail -5 /tmp/mkfs.out
	fi
	blkzone reset "/dev/$zns"

	# btrfs in zoned mode on the zoned namespace alone.
	if mkfs.btrfs -f -d single -m single "/dev/$zns" >/tmp/mkfs.out 2>&1; then
		zoned_fs_round_trip "btrfs (zoned) on /dev/$zns" btrfs "/dev/$zns" btrfs check "/dev/$zns"
	else
		zoned_fail "mkfs.btrfs:"; tail -5 /tmp/mkfs.out
	fi

	echo 0 > $d/power || zoned_fail "power off"
	rmdir $d || zoned_fail "rmdir $d"
	umount /sys/kernel/config
	area_done zoned
}

# zoned_fs_round_trip WHAT FSTYPE DEV FSCK...: a file system the caller made on DEV is mounted,
# filled with files of known content, unmounted, checked with FSCK..., mounted again and
# compared; the mount is left unmounted.
zoned_fs_round_trip() {
	what=$1 fstype=$2 mdev=$3
	shift 3
	if mount -t "$fstype" "$mdev" /mnt && zoned_fs_fill_at /mnt && umount /mnt \
		&& "$@" >/tmp/fsck.out 2>&1 \
		&& mount -t "$fstype" "$mdev" /mnt && (cd /mnt/z && md5sum -c /tmp/zoned.md5 >/dev/null); then
		echo "nvmock-init: zoned: $what made, filled, checked and read back"
	else
		zoned_fail "$fstype round trip"; tail -5 /tmp/fsck.out; dmesg | tail -5
	fi
	umount /mnt 2>/dev/null
}

# zoned_fs_fill_at DIR: files of known content under DIR/z, their sums in /tmp/zoned.md5.
zoned_fs_fill_at() {
	mkdir -p "$1/z" || return 1
	i=0
	while [ $i -lt 40 ]; do
		head -c $(( (i % 7 + 1) * 65536 )) /dev/urandom > "$1/z/f$i" || return 1
		i=$((i + 1))
	done
	dd if=/dev/urandom of="$1/z/big" bs=1M count=24 2>/dev/null || return 1
	(cd "$1/z" && md5sum f* big > /tmp/zoned.md5) || return 1
	sync
}
