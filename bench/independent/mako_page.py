"""independent workload: Mako (python3-mako): compile and render a page template that inherits a
base layout, calls defs and loops over a table, through mako.lookup.TemplateLookup. Mirrors
pyperformance's `mako` (inheritance, defs, loops; the template text is ours, the engine Mako's)."""
import _common

REQUIRES = ["mako.lookup"]
ITERATIONS = 100

BASE = """\
<html><head><title>${title | h}</title></head>
<body>
<%def name="header()"><h1>${title | h}</h1></%def>
${self.header()}
${next.body()}
<p class="footer">${len(table)} rows, ${len(table[0])} columns</p>
</body></html>
"""

PAGE = """\
<%inherit file="base.html"/>
<%def name="cell(value, i)"><td class="${'odd' if i % 2 else 'even'}">${value | h}</td></%def>
<%def name="row(r, n)">
<tr id="row-${n}">
% for i, (k, v) in enumerate(sorted(r.items())):
${cell("%s=%s" % (k, v), i)}
% endfor
</tr>
</%def>
<table>
% for n, r in enumerate(table):
${row(r, n)}
% endfor
</table>
<ul>
% for word in words:
<li>${word.upper() | h}: ${len(word)}</li>
% endfor
</ul>
"""


def setup():
    from mako.lookup import TemplateLookup
    table = [dict(("col%d" % c, "<%d,%d>" % (r, c)) for c in range(10)) for r in range(150)]
    words = ["word-%d & more" % i for i in range(200)]
    return TemplateLookup, table, words


def run(state, scale):
    lookup_cls, table, words = state
    total = 0
    for _ in range(max(1, int(round(ITERATIONS * scale)))):
        lookup = lookup_cls()  # compile the templates again each time
        lookup.put_string("base.html", BASE)
        lookup.put_string("page.html", PAGE)
        total += len(lookup.get_template("page.html").render(title="Mako <bench>", table=table, words=words))
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
