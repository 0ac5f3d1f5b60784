# nvmock: entry points. `make run` and `make check` are the two commands the README gives;
# the rest are their steps. Kbuild (for `make -C $KDIR M=$PWD`) is in ./Kbuild.
#
# Variables: ARCH=um|x86_64 (default um) for the single-arch targets, KDIR=<built tree> to
# use your own kernel instead of the pinned one, NVMOCK_CACHE (default ~/.cache/nvmock).

ARCH ?= um
ARCHES := um x86_64
S := scripts
# The host crate is built with cargo from the PATH (rustup); the kernel uses /usr/bin/rustc.
CARGO ?= cargo

.PHONY: all setup kernel modules kunit quick run check models script-tests lint bench ndctl-test ndctl-compare ndctl-steps clean help
all: help

help:
	@echo "make quick    host tests + the UML KUnit suites only (the edit-build-test loop);"
	@echo "             SUITES='nvmock_nvme_zns,nvmock_nvme_io*' runs only those"
	@echo "make run      build the kernels and nvmock, run every suite on UML and x86_64, summary"
	@echo "make check    the full test: models (cargo test, clippy, rustfmt) + make run"
	@echo "make kunit    one arch (ARCH=um|x86_64): kernel, modules, boot, KUnit summary"
	@echo "make models   cargo test of the pure device models"
	@echo "make script-tests   unit tests of the runner's helper scripts"
	@echo "make lockdep-boots N=10   boot ARCH N times only as far as nvmock: is lockdep still on?"
	@echo "make bench    fio 4k random I/O: emulated NVMe vs null_blk (and QEMU's nvme on x86_64)"
	@echo "make ndctl-test [REFERENCE=nfit_test] [TESTS='libndctl dsm-fail']"
	@echo "             ndctl's test suite in the x86_64 guest, against nvmock's NVDIMM buses"
	@echo "             (or the kernel's own tools/testing/nvdimm)"
	@echo "make ndctl-compare   the last full runs against nvmock and nfit_test side by side"
	@echo "make ndctl-steps TEST=pfn-meta-errors.sh   where one shell test's time went, step"
	@echo "             by step, in the last run against each bus"

setup:
	@$(S)/setup

kernel: setup
	@ARCH=$(ARCH) $(S)/kernel

modules: kernel
	@ARCH=$(ARCH) $(S)/modules

kunit: modules
	@ARCH=$(ARCH) $(S)/boot

models:
	$(CARGO) test --quiet

# The runner's own helpers (KTAP merging, ...), on console excerpts.
script-tests:
	python3 -m unittest discover -s tests/scripts -p 'test_*.py'

# Every shell script: the runner's (by their #! line, and the sourced *.sh), the guest's, CI's.
SHELL_SCRIPTS = $(sort $(shell grep -lE '^#!(/usr)?/bin/(env )?(ba)?sh|^#!/bin/busybox sh' scripts/* 2>/dev/null) \
	$(wildcard scripts/*.sh scripts/guest/*.sh) .ci/run)
lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --quiet --all-targets -- -D warnings
	shellcheck -x -P SCRIPTDIR $(SHELL_SCRIPTS)
	@$(S)/suites check

# The inner loop: host tests and the UML KUnit suites, no userspace checks (warm: < 60 s).
quick: setup
	@NVMOCK_SUITES='$(SUITES)' $(S)/run-all --quick

run: setup
	@$(S)/run-all $(ARCHES)

# The host-side checks (models, script-tests, lint) beside the x86_64 kernel build, then run.
check: setup
	@$(S)/check

# N boots of ARCH (default 10) only as far as loading nvmock (no suites, no userspace checks):
# lockdep's state in each and the count in a row (scripts/lockdep-boots; NVMOCK_LOCK=FILE to
# hold a lock file per boot on a shared machine).
N ?= 10
.PHONY: lockdep-boots
lockdep-boots: modules
	@ARCH=$(ARCH) $(S)/lockdep-boots $(N)

# BENCH_ARCHES="um" for the UML numbers only.
BENCH_ARCHES ?= $(ARCHES)
bench: setup
	@$(S)/bench $(BENCH_ARCHES)

# ndctl's suite (x86_64 only): REFERENCE=nfit_test runs it against tools/testing/nvdimm.
ndctl-test: setup
	@ARCH=x86_64 $(S)/kernel
	@ARCH=x86_64 $(S)/modules
	@$(S)/ndctl-test $(TESTS)

ndctl-compare:
	@$(S)/ndctl-compare

ndctl-steps:
	@test -n "$(TEST)" || { echo "make ndctl-steps: give TEST=<a shell test's meson name>" >&2; exit 2; }
	@$(S)/ndctl-steps $(TEST) $(N)

clean:
	rm -rf target
	@echo "kernel builds and downloads stay in $${NVMOCK_CACHE:-~/.cache/nvmock}"

.PHONY: kunit-tree kunit-py
# Link the pure models, the nvmock_model suite and the host tests (tests/*.rs, one suite per
# file, property tests left out) into a copy of the pinned tree; print the kunit.py command.
kunit-tree: setup
	@$(S)/kunit-tree
# The same, and run it (kunit.py builds its own UML kernel in the cache); fails unless every
# suite ran all its cases and passed.
kunit-py: setup
	@$(S)/kunit-tree --run

# Mutation testing of the models (background work, hours for all of them): FILES='src/model/range.rs
# src/model/nvme/*.rs' to restrict, TESTS=all|auto|<targets>, TIMEOUT=<s per mutant>; see scripts/mutants.
.PHONY: mutants
mutants:
	@$(S)/mutants
