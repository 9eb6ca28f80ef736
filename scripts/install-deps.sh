#!/bin/sh
# Installs the Debian packages PicoFlow's build and tests need, when missing.
# Non-interactive; waits for a dpkg lock held by another process instead of
# failing; does nothing when everything is present.
#   PICOFLOW_SKIP_DEPS=1   skip entirely (you manage packages yourself)
#   usage: install-deps.sh [bench|fuzz|valgrind|vm|cover]   (also what those make targets need)
set -eu

PKGS="make gcc pkg-config libc6-dev
libyaml-dev libsqlite3-dev sqlite3 libev-dev
libssh2-1-dev libcurl4-openssl-dev libseccomp-dev
libcriterion-dev tzdata procps faketime
openssh-server openssh-client openssl"
[ "${1:-}" = bench ] && PKGS="$PKGS ninja-build binutils python3"
[ "${1:-}" = fuzz ] && PKGS="$PKGS clang"
[ "${1:-}" = valgrind ] && PKGS="$PKGS valgrind"
[ "${1:-}" = vm ] && PKGS="$PKGS qemu-system-x86 busybox-static cpio"
[ "${1:-}" = cover ] && PKGS="$PKGS gcovr"

[ "${PICOFLOW_SKIP_DEPS:-0}" = 1 ] && exit 0

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: not a Debian system; install these yourself:" >&2
	echo "  $(echo $PKGS)" >&2
	exit 0
fi

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-deps: need root to install:$missing" >&2
		echo "  run: apt-get install$missing" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
APT="$SUDO apt-get -q -y -o DPkg::Lock::Timeout=600"
# A fresh machine has no package lists yet; an old list may name versions
# the mirror no longer has.  Try as-is first, refresh once on failure.
# shellcheck disable=SC2086
if ! $APT install --no-install-recommends $missing; then
	$APT update
	$APT install --no-install-recommends $missing
fi
