# hull — build, demo, tests, benchmarks. Run as root on Debian 12 (see README.md).
SHELL := /bin/bash
CARGO ?= cargo
HULL_RELEASE := target/release/hull
ROOTFS := bundles/busybox/rootfs
DEMO_ROOT ?= /run/hull-demo

.PHONY: all build run test unit lint deps bundles bench size clean tables dupcheck bench-compare bench-systemd fuzz \
	docs install uninstall deb deps-run vm-kernel

all: build

# The release binary is static-pie linked against musl (Rust's x86_64-unknown-linux-musl
# target, its libc self-contained: no C toolchain): no dynamic loader at each of create's two
# execs, 1.2 MB less RSS than mapping libc/libm/libgcc_s, and none of glibc's start-up CPU
# probing (dozens of cpuid, each a trap to the hypervisor in a VM: 0.2 ms of every command here);
# its relative relocations packed (DT_RELR, musl >= 1.2.4). README, Benchmarks. Where the target
# is missing and rustup cannot add it, the same static-pie against glibc, said in one line.
MUSL := x86_64-unknown-linux-musl
build:
	@if rustup target list --installed 2>/dev/null | grep -qx $(MUSL) \
		|| { echo "make: adding Rust's $(MUSL) target (the release binary's libc)"; rustup target add $(MUSL) >/dev/null 2>&1; }; then \
		echo "$(CARGO) rustc --release --target $(MUSL) --bin hull"; \
		$(CARGO) rustc --release --target $(MUSL) --bin hull -- -C link-arg=-Wl,-z,pack-relative-relocs \
			&& install -D -m 0755 target/$(MUSL)/release/hull $(HULL_RELEASE); \
	else \
		echo "make: no $(MUSL) target (rustup could not add it): hull is linked static against glibc instead, with a slower start-up"; \
		$(CARGO) rustc --release --bin hull -- -C target-feature=+crt-static \
			-C link-arg=-Wl,-z,pack-relative-relocs; \
	fi

# What the demo needs (make run): the static busybox its rootfs is made of.
deps-run:
	@if [ ! -x /bin/busybox ] || ! dpkg -s busybox-static >/dev/null 2>&1; then \
		echo "make: installing busybox-static (static busybox for the demo and test rootfs)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null; \
	fi

