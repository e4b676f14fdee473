"""independent workload: lib2to3 (python3-lib2to3, the stdlib's 2to3 engine), every fixer, over a
copy of 18 modules of Debian's /usr/lib/python3.11. Mirrors pyperformance's `2to3` (which runs
2to3 over a directory of files). Our code only reads the files and times the calls."""
import os
import warnings

import _common

REQUIRES = ["lib2to3.refactor"]
SRC = "/usr/lib/python3.11"
FILES = ["textwrap.py", "shlex.py", "fnmatch.py", "difflib.py", "pprint.py", "string.py", "heapq.py",
         "bisect.py", "netrc.py", "colorsys.py", "glob.py", "getopt.py", "cmd.py", "quopri.py",
         "sched.py", "base64.py", "gettext.py", "csv.py"]  # ones lib2to3's grammar parses
ITERATIONS = 1  # passes over the 18 files


def setup():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from lib2to3 import refactor
    sources = []
    for name in FILES:
        with open(os.path.join(_common.data_path(SRC), name), encoding="utf-8") as f:
            sources.append((name, f.read()))
    fixers = refactor.get_fixers_from_package("lib2to3.fixes")
    return refactor, fixers, sources


def run(state, scale):
    refactor, fixers, sources = state
    tool = refactor.RefactoringTool(fixers)  # as the 2to3 command does, once per invocation
    total = 0
    for i in range(max(1, int(round(ITERATIONS * len(sources) * scale)))):  # a small scale is a few files
        name, text = sources[i % len(sources)]
        total += len(str(tool.refactor_string(text, name)))
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
