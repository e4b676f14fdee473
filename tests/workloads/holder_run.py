# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Holder-path target: grows holder_shapes' containers, prints one line per container
("SHAPE <id> <len> <retained> <kind> <expected path>"; retained by sys.getsizeof),
one "ORPHAN <id> <len> <retained>" line for a list only a frame holds, then "READY"; then it
runs the commands read from stdin ("move", "churn"; see main) until EOF.

Usage: holder_run.py [N] [many]   (N items per container, default 300; "many": import
~150 standard-library modules first, so that the search has a realistic haystack)
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


def retained(obj):
    """the container and its items (dict: keys and values), by sys.getsizeof; for
    holder_shapes.USERS also what its items alone keep alive"""
    if isinstance(obj, dict):
        items = sum(block(sys.getsizeof(k)) + block(sys.getsizeof(v)) for k, v in obj.items())
    else:
        items = sum(block(sys.getsizeof(x)) for x in obj)
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


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    if "many" in sys.argv[2:]:
        for name in STDLIB:
            try:
                __import__(name)
            except ImportError:     # tomllib <3.11, zoneinfo <3.9
                pass
    holder_shapes.grow(n)
    orphan = [object() for _ in range(n)]   # held by this frame only: no holder path
    for path, kind, obj in holder_shapes.shapes():
        print("SHAPE", id(obj), len(obj), retained(obj), kind, path, flush=True)
    print("ORPHAN", id(orphan), len(orphan), retained(orphan), flush=True)
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
