"""independent workload: Pygments (python3-pygments) highlighting Python source to HTML with
pygments.highlight(PythonLexer, HtmlFormatter), over big modules of Debian's /usr/lib/python3.11
(as `pygmentize -f html FILE` does). pyperformance has no Pygments benchmark; this is a
tokenizer/formatter workload (regex-driven lexing, string building)."""
import os

import _common

REQUIRES = ["pygments.lexers", "pygments.formatters"]
SRC = "/usr/lib/python3.11"
FILES = ["typing.py", "argparse.py", "_pydecimal.py"]
ITERATIONS = 1


def setup():
    import pygments
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
    sources = []
    for name in FILES:
        with open(os.path.join(_common.data_path(SRC), name), encoding="utf-8") as f:
            sources.append(f.read())
    return pygments.highlight, PythonLexer, HtmlFormatter, sources


def run(state, scale):
    highlight, lexer_cls, fmt_cls, sources = state
    total = 0
    n = max(1, int(round(ITERATIONS * len(sources) * scale)))
    for i in range(n):
        total += len(highlight(sources[i % len(sources)], lexer_cls(), fmt_cls(linenos=True)))
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