# What the tests need besides (Debian packages), saying what is installed and why.
deps: deps-run
	@if ! dpkg -s libseccomp-dev >/dev/null 2>&1; then \
		echo "make test: installing libseccomp-dev (libseccomp, the reference in tests/seccomp_diff.rs)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp-dev >/dev/null; \
	fi
	@if ! dpkg -s podman >/dev/null 2>&1; then \
		echo "make test: installing podman (an engine driving hull through conmon, tests/engines/)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null; \
	fi
	@if ! dpkg -s containerd >/dev/null 2>&1; then \
		echo "make test: installing containerd (ctr and containerd-shim-runc-v2 driving hull, tests/engines/)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd >/dev/null; \
	fi
	@if ! dpkg -s docker.io >/dev/null 2>&1; then \
		echo "make test: installing docker.io (dockerd driving hull through containerd, tests/engines/)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null; \
	fi
	@if ! dpkg -s strace >/dev/null 2>&1; then \
		echo "make test: installing strace (shows that a process without LSM labels opens no attr file, tests/lsm.rs)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null; \
	fi
	@if ! dpkg -s systemd-container >/dev/null 2>&1; then \
		echo "make test: installing systemd-container (systemd-nspawn, which boots the systemd test world, tests/common/systemd.rs)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container >/dev/null; \
	fi
	@missing=; for p in dbus-user-session libpam-systemd; do \
		if ! dpkg -s $$p >/dev/null 2>&1; then missing="$$missing $$p"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make test: installing$$missing (a user manager with a bus in the systemd world, tests/common/systemd_user.rs)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@missing=; for p in python3-grpcio python3-protobuf protobuf-compiler containernetworking-plugins; do \
		if ! dpkg -s $$p >/dev/null 2>&1; then missing="$$missing $$p"; fi; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make test: installing$$missing (the CRI client and the pods' network of the Kubernetes tests, tests/cri/)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@if ! dpkg -s qemu-system-x86 >/dev/null 2>&1; then \
		echo "make test: installing qemu-system-x86 (qemu/KVM, which boots the VM world, tests/common/vm.rs)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null; \
	fi
	@$(MAKE) --no-print-directory vm-kernel
	@if ! dpkg -s uidmap >/dev/null 2>&1; then \
		echo "make test: installing uidmap (newuidmap and newgidmap, which map a user's subordinate ids, tests/common/rootless.rs)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq uidmap >/dev/null; \
	fi

$(ROOTFS): bundles/make-rootfs.sh | deps-run
	./bundles/make-rootfs.sh $(ROOTFS)

# The in-container probe (tests/inside): one raw syscall, built static.
PROBE := target/inside/x86_64-unknown-linux-gnu/release/probe
$(PROBE): tests/inside/src/main.rs tests/inside/Cargo.toml
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --manifest-path tests/inside/Cargo.toml \
		--target x86_64-unknown-linux-gnu --target-dir target/inside

$(ROOTFS)/bin/probe: $(PROBE) | $(ROOTFS)
	cp $(PROBE) $@

bundles: deps $(ROOTFS) $(ROOTFS)/bin/probe

# The demo: a busybox container (bundles/demo) in the foreground, what it sees beside what the
# host sees. Needs only the build and busybox-static; the tests' packages come with make test.
run: build $(ROOTFS)
	./bundles/demo.sh $(CURDIR)/$(HULL_RELEASE) $(DEMO_ROOT)

# Everything CI runs: unit tests and the integration tests that start real containers (root),
# these with the release binary as make build makes it, the one that ships (HULL_TEST_RUNTIME,
# tests/common; set it to point them at another binary).
test: bundles build
	HULL_TEST_RUNTIME=$${HULL_TEST_RUNTIME:-$(CURDIR)/$(HULL_RELEASE)} $(CARGO) test --all-targets -- --test-threads=4

# Unit tests alone (no root needed).
unit:
	$(CARGO) test --lib

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# Fuzzing (cargo-fuzz: libFuzzer, nightly): each target of fuzz/ for FUZZ_SECONDS, seeded from
# the repository (fuzz/seeds/, bundles/); what the corpora grow stays in fuzz/corpus/ and a
# crash's input in fuzz/artifacts/ (neither committed). make fuzz FUZZ_TARGETS=seccomp
# FUZZ_SECONDS=600 runs one target longer.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= config seccomp state sockets
fuzz:
	@if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then \
		echo "make: installing the nightly toolchain (rustup; cargo-fuzz needs it)"; \
		rustup toolchain install nightly --profile minimal; \
	fi
	@if ! $(CARGO) fuzz --version >/dev/null 2>&1; then \
		echo "make: installing cargo-fuzz (cargo install, from crates.io)"; \
		$(CARGO) install --locked cargo-fuzz; \
	fi
	$(CARGO) +nightly fuzz build -a
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t fuzz/tmp/$$t; \
		case $$t in \
		config) cp bundles/busybox/config.json fuzz/corpus/$$t/busybox.json; \
			cp bundles/engine-configs/*.json fuzz/corpus/$$t/; dict=-dict=fuzz/dicts/oci.dict;; \
		seccomp) cp bundles/seccomp/*.json fuzz/corpus/$$t/; dict=-dict=fuzz/dicts/oci.dict;; \
		*) dict=;; \
		esac; \
		seeds=; [ -d fuzz/seeds/$$t ] && seeds=fuzz/seeds/$$t; \
		echo "make: fuzzing $$t for $(FUZZ_SECONDS) s"; \
		TMPDIR=$(CURDIR)/fuzz/tmp/$$t $(CARGO) +nightly fuzz run -a $$t fuzz/corpus/$$t $$seeds -- \
			-max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 $$dict; \
		rm -rf fuzz/tmp/$$t; \
	done

# Issue #9's rule: no copied sequence between the create and exec paths (the spawn pipeline in
# src/process/ and the verbs that feed it). Uses the team's `duplicates` scanner where it is
# installed (it is not a Debian package; CI has no copy); tests/shape.rs checks the rest of the
# tree's shape on every run.
SPAWN_PATHS := (container/(create|exec|caller|run)|process/)
dupcheck:
	@command -v duplicates >/dev/null || { echo "dupcheck: the duplicates scanner is not installed here"; exit 0; }
	@out=$$(duplicates --repo src --most 200 --seconds 60); echo "$$out" | head -n 1; \
	if echo "$$out" | grep -E '^D[0-9]+ $(SPAWN_PATHS)[^ ]* ~ $(SPAWN_PATHS)'; then \
		echo "dupcheck: copied code between the create and exec paths"; exit 1; fi; \
	echo "dupcheck: no copied sequence between the create and exec paths"

# Regenerate src/seccomp/tables.rs (syscall numbers) from this machine's kernel UAPI headers.
tables:
	python3 tools/gen-syscall-tables.py

# hull beside runc and crun as root, then as an unprivileged user (bench/rootless.sh), a pod
# through containerd's CRI (bench/cri.sh), and each lifecycle command against the floor of a
# fork+exec with 100 sequential and 20 concurrent lifecycles (bench/phases.sh, issue #16), on
# cgroup v1 and again on cgroup2 alone (BENCH_CGROUP=v2: a private cgroup2 mount on a hybrid
# host); every part runs whatever the others did (run.sh fails on a missed target of issue #2), and
# make bench fails, naming it, when one of them did.
bench: build bundles
	@s=0; for b in run rootless cri systemd phases; do ./bench/$$b.sh || { echo "make bench: bench/$$b.sh failed"; s=1; }; done; \
	BENCH_CGROUP=v2 ./bench/phases.sh || { echo "make bench: BENCH_CGROUP=v2 bench/phases.sh failed"; s=1; }; exit $$s

# The systemd driver's lifecycle beside runc's, in a systemd world booted for the purpose.
bench-systemd: build bundles
	./bench/systemd.sh

# This tree's hull against revision BASE's, round by round (a change that must not cost time):
# make bench-compare BASE=<rev> [ITERATIONS=100] [TOLERANCE=0.05].
bench-compare: build bundles
	BASE=$(BASE) ./bench/compare.sh

# Installing: the binary, man pages (hull(8), hull-SUBCOMMAND(8)) and bash/zsh/fish completions
# generated from hull's own command line definition by hull-docs (src/bin/hull-docs.rs), the
# engine snippets of contrib/ as examples, the README. make install [PREFIX=/usr/local]
# [DESTDIR=]; make uninstall with the same removes exactly that. NO_BUILD=1 with HULL_BIN and
# DOCS_BIN installs binaries built elsewhere (tests/install.rs, which runs inside cargo test).
PREFIX ?= /usr/local
DESTDIR ?=
HULL_BIN ?= $(HULL_RELEASE)
DOCS_BIN ?= target/release/hull-docs
DOCS_DIR ?= target/docs
BINDIR = $(DESTDIR)$(PREFIX)/bin
MAN8DIR = $(DESTDIR)$(PREFIX)/share/man/man8
BASHDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHDIR = $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions
FISHDIR = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
DOCDIR = $(DESTDIR)$(PREFIX)/share/doc/hull

$(DOCS_BIN):
	$(CARGO) build --release --bin hull-docs

docs: $(if $(NO_BUILD),,$(DOCS_BIN))
	rm -rf $(DOCS_DIR)
	$(DOCS_BIN) $(DOCS_DIR)

install: $(if $(NO_BUILD),,build) docs
	install -d $(BINDIR) $(MAN8DIR) $(BASHDIR) $(ZSHDIR) $(FISHDIR) $(DOCDIR)/examples
	install -m 0755 $(HULL_BIN) $(BINDIR)/hull
	install -m 0644 $(DOCS_DIR)/man8/*.8 $(MAN8DIR)/
	install -m 0644 $(DOCS_DIR)/completions/hull.bash $(BASHDIR)/hull
	install -m 0644 $(DOCS_DIR)/completions/_hull $(ZSHDIR)/_hull
	install -m 0644 $(DOCS_DIR)/completions/hull.fish $(FISHDIR)/hull.fish
	install -m 0644 contrib/* $(DOCDIR)/examples/
	install -m 0644 README.md $(DOCDIR)/README.md

uninstall:
	rm -f $(BINDIR)/hull $(MAN8DIR)/hull.8 $(MAN8DIR)/hull-*.8 $(BASHDIR)/hull $(ZSHDIR)/_hull \
		$(FISHDIR)/hull.fish
	rm -rf $(DOCDIR)

# A Debian package of the same files (PREFIX=/usr), built with dpkg-deb from make install's tree:
# target/hull_VERSION_ARCH.deb. Static binary: no Depends; uidmap recommended (rootless).
DEB_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_ROOT ?= target/deb/root
DEB ?= target/hull_$(DEB_VERSION)_$(DEB_ARCH).deb
# dpkg-deb's compressor (xz; tests/engines takes none: its debug binary is ~100 MB).
DEB_COMPRESS ?= xz
deb: $(if $(NO_BUILD),,build $(DOCS_BIN))
	rm -rf $(DEB_ROOT)
	$(MAKE) --no-print-directory install NO_BUILD=1 HULL_BIN=$(HULL_BIN) DOCS_BIN=$(DOCS_BIN) \
		DOCS_DIR=$(DOCS_DIR) DESTDIR=$(abspath $(DEB_ROOT)) PREFIX=/usr
	gzip -9n $(DEB_ROOT)/usr/share/man/man8/*.8
	install -d $(DEB_ROOT)/DEBIAN
	printf '%s\n' "Package: hull" "Version: $(DEB_VERSION)" "Architecture: $(DEB_ARCH)" \
		"Maintainer: hull developers <hull@localhost>" "Section: admin" "Priority: optional" \
		"Recommends: uidmap" "Description: OCI container runtime with runc's command line" \
		" hull reads an OCI bundle and runs an isolated process (namespaces, cgroups," \
		" pivot_root, capabilities, seccomp). Engines call it as they call runc." \
		> $(DEB_ROOT)/DEBIAN/control
	dpkg-deb -Z$(DEB_COMPRESS) --root-owner-group --build $(DEB_ROOT) $(DEB)
	@echo "make: built $(DEB)"

size: build
	@stat -c '%s bytes  $(HULL_RELEASE)' $(HULL_RELEASE)

clean:
	$(CARGO) clean
	rm -rf $(ROOTFS)

# The kernel of the VM world (tests/common/vm.rs): Debian's linux-image package, downloaded and
# extracted into $(VM_CACHE), never installed on this host (no initramfs or bootloader hooks),
# with its uncompressed ELF (PVH entry) beside vmlinuz.
VM_CACHE := /var/cache/hull-tests/vm
vm-kernel:
	@if ! ls $(VM_CACHE)/kernel/boot/vmlinux >/dev/null 2>&1; then \
		echo "make: fetching Debian's linux-image-amd64 for the VM world (tests/vm_suites.rs)"; \
		mkdir -p $(VM_CACHE) && cd $(VM_CACHE) && rm -rf kernel *.deb && \
		pkg=$$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1); \
		if [ -z "$$pkg" ]; then apt-get update -qq && \
			pkg=$$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1); fi; \
		[ -n "$$pkg" ] && \
		apt-get download -q $$pkg 2>/dev/null && dpkg-deb -x $${pkg}_*.deb kernel && rm -f *.deb && \
		z=kernel/boot/vmlinuz-*; \
		off=$$(od -An -v -tx1 $$z | tr -d ' \n' | grep -ob fd377a585a00 | head -n 1 | cut -d: -f1); \
		tail -c +$$((off / 2 + 1)) $$z | xz -dc >kernel/boot/vmlinux 2>/dev/null; \
		head -c 4 kernel/boot/vmlinux | grep -q ELF || rm -f kernel/boot/vmlinux; \
	fi
