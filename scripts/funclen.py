#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Functions over N lines (default 80) in user/ and bpf/.

A function's length is its lines from the one that names it to its closing
brace, both included. argp's parse_arg is exempt (one case per option).
Known long functions (scripts/funclen-allow.txt, "path:function  why") are
reported but do not fail; with --check, any other function over the limit
fails. The list only shrinks: a function that fits again is said so.

usage: scripts/funclen.py [--check] [--max N] [--all] [--root DIR] [--self-test]
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deps import strip_c  # noqa: E402

EXEMPT = {'parse_arg'}


def strip_pp(s):
    """blank preprocessor lines (with their continuations), keeping line numbers"""
    out, cont = [], False
    for line in s.split('\n'):
        pp = cont or line.lstrip().startswith('#')
        cont = pp and line.rstrip().endswith('\\')
        out.append('' if pp else line)
    return '\n'.join(out)


def functions(text):
    """(name, first line, last line) of each function defined in C source @text"""
    s = strip_pp(strip_c(text))
    depth, i, n, out = 0, 0, len(s), []
    while i < n:
        c = s[i]
        if c == '{':
            if depth == 0:
                head = s[max(0, i - 2000):i].rstrip()
                if head.endswith(')'):
                    name, start = name_of(s, i - (len(s[max(0, i - 2000):i]) - len(head)) - 1)
                    end = close_of(s, i)
                    if name:
                        out.append((name, s.count('\n', 0, start) + 1, s.count('\n', 0, end) + 1))
                    i = end + 1
                    continue
            depth += 1
        elif c == '}':
            depth -= 1
        i += 1
    return out


def close_of(s, i):
    """index of the brace closing the one at @i"""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == '{':
            depth += 1
        elif s[j] == '}':
            depth -= 1
            if depth == 0:
                return j
    return len(s) - 1


def name_of(s, close):
    """name and its index of the function whose parameter list closes at @close"""
    depth, j = 0, close
    while j >= 0:
        if s[j] == ')':
            depth += 1
        elif s[j] == '(':
            depth -= 1
            if depth == 0:
                break
        j -= 1
    m = re.search(r'(\w+)\s*$', s[:j])
    if not m:
        return None, j
    name = m.group(1)
    if name.isupper() or name.startswith('BPF_'):	# SEC(...) int BPF_PROG(name, ...)
        a = re.match(r'\s*(\w+)', s[j + 1:])
        name = a.group(1) if a else name
    if name in ('if', 'for', 'while', 'switch', 'return', 'sizeof'):
        return None, j
    return name, m.start(1)


def read_allow(root):
    allow = {}
    path = os.path.join(root, 'scripts', 'funclen-allow.txt')
    if os.path.exists(path):
        for line in open(path):
            m = re.match(r'\s*([\w/.\-]+):(\w+)\s*(.*)', line)
            if m and not line.lstrip().startswith('#'):
                allow[(m.group(1), m.group(2))] = m.group(3).strip()
    return allow


def self_test():
    """functions() on made-up source: lengths, names, what is no function"""
    body = lambda n: '\n'.join(['\tx++;'] * (n - 3))	# noqa: E731
    src = ('struct s v = {\n\t1,\n};\n#define M(a) { a }\n'
           'static int eighty(int x)\n{\n%s\n}\n'
           'SEC("uprobe")\nint BPF_PROG(on_alloc, void *p)\n{\n\tif (p) {\n\t\treturn 1;\n\t}\n'
           '\treturn "}{"[0];\n}\n'
           'int\nlong_one(const char *s /* ) { */)\n{\n%s\n}\n') % (body(80), body(81))
    got = {name: last - first + 1 for name, first, last in functions(src)}
    ok = got == {'eighty': 80, 'on_alloc': 7, 'long_one': 81}
    print('funclen: self-test %s' % ('passed' if ok else 'FAILED: %s' % got))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check', action='store_true', help='exit 1 on a long function not allowed')
    ap.add_argument('--max', type=int, default=80)
    ap.add_argument('--all', action='store_true', help='list every function, longest first')
    ap.add_argument('--root', default=os.path.join(os.path.dirname(__file__), '..'))
    ap.add_argument('--self-test', action='store_true', help='check this script on made-up source')
    a = ap.parse_args()
    if a.self_test:
        return 0 if self_test() else 1
    allow, found, fails = read_allow(a.root), [], 0
    for top in ('user', 'bpf'):
        for d, _, names in os.walk(os.path.join(a.root, top)):
            for nm in sorted(names):
                if nm.endswith('.c'):
                    p = os.path.join(d, nm)
                    rel = os.path.relpath(p, a.root)
                    for name, first, last in functions(open(p, errors='replace').read()):
                        found.append((last - first + 1, rel, name, first))
    found.sort(reverse=True)
    seen = set()
    for n, rel, name, first in found:
        seen.add((rel, name))
        if a.all:
            print('%5d %s:%d %s' % (n, rel, first, name), flush=True)
        if n <= a.max or name in EXEMPT:
            continue
        known = (rel, name) in allow
        print('funclen: %s %s:%d %s is %d lines (over %d)%s' % (
            'known' if known else 'FAIL', rel, first, name, n, a.max,
            '  # ' + allow[(rel, name)] if known and allow[(rel, name)] else ''))
        fails += not known
    long_ = {(rel, name) for n, rel, name, _ in found if n > a.max and name not in EXEMPT}
    for rel, name in sorted(set(allow) - long_):
        print('funclen: note: %s:%s fits (or is gone): remove it from scripts/funclen-allow.txt' %
              (rel, name))
    print('funclen: %d functions, %d over %d lines (%d known), longest %d' % (
        len(found), len(long_), a.max, len(long_ & set(allow)),
        max([n for n, _, nm, _ in found if nm not in EXEMPT] or [0])))
    return 1 if fails and a.check else 0


if __name__ == '__main__':
    sys.exit(main())
