# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Holder-path target: grows holder_shapes' containers, prints one line per container
("SHAPE <id> <len> <retained> <kind> <expected path>"; retained by sys.getsizeof, the
locals of running functions among them), one "ORPHAN <id> <len> <retained>" line for a list only
the value stack of a suspended generator holds (no path names a stack entry), then "READY";
then it runs the commands read from stdin ("move", "churn"; see main) until EOF.

Usage: holder_run.py [N] [many] [more]   (N items per container, default 300; "many": import
~150 standard-library modules first, so that the search has a realistic haystack; "more":
shapes tested on 3.11 and 3.13 only, see more_shapes)
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import holder_shapes  # noqa: E402
# an alias in __main__: the path must still name the module that defines SESSIONS
from holder_shapes import SESSIONS  # noqa: E402,F401


def block(size):
    """bytes of one item as pymemwatch counts it: a 16-byte pymalloc size class up to 512 B"""
    return size if size > 512 else (size + 15) & ~15


def _refs_when_alone():
    """sys.getrefcount() of an object only a container holds, seen from the loops of
    retained() (the loop variable and the argument count; 3.14 borrows some of them)"""
    seq, d = [object()], {object(): object()}
    for x in list(seq):
        n_seq = sys.getrefcount(x)
    for k in list(d):
        n_key = sys.getrefcount(k)
        v = d[k]
        n_val = sys.getrefcount(v)
    return n_seq, n_key, n_val


def retained(obj):
    """what would be freed if the container let go: the container and those of its
    items (dict: keys and values) only it holds, by sys.getsizeof (shared ones, such as
    small ints and interned strings, are not); for holder_shapes.USERS also what its
    items alone keep alive"""
    n_seq, n_key, n_val = _refs_when_alone()
    items = 0
    if isinstance(obj, dict):
        for k in list(obj):
            if sys.getrefcount(k) <= n_key:
                items += block(sys.getsizeof(k))
            v = obj[k]
            if sys.getrefcount(v) <= n_val:
                items += block(sys.getsizeof(v))
    else:
        for x in list(obj):
            if sys.getrefcount(x) <= n_seq:
                items += block(sys.getsizeof(x))
    if obj is holder_shapes.USERS:
        items += holder_shapes.users_owned(block)
    return sys.getsizeof(obj) + items


STDLIB = """argparse ast asyncio base64 bisect bz2 calendar cmd code codecs collections.abc
colorsys concurrent.futures configparser contextlib copy csv ctypes dataclasses datetime decimal
difflib dis email.mime.multipart email.parser enum filecmp fnmatch fractions ftplib getopt gettext
glob gzip hashlib heapq hmac html.parser http.client http.cookiejar http.server imaplib inspect
ipaddress json logging.handlers lzma mailbox mimetypes multiprocessing netrc numbers operator
optparse pathlib pickle pkgutil platform plistlib poplib pprint profile pstats queue quopri random
re secrets selectors shelve shlex shutil smtplib socket socketserver sqlite3 ssl statistics string
stringprep struct subprocess tarfile tempfile textwrap threading timeit tokenize tomllib trace
traceback typing unittest urllib.request uuid wave weakref xml.dom.minidom xml.etree.ElementTree
xml.sax xmlrpc.client zipfile zoneinfo""".split()


def worker(n, out, stop):
    """a thread whose running frame holds a list in a local"""
    seen = [i for i in range(n)]
    out.append(("__main__.worker.<locals>.seen", "frame_local", seen))
    stop.wait()


def hide(n, info):
    """a list on the value stack of the suspended generator, in no local or cell"""
    def make():
        hidden = [object() for _ in range(n)]
        info.extend((id(hidden), len(hidden), retained(hidden)))
        return hidden
    yield [make(), (yield)]


def accumulate():
    acc = []
    item = yield acc        # its id for the ground truth (gi_frame.f_locals would add a dict)
    while True:
        acc.append(item)
        item = yield len(acc)


PARENTS = []    # (id, id of the dict holding it): "PARENT" lines, the walk's parent of a container


def tls_worker(n, out, stop):
    """a thread that keeps a list in a threading.local's attribute"""
    TLS.items = [str(i) for i in range(n)]
    out.append(TLS.items)
    stop.wait()


def more_shapes(n):
    """a local of a suspended generator kept in a global (named on 3.8-3.15), a list at a key
    of a dict of 5,000 entries (past the 256 items followed), a threading.local's attribute
    set by another thread, a list in a dict at a key of a dict of 5,000 entries (found through
    the parent the walk knows: PARENTS)"""
    global GEN, WIDE, WIDE2, TLS
    TLS, got, stop = threading.local(), [], threading.Event()
    threading.Thread(target=tls_worker, args=(n, got, stop), daemon=True).start()
    while not got:
        stop.wait(0.01)
    GEN = accumulate()
    acc = next(GEN)
    for i in range(n):
        GEN.send(str(i))
    WIDE = {"k%d" % i: i for i in range(5000)}
    WIDE["k4321"] = [str(i) for i in range(n)]
    WIDE2 = {"u%d" % i: {"history": []} for i in range(5000)}
    WIDE2["u4321"]["history"].extend(str(i) for i in range(n))
    PARENTS.append((id(WIDE2["u4321"]["history"]), id(WIDE2["u4321"])))
    return [("__main__.GEN.<locals>.acc", "frame_local", acc),
            ("__main__.WIDE['k4321']", "module_global", WIDE["k4321"]),
            ("__main__.TLS.items", "instance_attr", got.pop()),
            ("__main__.WIDE2['u4321']['history']", "module_global", WIDE2["u4321"]["history"])]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    if "many" in sys.argv[2:]:
        for name in STDLIB:
            try:
                __import__(name)
            except ImportError:     # tomllib <3.11, zoneinfo <3.9
                pass
    holder_shapes.grow(n)
    locals_ = [object() for _ in range(n)]      # a local of this running frame
    cellvar = [str(i) for i in range(n)]        # a cell: a nested function uses it

    def use():
        return cellvar
    stop, started = threading.Event(), []
    threading.Thread(target=worker, args=(n, started, stop), daemon=True).start()
    while not started:
        stop.wait(0.01)
    info = []
    gen = hide(n, info)
    next(gen)
    orphan_id, orphan_len, orphan_retained = info
    shapes = holder_shapes.shapes() + started + [
        ("__main__.main.<locals>.locals_", "frame_local", locals_),
        ("__main__.main.<locals>.cellvar", "frame_local", use())]
    if "more" in sys.argv[2:]:
        shapes += more_shapes(n)
    for path, kind, obj in shapes:
        print("SHAPE", id(obj), len(obj), retained(obj), kind, path, flush=True)
    del path, kind, obj, shapes     # no other local may hold a container
    for child, parent in PARENTS:
        print("PARENT", child, parent, flush=True)
    print("ORPHAN", orphan_id, orphan_len, orphan_retained, flush=True)
    print("READY", flush=True)
    for line in sys.stdin:      # commands, each acknowledged with "OK <command>"
        cmd = line.split()
        if cmd == ["move"]:     # ACTIVE_TOKENS changes holder: its old dict entry is deleted
            holder_shapes.MOVED = holder_shapes.ACTIVE_TOKENS
            del holder_shapes.ACTIVE_TOKENS
        elif cmd == ["churn"]:  # mutate containers (resizes included) until the end
            threading.Thread(target=holder_shapes.churn, daemon=True).start()
        print("OK", " ".join(cmd), flush=True)


if __name__ == "__main__":
    main()
