# nvmock: shared environment for the scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034 # its variables are for the scripts that source it
#
# Inputs:  NVMOCK_CACHE (default ~/.cache/nvmock), ARCH (um or x86_64, default um),
#          KDIR (optional: a developer's own configured and built kernel tree),
#          NVMOCK_FLAVOUR (test, the default: the sanitizer kernels every suite runs on; or
#          bench: the same without debug options, config/bench.config, for `make bench`).
# Outputs: KSRC, KBUILD (the O= directory), MODDIR (nvmock's built modules), MAKEVARS
#          (toolchain variables for every make).

NVMOCK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NVMOCK_CACHE=${NVMOCK_CACHE:-$HOME/.cache/nvmock}
ARCH=${ARCH:-um}
case "$ARCH" in
	um|uml) ARCH=um ;;
	x86_64|x86) ARCH=x86_64 ;;
	*) echo "nvmock: error: ARCH=$ARCH is not supported (use um or x86_64)" >&2; exit 2 ;;
esac

die() { echo "nvmock: error: $*" >&2; exit 1; }

# Progress lines: phase and elapsed time since the script started.
NVMOCK_T0=${NVMOCK_T0:-$(date +%s)}
export NVMOCK_T0
phase() { printf 'nvmock [%4ds] %s\n' "$(( $(date +%s) - NVMOCK_T0 ))" "$*" >&2; }

eval "$("$NVMOCK_ROOT/scripts/setup" --print)"
MAKEVARS=(ARCH="$ARCH" LLVM=-19 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc HOSTRUSTC=/usr/bin/rustc
	BINDGEN="$BINDGEN" LIBCLANG_PATH=/usr/lib/llvm-19/lib)

NVMOCK_FLAVOUR=${NVMOCK_FLAVOUR:-test}
case "$NVMOCK_FLAVOUR" in
	test) flavour_dir=$ARCH ;;
	bench) flavour_dir=$ARCH-bench ;;
	*) echo "nvmock: error: NVMOCK_FLAVOUR=$NVMOCK_FLAVOUR is not one of test, bench" >&2; exit 2 ;;
esac
MODDIR=$NVMOCK_CACHE/modules/$flavour_dir
if [ -n "${KDIR:-}" ]; then
	KBUILD=$KDIR
	NVMOCK_OWN_KERNEL=0
else
	KBUILD=$NVMOCK_CACHE/build/$flavour_dir
	NVMOCK_OWN_KERNEL=1
fi
LOGDIR=$NVMOCK_CACHE/logs
mkdir -p "$LOGDIR"
