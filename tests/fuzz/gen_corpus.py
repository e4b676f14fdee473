# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Write the seed corpora of tests/fuzz/ (run from the repository root).

  corpus/fuzz_pyline/   real line tables from tests/unit/fixtures/pyline-*.txt,
                        in the harness's format: format byte (enum
                        pmw_linetable - 1), offset u32 LE,
                        firstlineno u32 LE, table bytes
  corpus/fuzz_version/  version strings, PID lists, seconds, symbol names
  corpus/fuzz_csv/      hostile CSV fields
The ELF seeds are built by `make fuzz` (cc -nostdlib), not committed.
"""
import glob
import hashlib
import os
import struct

ROOT = os.path.join("tests", "fuzz", "corpus")


def put(harness, data):
    d = os.path.join(ROOT, harness)
    os.makedirs(d, exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


for path in sorted(glob.glob("tests/unit/fixtures/pyline-*.txt")):
    minor, taken = None, 0
    for line in open(path):
        f = line.split()
        if f and f[0] == "V":
            minor = int(f[1])
            # user/pyver.c's line_table: lnotab <= 3.9, PEP 626 3.10, PEP 657 3.11+
            fmt = 0 if minor <= 9 else 1 if minor == 10 else 2
        elif f and f[0] == "C" and taken < 4:
            first, ncode, table = int(f[2]), int(f[3]), f[4]
            table = b"" if table == "-" else bytes.fromhex(table)
            if len(table) > 200:
                continue
            for off in (0, ncode // 2 & ~1, max(ncode - 2, 0)):
                put("fuzz_pyline",
                    bytes([fmt]) + struct.pack("<Ii", off, first) + table)
            taken += 1

for s in [b"3.11.2", b"3.12", b"libpython3.12.so.1.0", b"python3.13d", b"python3",
          b"1234", b"1,2,3", b"1,1", b"2147483647", b"2147483648", b"1,", b"0.5",
          b"86400", b"1e3", b"nan", b"-1", b"gc_collect_main.lto_priv.0.cold",
          b"collect.constprop.1\0collect", b"_PyObject_Malloc.part.0\0_PyObject_Malloc",
          b"x.cold.1\0x", b".cold", b"a..b"]:
    put("fuzz_version", s)

for s in [b"python3.11", b"=1+2", b"+x", b"-x", b"@x", b"a,=b", b'say "hi"',
          b"two\nlines", b"cr\r", b"\xff\xfe\xc3", b'=HYPERLINK("http://x","y")',
          b'-"a,b"\r\n', b""]:
    put("fuzz_csv", s)
