# nvmock: the test system, shared by scripts/boot (the suites) and scripts/bench (sourced
# after env.sh, not run).
# shellcheck shell=bash
#
# vm_prepare RUN: a fresh root in RUN/root (a hard-linked copy of scripts/rootfs's Debian
#   root: the run only adds files, never edits the cache's), with the kernel's modules,
#   nvmock's in updates/ (which depmod ranks first, so the relinked copies win over the
#   production modules of the same name; the watermarks catch it if not), busybox, the
#   static test tools and the guest's scripts (scripts/guest/*.sh in /nvmock/, config/modules
#   as /nvmock/modules). Every module config/modules lists for $ARCH must have been installed.
#   Sets $root. The caller then writes $root/init. NVMOCK_ROOTFS=nvdimm takes scripts/rootfs's
#   NVDIMM root (ndctl's test dependencies) instead of the default one.
# vm_boot RUN CONSOLE APPEND [QEMU-ARGS...]: boots $ARCH on it with APPEND added to the kernel
#   command line: UML with the root on hostfs, x86_64 under QEMU (KVM if a probe shows that
#   it works here, else TCG) from an initramfs, QEMU-ARGS added to QEMU's. The console goes
#   to CONSOLE; the init script ends with "nvmock-init: done" on it. Sets $accel (native for
#   UML, kvm or tcg). NVMOCK_VM_TIMEOUT (seconds, default 900) bounds a TCG run; QEMU-ARGS
#   may give another -m (the last one counts; at least 2G plus the devmem reservation).
#   NVMOCK_DEVMEM (x86_64, default 2G; 0 for none): guest RAM above 4 GiB that the kernel
#   leaves alone (memmap=SIZE$4G, an E820 "Reserved" range), named to the shim
#   (nvmock_iomap.devmem=SIZE@4G; pci=no_e820 lets the PCI core place BARs in it): memory
#   ZONE_DEVICE can give struct pages to (P2PDMA, fsdax, device-dax): nfit_test's two buses
#   take 1412 MiB of it (bus 0's 1025 MiB span aligned to 1 GiB, bus 1's 132 MiB to 256 MiB),
#   the rest is for the controllers' CMB and PMR BARs. The guest gets 2 GiB
#   of RAM besides; QEMU's q35 puts the rest of -m at 4 GiB once -m exceeds 2.75 GiB, so -m
#   defaults to 2G plus NVMOCK_DEVMEM.

vm_prepare() {
	local run=$1 mo=$MODDIR rootfs release ilog m
	# shellcheck disable=SC2086 # NVMOCK_ROOTFS: no argument when unset
	rootfs=$("$NVMOCK_ROOT/scripts/rootfs" ${NVMOCK_ROOTFS:-})
	root=$run/root
	rm -rf "$run" && mkdir -p "$run" && cp -al "$rootfs" "$root" && mkdir -p "$root"/{proc,sys,dev,tmp}
	release=$(cat "$KBUILD/include/config/kernel.release")
	ilog=$LOGDIR/install-$ARCH.log
	make -C "$KBUILD" "${MAKEVARS[@]}" INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 modules_install >"$ilog" 2>&1 \
		|| { tail -20 "$ilog" >&2; die "modules_install failed (log: $ilog)"; }
	make -C "$KBUILD" M="$NVMOCK_ROOT" MO="$mo" "${MAKEVARS[@]}" INSTALL_MOD_PATH="$root" INSTALL_MOD_DIR=updates \
		INSTALL_MOD_STRIP=1 modules_install >>"$ilog" 2>&1 || { tail -20 "$ilog" >&2; die "installing nvmock modules failed (log: $ilog)"; }
	local mods
	mods=$("$NVMOCK_ROOT/scripts/suites" modules "$ARCH" | awk '{print $2}') || die "config/modules is inconsistent (above)"
	for m in $mods; do
		[ -f "$root/lib/modules/$release/updates/$m.ko" ] || die "nvmock module $m.ko was not installed (log: $ilog)"
	done
	depmod -b "$root" "$release" || die "depmod failed"
	cp /bin/busybox "$root/bin/busybox"
	mkdir -p "$root/nvmock" && cp "$NVMOCK_ROOT"/scripts/guest/*.sh "$root/nvmock/"
	cp "$NVMOCK_ROOT/config/modules" "$root/nvmock/modules"
	# The test system's own tools (scripts/guest/*.c: nvme-passthru, dax-dio, p2p-copy), static
	# so they run on UML (a host process) and in the guest.
	local c
	for c in "$NVMOCK_ROOT"/scripts/guest/*.c; do
		gcc -static -O2 -Wall -Werror -pthread -o "$root/bin/$(basename "$c" .c)" "$c" \
			|| die "building scripts/guest/${c##*/} failed"
	done
}

