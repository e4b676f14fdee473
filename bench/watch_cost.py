"""What one hit of a hardware write watchpoint costs the writer (scripts/bench.py, leaking table).

usage: python3 bench/watch_cost.py [APPENDS] [ROUNDS]

Times APPENDS list.append() calls (the growth that growth sites watch: a
list's ob_size, at offset 16 of the object in default builds) with and
without a write breakpoint on that field (perf_event_open: PERF_TYPE_BREAKPOINT,
HW_BREAKPOINT_W, 8 bytes, this thread, sample_period 1 but no ring buffer),
alternating, ROUNDS times each. Prints one line:
  watch-cost us_per_hit=X hits=N plain_s=A watched_s=B rounds=R
(medians over rounds; X = (B - A) / hits per round), or
  watch-cost unavailable: REASON
when the breakpoint cannot be opened (not root and perf_event_paranoid > 1;
all debug registers taken: ENOSPC/EBUSY). This is the trap and the perf
event's own handling: the BPF program pymemwatch runs on each hit comes on
top (bench.py adds its ns/run from --bpf-stats). Standard library only.
"""

import ctypes
import os
import statistics
import struct
import sys
import time

PERF_TYPE_BREAKPOINT = 5
HW_BREAKPOINT_W = 2
NR_PERF_EVENT_OPEN = {"x86_64": 298, "aarch64": 241}
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
ATTR_SIZE = 128


def open_watch(libc, addr):
    """A disabled write breakpoint on 8 bytes at addr in this thread; its fd, or raises OSError."""
    nr = NR_PERF_EVENT_OPEN.get(os.uname().machine)
    if nr is None:
        raise OSError(0, "no perf_event_open number for %s" % os.uname().machine)
    attr = bytearray(ATTR_SIZE)
    # type, size, config, sample_period, sample_type, read_format, flags (bit 0: disabled),
    # wakeup_events, bp_type, bp_addr, bp_len
    struct.pack_into("IIQQQQQIIQQ", attr, 0, PERF_TYPE_BREAKPOINT, ATTR_SIZE, 0, 1, 0, 0, 1, 0,
                     HW_BREAKPOINT_W, addr, 8)
    buf = ctypes.create_string_buffer(bytes(attr), ATTR_SIZE)
    fd = libc.syscall(nr, buf, 0, -1, -1, 0)
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return fd


def appends(n):
    """Seconds to append n items to a fresh list, and the list (kept alive by the caller)."""
    lst = []
    add = lst.append
    t0 = time.perf_counter()
    for i in range(n):
        add(i)
    return time.perf_counter() - t0, lst


def watched(libc, n):
    """(seconds, hits) of n appends with a write breakpoint on the list's ob_size."""
    lst = []
    add = lst.append
    fd = open_watch(libc, id(lst) + 16)
    try:
        libc.ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)
        t0 = time.perf_counter()
        for i in range(n):
            add(i)
        dt = time.perf_counter() - t0
        libc.ioctl(fd, PERF_EVENT_IOC_DISABLE, 0)
        hits = struct.unpack("Q", os.read(fd, 8))[0]
    finally:
        os.close(fd)
    return dt, hits


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    appends(n)  # warm up
    plain, on, hits, per = [], [], [], []
    try:
        for _ in range(rounds):
            a = appends(n)[0]
            b, h = watched(libc, n)
            plain.append(a)
            on.append(b)
            hits.append(h)
            if h:
                per.append((b - a) / h * 1e6)
    except OSError as e:
        print("watch-cost unavailable: %s" % (e.strerror or e))
        return 0
    if not per:
        print("watch-cost unavailable: the breakpoint never fired (%d appends)" % n)
        return 0
    print("watch-cost us_per_hit=%.3f hits=%d plain_s=%.6f watched_s=%.6f rounds=%d" %
          (statistics.median(per), statistics.median(hits), statistics.median(plain), statistics.median(on),
           rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
