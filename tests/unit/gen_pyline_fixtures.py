# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Generate tests/unit/fixtures/pyline-<version>.txt for tests/unit/test_pyline.c.

Run from the repository root with every interpreter at hand (Python 3.8+):

  for py in /root/.pyenv/versions/3.8.18/bin/python3.8 \\
            /root/.pyenv/versions/3.9.18/bin/python3.9 \\
            /root/.pyenv/versions/3.10.13/bin/python3.10 \\
            /root/.pyenv/versions/3.11.7/bin/python3.11 \\
            /root/.pyenv/versions/3.12.1/bin/python3.12 \\
            /root/.pyenv/versions/3.13.0/bin/python3.13 \\
            /usr/bin/python3.11; do $py tests/unit/gen_pyline_fixtures.py; done

and, for the versions living in a Debian root (scripts/make-roots.sh sid):

  R=/var/cache/pymemwatch/roots/sid; mkdir -p $R/tmp/g/fixtures
  cp tests/unit/gen_pyline_fixtures.py $R/tmp/g/
  for v in 3.14 3.15; do chroot $R /usr/bin/python$v /tmp/g/gen_pyline_fixtures.py; done
  cp $R/tmp/g/fixtures/*.txt tests/unit/fixtures/

test_pyline.c fails when a version of user/pyver.c's table has no fixture.

It compiles a fixed set of source snippets, walks every code object and
writes, for each, the raw line table and the line the interpreter itself
gives every byte offset of the bytecode:
  <=3.9  dis.findlinestarts() (line of the last start <= offset), checked
         against a re-implementation of PyCode_Addr2Line on co_lnotab;
  3.10+  co.co_lines() (line None -> no line), checked to cover the whole
         bytecode and, 3.11+, against co.co_positions() per code unit.
It also runs one snippet and checks frame.f_lineno of live frames (computed
by the interpreter from f_lasti) against the same expectations.

File format (one record a line, fields separated by single spaces):
  # comment
  V <minor> <version>
  C <name> <co_firstlineno> <len(co_code)> <table hex, or - if empty>
  L <start> <line> [<start> <line>...]   runs: <line> from byte <start> to
                                         the next start (or len(co_code));
                                         line -1 = no line (-ENOENT)
"""
import dis
import os
import sys
import textwrap
import types

MINOR = sys.version_info[1]
VERSION = "%d.%d.%d" % sys.version_info[:3]


def long_function():
    """> 300 lines, gaps of 150 and 2100 lines, a 70-line expression and a
    200-column line: deltas beyond +-127 (lnotab/3.10 carry pairs), 3.11+
    long-form entries with multi-chunk varints in every field."""
    out = ["def long_func(x, items):", "    total = 0"]
    for i in range(320):
        if i == 40:
            out.extend([""] * 150)
        if i == 90:
            out.extend(["    # gap"] * 2100)
        if i == 120:
            out.append("    total = (x +")
            out.extend(["        %d +" % k for k in range(70)])
            out.append("        1)")
        if i == 200:
            out.append("    y = " + " + ".join("x * %d" % k for k in range(30))
                       + " + len(items)")
        if i % 50 == 25:
            out.append("    for it in items:")
            out.append("        total += it")
            out.append("        if total > 100:")
            out.append("            break")
        else:
            out.append("    total = total + x + %d" % i)
    out.append("    return total")
    return "\n".join(out) + "\n"


SNIPPETS = [
    (8, "loops", """
def loops(n):
    s = 0
    for i in range(n):
        if i % 3:
            continue
        s += i
    while n > 0:
        n -= 1
        if n == 5:
            break
    else:
        s = -1
    return s
"""),
    (8, "multiline", """
def multiline(a, b,
              c=3):
    x = (a +
         b *
         c)
    y = call_me(
        a,
        b,
    )[
        0
    ]
    return {
        'x': x,
        'y': y, 'z': [a,
                      b]}

def call_me(*args):
    return list(args)
"""),
    (8, "decorators", """
import functools

def deco(f):
    @functools.wraps(f)
    def wrapper(*a, **k):
        return f(*a, **k)
    return wrapper

@deco
@deco
def decorated(x):
    return x + 1

class K:
    @property
    def p(self):
        return 1

    @staticmethod
    def s(
        a,
    ):
        return a
"""),
    (8, "comprehensions", """
def comps(xs):
    a = [x * 2 for x in xs if x]
    b = {x: y
         for x in xs
         for y in range(x)}
    c = {x for x in xs}
    d = (x
         for x in xs)
    e = [[y for y in range(x)] for x in xs]
    return a, b, c, list(d), e
"""),
    (8, "exceptions", """
def exc(x):
    try:
        y = 1 / x
    except ZeroDivisionError as e:
        y = 0
    except (TypeError,
            ValueError):
        raise
    else:
        y += 1
    finally:
        x = None
    try:
        pass
    finally:
        pass
    with open(__file__) as f, \\
            open(__file__) as g:
        z = f.read(1) + g.read(1)
    return y
"""),
    (8, "lambdas_nested", """
f = lambda x: x + 1
g = lambda x, y=(lambda: 2)(): (
    x +
    y)

def outer(a):
    def middle(b):
        def inner(c):
            return a + b + c
        return inner
    return middle(a)(a)

def gen(n):
    for i in range(n):
        yield i
    yield from range(n)
"""),
    (8, "async", """
import asyncio

async def fetch(x):
    await asyncio.sleep(0)
    async with lock() as l:
        pass
    async for v in aiter_(x):
        yield v

async def main():
    r = [v async for v in fetch(3)]
    return await asyncio.gather(
        fetch(1),
        fetch(2))
"""),
    (8, "fstrings", """
def fs(name, width):
    a = f"hello {name!r:>{width}} {width * 2}"
    b = (f"multi "
         f"{name}"
         f"{ {'k': width}['k'] }")
    return a + b
"""),
    (8, "bigjump", "def bigjump(x):\n    a = 1\n" + "\n" * 400 + "    b = 2\n"
     + "\n" * 5000 + "    return a + b\n"),
    (8, "module_level", """
X = 1
if X:
    Y = 2
else:
    Y = 3
for _i in range(2):
    X += _i
del _i
"""),
    (8, "empty", "\n\n\ndef empty():\n    pass\n\ndef doc():\n    'doc'\n"),
    (8, "long", long_function()),
    (10, "match", """
def m(cmd):
    match cmd:
        case [x, y]:
            return x
        case {"k": v}:
            return v
        case str() | bytes():
            return 0
        case _:
            return None
"""),
    (11, "except_star", """
def es():
    try:
        raise ExceptionGroup("g", [ValueError(1)])
    except* ValueError as e:
        r = e
    except* TypeError:
        pass
    return r
"""),
    (12, "type_params", """
type Alias[T] = list[T]

def tp[T](x: T) -> T:
    return x

class C[T]:
    def m(self) -> T:
        return self
"""),
]

# Executed: every probe() records its caller's f_lasti and f_lineno.
RUNTIME = """
def probe():
    f = sys._getframe(1)
    PROBES.append((f.f_code, f.f_lasti, f.f_lineno))
    return 1

def work(n):
    t = 0
    for i in range(n):
        t += probe()
        if i % 2:
            t += (probe() +
                  probe())
    try:
        1 / 0
    except ZeroDivisionError:
        probe()
    finally:
        probe()
    xs = [probe() for _ in range(2)]
    def inner():
        return probe()
    return t + inner() + sum(xs) + (lambda: probe())()

probe()
work(3)
""" + "\n" * 300 + "probe()\n"


def all_codes(co):
    yield co
    for c in co.co_consts:
        if isinstance(c, types.CodeType):
            for x in all_codes(c):
                yield x


def lnotab_addr2line(co, offset):
    """PyCode_Addr2Line of 3.8/3.9."""
    tab = co.co_lnotab
    line, addr = co.co_firstlineno, 0
    for i in range(0, len(tab) - 1, 2):
        addr += tab[i]
        if addr > offset:
            break
        d = tab[i + 1]
        line += d - 256 if d >= 128 else d
    return line


def expected(co):
    """Line (None = no line) of every byte offset of co's bytecode."""
    n = len(co.co_code)
    lines = [None] * n
    if MINOR <= 9:
        starts = list(dis.findlinestarts(co))
        assert starts and starts[0][0] == 0, (co, starts)
        k = 0
        for off in range(n):
            while k + 1 < len(starts) and starts[k + 1][0] <= off:
                k += 1
            lines[off] = starts[k][1]
            assert lines[off] == lnotab_addr2line(co, off), (co, off)
        return lines
    seen = [False] * n
    for start, end, line in co.co_lines():
        assert 0 <= start <= end <= n, (co, start, end, n)
        for off in range(start, end):
            assert not seen[off], (co, off)
            seen[off] = True
            lines[off] = line
    assert all(seen), (co, "co_lines does not cover the bytecode")
    if MINOR >= 11:
        for i, pos in enumerate(co.co_positions()):
            assert pos[0] == lines[2 * i] == lines[2 * i + 1], \
                (co, 2 * i, pos, lines[2 * i])
    return lines


def table(co):
    return co.co_lnotab if MINOR <= 9 else co.co_linetable


def emit(out, name, co, lines):
    tab = table(co)
    name = co.co_name.replace(" ", "_")
    out.append("C %s %d %d %s" % (name, co.co_firstlineno, len(co.co_code),
                                  tab.hex() if tab else "-"))
    runs = []
    prev = object()
    for off, line in enumerate(lines):
        if line != prev:
            runs.append("%d %d" % (off, -1 if line is None else line))
            prev = line
    out.append("L " + " ".join(runs))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "fixtures", "pyline-%s.txt" % VERSION)
    out = ["# pyline fixtures from %s (%s), by tests/unit/gen_pyline_fixtures.py"
           % (VERSION, sys.executable),
           "V %d %s" % (MINOR, VERSION)]
    ncodes = noffsets = 0
    exp = {}
    sources = [(n, s) for (m, n, s) in SNIPPETS if MINOR >= m]
    sources.append(("runtime", RUNTIME))
    for name, src in sources:
        top = compile(textwrap.dedent(src), "<%s>" % name, "exec")
        for co in all_codes(top):
            lines = expected(co)
            exp[co] = lines
            emit(out, name, co, lines)
            ncodes += 1
            noffsets += len(lines)
            if name == "runtime" and co is top:
                runtime_top = co

    # live frames: the interpreter's own f_lineno for f_lasti
    probes = []
    exec(runtime_top, {"sys": sys, "PROBES": probes})
    for co, lasti, lineno in probes:
        got = exp[co][lasti]
        assert got == lineno, (co, lasti, lineno, got)

    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    sys.stderr.write("%s: %d code objects, %d offsets, %d live frames ok -> %s\n"
                     % (VERSION, ncodes, noffsets, len(probes),
                        os.path.relpath(path)))


if __name__ == "__main__":
    main()