vm_boot() {
	local run=$1 console=$2 append=$3
	shift 3
	case "$ARCH" in
	um)
		accel=native
		# pcie_port_pm=off: outside x86 Linux lets PCIe ports runtime-suspend. nvmock's ports
		# have no PM capability and send no PME, and resuming a hot-plug port under the PCI
		# rescan lock takes pciehp's reset_lock in an order lockdep reports (README: Kernel
		# options); x86 keeps hot-plug ports resumed anyway.
		# shellcheck disable=SC2086 # APPEND: kernel parameters, one word each
		timeout 600 "$KBUILD/linux" mem=768M rootfstype=hostfs rootflags="$run/root" rw init=/init \
			pcie_port_pm=off $append \
			</dev/null >"$console" 2>&1 || true
		;;
	x86_64)
		# gzip -1: unpacking the root (about 200 MB) takes most of the boot's first minute under
		# TCG either way; an uncompressed archive was no faster (its copy into the rootfs is
		# the cost, not the inflate).
		# Python, Perl and iconv's modules are in the root for Debian's packages, not for the
		# checks: left out, a fifth less to unpack.
		(cd "$run/root" && find . \( -path ./usr/lib/python3 -o -path './usr/lib/python3.*' \
			-o -path ./usr/lib/x86_64-linux-gnu/perl-base -o -path ./usr/share/perl5 \
			-o -path ./usr/lib/x86_64-linux-gnu/gconv \) -prune -o -print \
			| cpio -o -H newc 2>/dev/null | gzip -1) >"$run/initrd.gz"
		local devmem=${NVMOCK_DEVMEM:-2G} devmem_mib mem_mib a prev=
		case "$devmem" in
		0) devmem_mib=0 ;;
		[1-9]*G) devmem_mib=$(( ${devmem%G} * 1024 )) ;;
		[1-9]*M) devmem_mib=${devmem%M} ;;
		*) die "NVMOCK_DEVMEM=$devmem: give a size in M or G (a multiple of 2M), or 0" ;;
		esac
		[ $((devmem_mib % 2)) = 0 ] || die "NVMOCK_DEVMEM=$devmem: not a multiple of 2M"
		mem_mib=$((2048 + devmem_mib))
		# A caller's -m (the last one counts) must leave the reservation inside RAM.
		for a in "$@"; do
			if [ "$prev" = -m ]; then
				case "$a" in
				*G) mem_mib=$(( ${a%G} * 1024 )) ;;
				*M) mem_mib=${a%M} ;;
				esac
			fi
			prev=$a
		done
		if [ "$devmem_mib" != 0 ]; then
			[ "$mem_mib" -ge $((2048 + devmem_mib)) ] \
				|| die "QEMU -m ${mem_mib}M leaves no room for NVMOCK_DEVMEM=$devmem above 4 GiB (need $((2048 + devmem_mib))M)"
			# Single-quoted: the '$' is memmap's (reserve), not the shell's. pci=no_e820: x86's
			# resource allocator keeps PCI BARs out of every E820 entry (the reservation is
			# one), and the emulated controllers' CMB and PMR BARs are assigned in it.
			append="$append memmap=${devmem_mib}M"'$'"0x100000000 nvmock_iomap.devmem=${devmem_mib}M@0x100000000 pci=no_e820"
		fi
		qemu() {
			local limit=$1 acc=$2
			shift 2
			# Under a child bash whose stderr is the console: timeout(1) re-raises the signal
			# that killed QEMU (SIGABRT when KVM fails), and that bash, not ours, reports it.
			# no5lvl: -cpu max offers LA57, and with 5-level paging an interrupt in the boot
			# CPU's identify_cpu() (which clears x86_capability, LA57 included, with
			# interrupts on and before alternatives are patched) sees pgtable_l5_enabled()
			# false: KASAN then reports a wild access on any direct-map address
			# (do_raw_spin_lock in handle_edge_irq), which switches lockdep off.
			bash -c '"$@"; rc=$?; exit $rc' qemu timeout "$limit" qemu-system-x86_64 -accel "$acc" -machine q35 \
				-cpu max -smp 2 -m "$((2048 + devmem_mib))M" -nographic -no-reboot -kernel "$KBUILD/arch/x86/boot/bzImage" \
				-initrd "$run/initrd.gz" -append "console=ttyS0 panic=-1 no5lvl rdinit=/init $append" "$@" \
				</dev/null >"$console" 2>&1 || true
		}
		# KVM only if it works here: on some machines /dev/kvm exists but guests die with
		# "KVM internal error". NVMOCK_ACCEL=tcg|kvm skips the probe.
		accel=${NVMOCK_ACCEL:-probe}
		case "$accel" in
		kvm) qemu 900 kvm "$@" ;;
		tcg) qemu "${NVMOCK_VM_TIMEOUT:-900}" tcg "$@" ;;
		probe)
			accel=tcg
			if [ -w /dev/kvm ]; then
				qemu 300 kvm "$@"
				if grep -q "nvmock-init: done" "$console"; then
					accel=kvm
				else
					why=$(grep -m1 -iE 'kvm|error' "$console" || echo "no output")
					phase "KVM probe failed ($why): using TCG"
				fi
			fi
			[ "$accel" = kvm ] || qemu "${NVMOCK_VM_TIMEOUT:-900}" tcg "$@"
			;;
		*) die "NVMOCK_ACCEL=$accel: use tcg or kvm" ;;
		esac
		phase "x86_64 ran under QEMU with accelerator: $accel"
		;;
	esac
}
