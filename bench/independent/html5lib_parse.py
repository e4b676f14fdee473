"""independent workload: html5lib (python3-html5lib) parsing an HTML document into an etree with
html5lib.parse: Debian's Python policy (/usr/share/doc/python3/python-policy.html, shipped by the
python3 package). Mirrors pyperformance's `html5lib` (which parses the W3C HTML5 spec)."""
import _common

REQUIRES = ["html5lib"]
DOC = "/usr/share/doc/python3/python-policy.html"
ITERATIONS = 16


def setup():
    import html5lib
    with open(_common.data_path(DOC), "rb") as f:
        data = f.read()
    return html5lib, data


def run(state, scale):
    html5lib, data = state
    total = 0
    for _ in range(max(1, int(round(ITERATIONS * scale)))):
        total += len(list(html5lib.parse(data).iter()))
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
