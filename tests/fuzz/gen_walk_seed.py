#!/usr/bin/env python3
"""Seeds for tests/fuzz/fuzz_walk.c: one 16 KiB pymalloc pool (3.12 layout)
followed by its type objects, names and item arrays.

The pool (size class 64 B) holds: two plain objects (`float`), a list
(PyGC_Head + PyListObject) of 8 items whose item array follows the pool
(one item a 600-byte `bytes` outside the pool), a
3.12 managed-dict instance (pre-header + PyGC_Head), a tuple of two items,
one free block on the pool's free list, and never-carved space. The types
(`type` itself, `list`, `tuple`, `Thing`) and their names follow. The last
byte selects the pyver row (3.12: index 4 of 3.8-3.15).

usage: gen_walk_seed.py OUTDIR
"""
import os
import struct
import sys

BASE = 0x100000                # FUZZ_BASE in fuzz_mem.h
POOL = 16384
BLOCK = 64
ROW_312 = 4

HAVE_GC, READY, HEAPTYPE = 1 << 14, 1 << 12, 1 << 9
LIST_SUB, TUPLE_SUB, TYPE_SUB = 1 << 25, 1 << 26, 1 << 31
MANAGED_DICT = 1 << 4


def u64(*v):
    return struct.pack("<%dQ" % len(v), *v)


def main(outdir):
    mem = bytearray(POOL + 4096)
    tail = POOL                              # types, names, arrays after the pool
    addr = lambda off: BASE + off

    def type_obj(off, meta, name_off, basic, item, flags):
        t = bytearray(264)
        t[0:8] = u64(1)                      # ob_refcnt
        t[8:16] = u64(meta)                  # ob_type
        t[24:40] = u64(addr(name_off), basic)
        t[40:48] = u64(item)
        t[168:176] = u64(flags)
        mem[off:off + 264] = t

    names = {"type": tail + 1400, "list": tail + 1420, "tuple": tail + 1440, "Thing": tail + 1460}
    for n, off in names.items():
        mem[off:off + len(n) + 1] = n.encode() + b"\0"
    t_type, t_list, t_tuple, t_thing = tail, tail + 272, tail + 544, tail + 816
    type_obj(t_type, addr(t_type), names["type"], 920, 40, READY | TYPE_SUB | HAVE_GC)
    type_obj(t_list, addr(t_type), names["list"], 40, 0, READY | LIST_SUB | HAVE_GC)
    type_obj(t_tuple, addr(t_type), names["tuple"], 24, 8, READY | TUPLE_SUB | HAVE_GC)
    type_obj(t_thing, addr(t_type), names["Thing"], 16, 0, READY | HEAPTYPE | HAVE_GC | MANAGED_DICT)
    t_plain = tail + 1088                    # a non-GC static type for plain objects
    names["float"] = tail + 1480
    mem[names["float"]:names["float"] + 6] = b"float\0"
    type_obj(t_plain, addr(t_type), names["float"], 24, 0, READY)
    items = tail + 1600                      # the list's item array

    blocks = 7                               # carved: 7 blocks, block 5 free
    hdr = struct.pack("<IIQQQIIII", 6, 0, addr(48 + 5 * BLOCK), 0, 0, 0, (BLOCK // 16) - 1,
                      48 + blocks * BLOCK, POOL - BLOCK)
    mem[0:len(hdr)] = hdr
    b = lambda i: 48 + i * BLOCK
    mem[b(0):b(0) + 24] = u64(1, addr(t_plain), 0)                  # float
    mem[b(1):b(1) + 24] = u64(3, addr(t_plain), 0)                  # float
    lst = b(2) + 16                                                 # list after PyGC_Head
    mem[b(2):b(2) + 16] = u64(0, 0)
    big = tail + 2000                        # a bytes object over 512 B (libc heap)
    names["bytes"] = tail + 1500
    mem[names["bytes"]:names["bytes"] + 6] = b"bytes\0"
    t_bytes = tail + 2200
    type_obj(t_bytes, addr(t_type), names["bytes"], 33, 1, READY | (1 << 27))
    mem[big:big + 24] = u64(1, addr(t_bytes), 600)
    mem[lst:lst + 40] = u64(1, addr(t_list), 8, addr(items), 8)
    mem[items:items + 64] = u64(addr(b(0)), addr(b(1)), addr(b(3) + 32), addr(big),
                                addr(b(0)), addr(b(1)), addr(big), addr(b(6)))
    mem[b(3) + 32:b(3) + 48] = u64(1, addr(t_thing))                # Thing at +32
    tup = b(4) + 16
    mem[tup:tup + 40] = u64(1, addr(t_tuple), 2, addr(b(0)), addr(b(3) + 32))
    mem[b(5):b(5) + 8] = u64(0)                                     # free: end of list
    mem[b(6):b(6) + 16] = u64(2, addr(t_plain))
    mem.append(ROW_312)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "seed-pool-312"), "wb") as f:
        f.write(bytes(mem))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_walk")
