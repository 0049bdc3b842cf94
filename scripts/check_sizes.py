#!/usr/bin/env python3
"""Size rules for the library's rooms (src/ and kernels/): no file over 550 lines, no function over
80 lines (from the line of its opening brace to the line of its closing brace). Prints every
breach and exits 1 if there is one; with --report also lists the largest files and functions.

Functions are found by a small scanner, not a compiler: comments, strings and character literals
are blanked, then a '{' whose preceding text (since the last ';', '{' or '}') ends in a ')' -- with
optional qualifiers -- and does not begin with a control keyword opens a function body, unless one
is already open (lambdas and nested blocks count towards the enclosing function)."""
import os
import re
import sys

MAX_FILE, MAX_FUNCTION = 550, 80
ROOMS = ("src", "kernels")
EXTENSIONS = (".cpp", ".h", ".hpp", ".inc", ".cc")
CONTROL = re.compile(r"^\s*(if|for|while|switch|catch|do|else|return|case)\b")
SIGNATURE_END = re.compile(r"\)\s*(const|noexcept|override|final|mutable|volatile|&|&&|->\s*[\w:<>,*& ]+|\s)*$")
INITIALIZER_LIST = re.compile(r"\)\s*:\s*[\w:]+\s*[({]")


def blank(text):
    """Comments, strings and char literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j])); i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i)); i = j
        else:
            out.append(c); i += 1
    return "".join(out)


def functions(text):
    """(first line, last line, header) of every outermost function body."""
    code = blank(text)
    found, stack, header_start, line = [], [], 0, 1
    for i, c in enumerate(code):
        if c == "\n":
            line += 1
        elif c == "{":
            header = " ".join(code[header_start:i].split())
            in_function = any(kind == "f" for kind, _ in stack)
            is_function = (not in_function and not CONTROL.match(header) and
                           (SIGNATURE_END.search(header) or INITIALIZER_LIST.search(header)) and
                           not re.search(r"\b(namespace|class|struct|enum|union)\b", header.split("(")[0]))
            stack.append(("f" if is_function else "b", (line, header)))
            header_start = i + 1
        elif c == "}":
            if stack:
                kind, (start, header) = stack.pop()
                if kind == "f":
                    found.append((start, line, header))
            header_start = i + 1
        elif c == ";":
            header_start = i + 1
    return found


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    report = "--report" in sys.argv
    breaches, sizes, funcs = [], [], []
    for room in ROOMS:
        for dirpath, _, names in os.walk(os.path.join(root, room)):
            for name in sorted(names):
                if not name.endswith(EXTENSIONS):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                text = open(path, encoding="utf-8", errors="replace").read()
                lines = text.count("\n") + (0 if text.endswith("\n") else 1)
                sizes.append((lines, rel))
                if lines > MAX_FILE:
                    breaches.append(f"{rel}: {lines} lines (at most {MAX_FILE})")
                for start, end, header in functions(text):
                    length = end - start + 1
                    funcs.append((length, f"{rel}:{start}", header[-70:]))
                    if length > MAX_FUNCTION:
                        breaches.append(f"{rel}:{start}: function of {length} lines (at most {MAX_FUNCTION}): {header[-70:]}")
    if report:
        print("largest files:")
        for lines, rel in sorted(sizes, reverse=True)[:8]:
            print(f"  {lines:5d} {rel}")
        print("largest functions:")
        for length, where, header in sorted(funcs, reverse=True)[:12]:
            print(f"  {length:5d} {where} {header}")
    for b in breaches:
        print(b)
    print(f"check_sizes: {len(sizes)} files, {len(funcs)} functions, {len(breaches)} over the limits")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
