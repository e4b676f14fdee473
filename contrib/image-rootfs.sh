#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# image-rootfs.sh ROOTFS - lay out the final container image's files under ROOTFS from
# ./pymemwatch-static (make static): the binary, an empty /tmp (--report's temporary JSON
# Lines), mount points for what the DaemonSet binds from the host, and the terminfo
# entries of the common terminals (the live view under `kubectl exec -it ... pymemwatch -p`).
# Run by contrib/Dockerfile's builder stage, and by tests/integration/test_contrib.py
# against a temporary ROOTFS to list the image's files without Docker.
set -eu
ROOTFS=${1:?usage: $0 ROOTFS}
[ -x pymemwatch-static ] || {
	echo "$0: ./pymemwatch-static is missing: run 'make static' first" >&2
	exit 1
}
if readelf -l pymemwatch-static | grep -q 'INTERP'; then
	echo "$0: ./pymemwatch-static is dynamically linked" >&2
	exit 1
fi
rm -rf "$ROOTFS"
install -D -m 0755 pymemwatch-static "$ROOTFS/usr/bin/pymemwatch"
install -d -m 1777 "$ROOTFS/tmp"
install -d -m 0755 "$ROOTFS/usr/lib/debug" "$ROOTFS/proc" "$ROOTFS/sys"
for t in d/dumb l/linux v/vt100 v/vt220 x/xterm x/xterm-256color s/screen s/screen-256color t/tmux t/tmux-256color; do
	for d in /lib/terminfo /usr/share/terminfo; do
		if [ -f "$d/$t" ]; then
			install -D -m 0644 "$d/$t" "$ROOTFS/usr/share/terminfo/$t"
			break
		fi
	done
done
[ -f "$ROOTFS/usr/share/terminfo/x/xterm" ] || {
	echo "$0: no terminfo entry for xterm (Debian: ncurses-base)" >&2
	exit 1
}
