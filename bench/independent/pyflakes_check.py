"""independent workload: pyflakes (python3-pyflakes) checking 8 modules of Debian's
/usr/lib/python3.11 through pyflakes.api.check, as `pyflakes FILE...` does. pyperformance has no
pyflakes benchmark (its `pyflate` is a decompressor); this is a lint-a-source-tree workload in the
spirit of its `2to3`."""
import io
import os

import _common

REQUIRES = ["pyflakes.api"]
SRC = "/usr/lib/python3.11"
FILES = ["argparse.py", "difflib.py", "pathlib.py", "subprocess.py", "dataclasses.py", "tarfile.py",
         "configparser.py", "ftplib.py"]
ITERATIONS = 1


def setup():
    from pyflakes import api, reporter
    sources = []
    for name in FILES:
        with open(os.path.join(_common.data_path(SRC), name), encoding="utf-8") as f:
            sources.append((name, f.read()))
    return api, reporter, sources


def run(state, scale):
    api, reporter, sources = state
    total = 0
    n = max(1, int(round(ITERATIONS * len(sources) * scale)))
    for i in range(n):
        name, text = sources[i % len(sources)]
        out = io.StringIO()
        total += api.check(text, name, reporter.Reporter(out, out))
        total += len(out.getvalue())
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
