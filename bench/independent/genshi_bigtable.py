"""independent workload: Genshi (python3-genshi) rendering the "bigtable" template (a 1000 x 10
table) with its XML and its text template engines. Mirrors pyperformance's `genshi_xml` and
`genshi_text` (same templates)."""
import _common

REQUIRES = ["genshi.template"]
ITERATIONS = 15

BIGTABLE_XML = """\
<table xmlns:py="http://genshi.edgewall.org/">
<tr py:for="row in table">
<td py:for="c in row.values()" py:content="c"/>
</tr>
</table>
"""

BIGTABLE_TEXT = """\
<table>
{% for row in table %}<tr>
{% for c in row.values() %}<td>$c</td>{% end %}
</tr>{% end %}
</table>
"""


def setup():
    from genshi.template import MarkupTemplate, NewTextTemplate
    table = [dict(a=1, b=2, c=3, d=4, e=5, f=6, g=7, h=8, i=9, j=10) for _ in range(1000)]
    return MarkupTemplate, NewTextTemplate, table


def run(state, scale):
    xml_cls, text_cls, table = state
    total = 0
    for _ in range(max(1, int(round(ITERATIONS * scale)))):
        for cls, src in ((xml_cls, BIGTABLE_XML), (text_cls, BIGTABLE_TEXT)):
            tmpl = cls(src)  # parse each time, as pyperformance does
            total += len(tmpl.generate(table=table).render())
    return total


if __name__ == "__main__":
    _common.main(REQUIRES, setup, run)
