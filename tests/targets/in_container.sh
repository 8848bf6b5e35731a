#!/bin/sh
# Run a command inside a Debian root the way a container runtime does: its
# own mount and PID namespace (the command is PID 1 there), pivot_root into
# the root, a /proc of its own.  For tests/test_container.py.
#   CT_ROOT=DIR CT_PROGRAM=/usr/bin/python3.13 [CT_BINDS=D1:D2] [CT_NODEBUG=1]
#   [CT_COPY=1] in_container.sh ARGS...
# runs CT_PROGRAM ARGS in the root DIR.  CT_BINDS: host directories made
# visible inside under /mnt, same path; absolute arguments and the working
# directory under them are rewritten to match.  CT_NODEBUG=1 hides the
# root's /usr/lib/debug.  CT_COPY=1 runs a copy of the program from a tmpfs
# (so a test can delete it: "(deleted)" in the maps); CT_COPY=strip makes
# that copy with `objcopy --strip-all`, less its build-id and debuglink (no
# DWARF, no .symtab, nothing a debug file is found by).
set -e
if [ -z "$CT_STAGE" ]; then
	CT_STAGE=1 exec unshare --mount --pid --fork --kill-child "$0" "$@"
fi
ROOT=$CT_ROOT BINDS=$CT_BINDS NODEBUG=$CT_NODEBUG COPY=$CT_COPY PROGRAM=$CT_PROGRAM
mount --make-rprivate /
mount --bind "$ROOT" "$ROOT"
mount -t proc proc "$ROOT/proc"
mount -t tmpfs tmpfs "$ROOT/mnt"
mount -t tmpfs tmpfs "$ROOT/tmp"
[ "$NODEBUG" = 1 ] && mount -t tmpfs tmpfs "$ROOT/usr/lib/debug"
under() {  # $1 rewritten if it lies under a bound directory
	old_ifs=$IFS IFS=:
	for d in $BINDS; do
		case "$1" in "$d"|"$d"/*) IFS=$old_ifs; echo "/mnt$1"; return ;; esac
	done
	IFS=$old_ifs
	echo "$1"
}
old_ifs=$IFS IFS=:
for d in $BINDS; do
	mkdir -p "$ROOT/mnt$d"
	mount --bind "$d" "$ROOT/mnt$d"
done
IFS=$old_ifs
if [ "$COPY" = 1 ]; then
	cp "$ROOT$PROGRAM" "$ROOT/mnt/$(basename "$PROGRAM")"
	PROGRAM=/mnt/$(basename "$PROGRAM")
elif [ "$COPY" = strip ]; then
	objcopy --strip-all --remove-section .note.gnu.build-id --remove-section .gnu_debuglink \
		"$ROOT$PROGRAM" "$ROOT/mnt/$(basename "$PROGRAM")"
	PROGRAM=/mnt/$(basename "$PROGRAM")
fi
n=$#
while [ $n -gt 0 ]; do
	a=$1
	shift
	set -- "$@" "$(under "$a")"
	n=$((n - 1))
done
WD=$(under "$PWD")
cd "$ROOT"
pivot_root . .
umount -l .
cd "$WD"
exec "$PROGRAM" "$@"
