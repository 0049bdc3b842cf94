#!/usr/bin/env python3
"""Fails when a file under tools/ or python/ includes a header that is neither its own (a file of
the same tree: tools/ or python/) nor a public one (include/bertrt/...).

    tests/check_public_includes.py SOURCE_ROOT

Quoted includes must resolve to include/<name> (public) or to a file of the including file's own
tree (next to it, or from the tree's root: "cli/args.h" in tools/). Angle-bracket includes must
not name a header of the library's internals (src/, kernels/, the source root)."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
SOURCE_EXT = ('.c', '.cc', '.cpp', '.h', '.hpp', '.inc')
TREES = ('tools', 'python')


def violations(root):
    public = os.path.join(root, 'include')
    internal_roots = [os.path.join(root, 'src'), os.path.join(root, 'kernels'), root]
    for tree in TREES:
        tree_dir = os.path.join(root, tree)
        for dirpath, _, files in os.walk(tree_dir):
            for name in sorted(files):
                if not name.endswith(SOURCE_EXT):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding='utf-8', errors='replace') as f:
                    text = f.read()
                for m in INCLUDE.finditer(text):
                    kind, header = m.group(1), m.group(2)
                    line = text.count('\n', 0, m.start()) + 1
                    where = '%s:%d: #include %s' % (os.path.relpath(path, root), line,
                                                     kind + header + ('"' if kind == '"' else '>'))
                    if kind == '<':
                        if header.startswith('bertrt/'):
                            continue
                        if any(os.path.isfile(os.path.join(r, header)) for r in internal_roots):
                            yield where + ' names an internal header'
                        continue
                    if header.startswith('bertrt/') and os.path.isfile(os.path.join(public, header)):
                        continue
                    own = [os.path.join(dirpath, header), os.path.join(tree_dir, header)]
                    if any(os.path.isfile(p) and os.path.realpath(p).startswith(os.path.realpath(tree_dir) + os.sep)
                           for p in own):
                        continue
                    yield where + ' is neither public (include/bertrt/) nor a header of ' + tree + '/'


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..'))
    bad = list(violations(root))
    for v in bad:
        print(v)
    checked = ', '.join(t + '/' for t in TREES)
    if bad:
        print('check_public_includes: %d include(s) in %s reach past the public headers' % (len(bad), checked))
        return 1
    print('check_public_includes: every include in %s is public or the tree\'s own' % checked)
    return 0


if __name__ == '__main__':
    sys.exit(main())
