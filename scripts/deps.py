#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The dependency graph between the files of user/: cycles and upward edges.

A node is a module: x.c and x.h together (user/leak/walk.c + walk.h = leak/walk);
a header without a .c (leak/leak.h, log.h) is a node of its own. Cycles are also
counted with x.c and x.h apart (cycles of files: printed, never failing). A → B when A
#includes "b.h", or calls a pmw_* function (or uses a pmw_* variable) that B
defines. Layers come from user/README, top first: each indented line names the
files (x.c, x.h) and folders (dir/) of one layer; a layer may use only the
layers below it. An edge from a lower layer to a higher one is upward.

Known edges (scripts/deps-allow.txt: "A -> B  reason") are reported but do not
fail: the check fails on a cycle or an upward edge made of other edges, and
with --strict also on more upward edges than --max-up (3) in all. Prints
the graph with --edges. Run by `make check` (scripts/run-tests.sh) with --check.

usage: scripts/deps.py [--check] [--strict] [--edges] [--max-up N] [--root DIR] [--self-test]
"""
import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
IDENT = re.compile(r'\b(pmw_\w+|env)\b')
# a top-level function definition: "type name(args)\n{" (non-static)
FUNC_DEF = re.compile(r'^(?!static\b)[A-Za-z_][\w \t\*]*?\b(pmw_\w+)\s*\(', re.M)
# a top-level variable definition: "[const] [struct] type [*]name[...] [= ...];"
VAR_DEF = re.compile(r'^(?!static\b|extern\b|typedef\b)(?:const\s+)?(?:struct\s+|enum\s+)?\w+'
                     r'[\s\*]+(?:const\s+)?(pmw_\w+|env)\s*(?:\[[^\]]*\]\s*)*(?:=|;)', re.M)


def strip_c(text):
    """Source without comments, string and character literals (kept as spaces)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            out.append(c + ' ' * (min(j, n) - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def includes(raw):
    """the headers of the #include "x.h" lines (from the raw text: strip_c blanks strings)"""
    return INCLUDE.findall(raw)


def read_layers(root):
    """[[entry, ...], ...] from user/README: one layer a line, top first."""
    layers = []
    with open(os.path.join(root, 'user', 'README')) as f:
        for line in f:
            if not line.startswith('  '):
                continue
            names = re.split(r'\s{2,}', line.strip())[0]
            layers.append([e.strip() for e in names.split(',') if e.strip()])
    return layers


def layer_of(mod, layers):
    """index of @mod's layer (0 = top), or None when no line names it"""
    for i, entries in enumerate(layers):
        for e in entries:
            if e.endswith('/') and mod.startswith(e):
                return i
            if os.path.splitext(e)[0] == mod:
                return i
    return None


FILE_EDGES = set()	# (file, file): the same edges with x.c and x.h apart (scan fills it)


def scan(root):
    """modules and {(module, module): what ties them}: include and call edges"""
    FILE_EDGES.clear()
    user = os.path.join(root, 'user')
    files = {}
    for d, _, names in os.walk(user):
        for nm in names:
            if nm.endswith(('.c', '.h')):
                rel = os.path.relpath(os.path.join(d, nm), user)
                files[rel] = open(os.path.join(d, nm), errors='replace').read()
    by_header = {os.path.basename(p): os.path.splitext(p)[0] for p in files if p.endswith('.h')}
    defs, texts = {}, {}
    for p, raw in files.items():
        mod = os.path.splitext(p)[0]
        s = strip_c(raw)
        texts[p] = s
        if p.endswith('.c'):
            for m in FUNC_DEF.finditer(s):
                if is_definition(s, m.end() - 1):
                    defs.setdefault(m.group(1), mod)
            for m in VAR_DEF.finditer(s):
                defs.setdefault(m.group(1), mod)
    edges = {}
    for p, raw in files.items():
        mod = os.path.splitext(p)[0]
        for h in includes(raw):
            dst = by_header.get(os.path.basename(h))
            if dst:
                FILE_EDGES.add((p, dst + '.h'))
            if dst and dst != mod:
                edges.setdefault((mod, dst), set()).add('#include "%s"' % os.path.basename(h))
        if not p.endswith('.c'):
            continue
        for name in set(IDENT.findall(texts[p])):
            if name == 'env' and not re.search(r'\benv\s*\.', texts[p]):
                continue
            dst = defs.get(name)
            if dst and dst != mod:
                edges.setdefault((mod, dst), set()).add(name)
                FILE_EDGES.add((p, dst + '.c'))
    mods = sorted({os.path.splitext(p)[0] for p in files})
    return mods, edges


def is_definition(s, paren):
    """does the parameter list opening at @paren end in ") {" (a body)?"""
    depth, i = 0, paren
    while i < len(s):
        if s[i] == '(':
            depth += 1
        elif s[i] == ')':
            depth -= 1
            if depth == 0:
                break
        i += 1
    rest = s[i + 1:i + 200].lstrip()
    return rest.startswith('{')


def sccs(mods, adj):
    """strongly connected components of more than one module (Tarjan, iterative)"""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in mods:
        if start in index:
            continue
        work = [(start, iter(sorted(adj.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(adj.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def a_cycle(comp, adj):
    """one shortest cycle through the first module of @comp, as a list"""
    start, members = comp[0], set(comp)
    prev, todo = {start: None}, [start]
    while todo:
        nxt = []
        for v in todo:
            for w in sorted(adj.get(v, ())):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return list(reversed(path)) + [start]
                if w in members and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        todo = nxt
    return comp


def read_allow(root):
    allow = {}
    path = os.path.join(root, 'scripts', 'deps-allow.txt')
    if os.path.exists(path):
        for line in open(path):
            m = re.match(r'\s*([\w/]+)\s*->\s*([\w/]+)\s*(.*)', line)
            if m and not line.lstrip().startswith('#'):
                allow[(m.group(1), m.group(2))] = m.group(3).strip()
    return allow


def report(mods, edges, layers, allow, max_up, show_edges, strict):
    """print the findings; the number of failures"""
    fails = 0
    unplaced = [m for m in mods if layer_of(m, layers) is None]
    for m in unplaced:
        print('deps: FAIL %s is in no layer of user/README: add it to the line of its layer' % m)
        fails += 1
    if show_edges:
        for (a, b), why in sorted(edges.items()):
            print('  %s -> %s  (%s)' % (a, b, ', '.join(sorted(why))))
    up = [(a, b) for (a, b) in edges
          if None not in (layer_of(a, layers), layer_of(b, layers))
          and layer_of(b, layers) < layer_of(a, layers)]
    for a, b in sorted(up):
        known = (a, b) in allow
        print('deps: %s upward %s -> %s (%s)%s' % ('known' if known else 'FAIL', a, b,
              ', '.join(sorted(edges[(a, b)])[:4]), '  # ' + allow[(a, b)] if known else ''))
        fails += not known
    adj_all, adj_new = {}, {}
    for a, b in edges:
        adj_all.setdefault(a, set()).add(b)
        if (a, b) not in allow:
            adj_new.setdefault(a, set()).add(b)
    for comp in sccs(mods, adj_all):
        print('deps: cycle among %s:' % ', '.join(comp))
        for (a, b), why in sorted(edges.items()):
            if a in comp and b in comp:
                print('    %s -> %s (%s)%s' % (a, b, ', '.join(sorted(why)[:4]),
                      '  # known: ' + allow[(a, b)] if (a, b) in allow else ''))
    for comp in sccs(mods, adj_new):
        cyc = a_cycle(comp, adj_new)
        print('deps: FAIL a cycle no known edge breaks: %s' % ' -> '.join(cyc))
        fails += 1
    for e in sorted(set(allow) - set(edges)):
        print('deps: note: %s -> %s is gone: remove it from scripts/deps-allow.txt' % e)
    if len(up) > max_up:
        print('deps: %d upward edges, more than the %d the layering allows' % (len(up), max_up))
        fails += strict
    fcycles = file_cycles()
    fadj = {}
    for a, b in FILE_EDGES:
        fadj.setdefault(a, set()).add(b)
    for comp in fcycles:
        print('deps: cycle of files (x.c and x.h apart): %s' % ' -> '.join(a_cycle(comp, fadj)))
    print('deps: %d modules, %d edges, %d upward (known: %d), %d cycles of modules, '
          '%d of files, %d known edges' %
          (len(mods), len(edges), len(up), sum(e in allow for e in up),
           len(sccs(mods, adj_all)), len(fcycles), len(allow)))
    return fails


def file_cycles():
    """the cycles of the last scan with x.c and x.h apart"""
    fadj = {}
    for a, b in FILE_EDGES:
        fadj.setdefault(a, set()).add(b)
    return sccs(sorted({f for e in FILE_EDGES for f in e}), fadj)


def self_test():
    """deps.py on small made-up trees: a cycle and an upward edge fail, their fix passes"""
    import contextlib
    import io
    import tempfile

    def run(files, allow=''):
        with tempfile.TemporaryDirectory() as root:
            for path, text in dict(files, **{'scripts/deps-allow.txt': allow}).items():
                os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
                open(os.path.join(root, path), 'w').write(text)
            mods, edges = scan(root)
            with contextlib.redirect_stdout(io.StringIO()):
                return report(mods, edges, read_layers(root), read_allow(root), 3, False, False)

    readme = 'user/: layers\n  top.c, side.c   the top\n  low/   the bottom\n'
    good = {'user/README': readme,
            'user/top.c': '#include "low.h"\nint pmw_top(void)\n{\n\treturn pmw_low();\n}\n',
            'user/top.h': 'int pmw_top(void);\n', 'user/low/low.h': 'int pmw_low(void);\n',
            'user/low/low.c': '/* pmw_top() */\nint pmw_low(void)\n{\n\treturn "pmw_top()"[0];\n}\n'}
    up = dict(good, **{'user/low/low.c': 'int pmw_low(void)\n{\n\treturn pmw_top();\n}\n'})
    inc = dict(good, **{'user/low/low.h': '#include "top.h"\n'})
    ok = [run(good) == 0,			# comments and strings are no edges
          run(up) == 2,				# upward low -> top, and the cycle it closes
          file_cycles() == [['low/low.c', 'top.c']],	# also a cycle of files (calls)
          run(up, 'low/low -> top  known\n') == 0,	# a known edge passes
          run(inc) == 2,			# an include is an edge too
          run(dict(good, **{'user/extra.c': ''})) == 1]	# a file on no layer
    print('deps: self-test %s' % ('passed' if all(ok) else 'FAILED: %s' % ok))
    return all(ok)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check', action='store_true', help='exit 1 on a failure')
    ap.add_argument('--edges', action='store_true', help='print every edge')
    ap.add_argument('--max-up', type=int, default=3, help='upward edges allowed in all')
    ap.add_argument('--strict', action='store_true',
                    help='fail on more than --max-up upward edges, known or not')
    ap.add_argument('--root', default=os.path.join(os.path.dirname(__file__), '..'))
    ap.add_argument('--self-test', action='store_true', help='check this script on made-up trees')
    a = ap.parse_args()
    if a.self_test:
        return 0 if self_test() else 1
    mods, edges = scan(a.root)
    fails = report(mods, edges, read_layers(a.root), read_allow(a.root), a.max_up, a.edges,
                   a.strict)
    if fails:
        print('deps: %d failures' % fails)
    return 1 if fails and a.check else 0


if __name__ == '__main__':
    sys.exit(main())
