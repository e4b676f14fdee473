"""independent workload: Chameleon (python3-chameleon) page templates: the "bigtable" ZPT template
(1000 rows x 50 columns, tal:repeat/define/attributes/content). Mirrors pyperformance's
`chameleon` (same template)."""
import _common

REQUIRES = ["chameleon"]
ITERATIONS = 12

BIGTABLE_ZPT = """\
<table xmlns="http://www.w3.org/1999/xhtml"
xmlns:tal="http://xml.zope.org/namespaces/tal">
<tr tal:repeat="row python: options['table']">
<td tal:repeat="c python: row.values()">
<span tal:define="d python: c + 1"
tal:attributes="class python: 'column-' + str(d)"
tal:content="python: d" />
</td>
</tr>
</table>"""


def setup():
    from chameleon import PageTemplate
    tmpl = PageTemplate(BIGTABLE_ZPT)
    data = dict(("column-%d" % i, i) for i in range(50))
    options = {"table": [data for _ in range(1000)]}
    return tmpl, options


def run(state, scale):
    tmpl, options = state
    total = 0
    for _ in range(max(1, int(round(ITERATIONS * scale)))):
        total += len(tmpl(options=options))
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
