# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Write seeds for tests/fuzz/fuzz_holders.c (run from the repository root).

Each seed is a small CPython 3.11 or 3.13 heap in the harness's format: a sys.modules dict
{"app": <module app>} whose globals are {"ITEMS": [str, str], "REG": <instance of Registry>
with a "points" attribute list, "Registry": <class>}; the three containers asked for are
app.ITEMS, app.REG.points (3.11: through a materialized __dict__) and the module dict.
Layouts are those of user/pyver.c (rows 3.11 and 3.13).
"""
import hashlib
import os
import struct

BASE = 0x100000
OUT = os.path.join("tests", "fuzz", "corpus", "fuzz_holders")
TP_FLAGS_TYPE_SUBCLASS = 1 << 31
HEAPTYPE = 1 << 9


class Heap(object):
    def __init__(self, minor):
        self.minor = minor
        self.buf = bytearray(16)            # header, filled in at the end
        self.ascii_data = 48 if minor <= 11 else 40

    def alloc(self, size):
        off = (len(self.buf) + 15) & ~15
        self.buf += bytes(off - len(self.buf) + size)
        return BASE + off

    def put(self, addr, fmt, *vals):
        struct.pack_into(fmt, self.buf, addr - BASE, *vals)

    def type_(self, name, meta=None, flags=0, basicsize=16, itemsize=0, base=0):
        a = self.alloc(900)                 # room for a heap type's fields
        nm = self.cstr(name)
        self.put(a + 8, "<Q", meta or a)    # ob_type
        self.put(a + 24, "<Q", nm)          # tp_name
        self.put(a + 32, "<qq", basicsize, itemsize)
        self.put(a + 168, "<Q", flags)      # tp_flags
        self.put(a + 256, "<Q", base)       # tp_base
        return a

    def cstr(self, s):
        a = self.alloc(len(s) + 1)
        self.buf[a - BASE:a - BASE + len(s)] = s.encode()
        return a

    def str_(self, t, s):
        a = self.alloc(self.ascii_data + len(s) + 1)
        self.put(a, "<qQq", 1, t, len(s))  # refcnt, type, length
        self.put(a + 24, "<q", -1)          # hash
        self.put(a + 32, "<I", 0x64)        # state: ascii, compact, kind 1
        self.buf[a - BASE + self.ascii_data:a - BASE + self.ascii_data + len(s)] = s.encode()
        return a

    def dict_(self, t, items):
        """combined table with unicode keys (3.11+ layout)"""
        keys = self.alloc(32 + 8 + 16 * 8)
        self.put(keys, "<q", 1)
        self.put(keys + 8, "<BBB", 3, 3, 1)        # log2 size 8, 8 index bytes, unicode
        self.put(keys + 16, "<qq", 5 - len(items), len(items))
        for i, (k, v) in enumerate(items):
            self.buf[keys - BASE + 32 + i] = i
            self.put(keys + 40 + 16 * i, "<QQ", k, v)
        d = self.alloc(48)
        self.put(d, "<qQq", 1, t, len(items))
        self.put(d + 32, "<QQ", keys, 0)
        return d

    def list_(self, t, items):
        arr = self.alloc(8 * max(1, len(items)))
        for i, v in enumerate(items):
            self.put(arr + 8 * i, "<Q", v)
        a = self.alloc(40)
        self.put(a, "<qQqQq", 1, t, len(items), arr, len(items))
        return a


def build(minor):
    h = Heap(minor)
    tt = h.type_("type", flags=TP_FLAGS_TYPE_SUBCLASS, basicsize=900)
    strt = h.type_("str", tt, basicsize=h.ascii_data)
    dictt = h.type_("dict", tt, flags=1 << 29, basicsize=48)
    listt = h.type_("list", tt, flags=1 << 25, basicsize=40)
    modt = h.type_("module", tt, basicsize=72)
    objt = h.type_("object", tt)
    # class Registry: instances keep a managed dict (3.11+) at obj[-3]
    reg_t = h.type_("Registry", tt, flags=HEAPTYPE | (1 << 4) | (1 << 14), basicsize=16,
                    base=objt)
    h.put(reg_t + 264, "<Q", h.dict_(dictt, []))    # tp_dict
    points = h.list_(listt, [h.str_(strt, "p%d" % i) for i in range(3)])
    inst_dict = h.dict_(dictt, [(h.str_(strt, "points"), points)])
    pre = h.alloc(48)                       # pre-header, GC head, object
    inst = pre + 32
    h.put(inst - 24, "<Q", inst_dict)       # managed dict pointer, obj[-3]
    h.put(inst, "<qQ", 1, reg_t)
    items = h.list_(listt, [h.str_(strt, "a"), h.str_(strt, "b")])
    md = h.dict_(dictt, [(h.str_(strt, "ITEMS"), items), (h.str_(strt, "REG"), inst),
                         (h.str_(strt, "Registry"), reg_t)])
    name = h.str_(strt, "app")
    mod = h.alloc(80)
    h.put(mod, "<qQQ", 1, modt, md)
    h.put(mod + 48, "<Q", name)             # md_name (3.8-3.14)
    modules = h.dict_(dictt, [(name, mod)])
    slot = h.alloc(8)
    h.put(slot, "<Q", modules)
    row = {11: 3, 13: 5}[minor]             # user/pyver.c: 3.8 is row 0
    h.buf[0] = row
    h.put(BASE + 1, "<HHHH", slot - BASE, items - BASE, points - BASE, md - BASE)
    if len(h.buf) > 65535:
        raise SystemExit("seed larger than the harness's 16-bit offsets")
    return bytes(h.buf)


def main():
    os.makedirs(OUT, exist_ok=True)
    for minor in (11, 13):
        data = build(minor)
        name = "seed-%d-" % minor + hashlib.sha1(data).hexdigest()[:12]
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(name, len(data))


if __name__ == "__main__":
    main()
