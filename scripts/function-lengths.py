#!/usr/bin/env python3
"""Lists Swift functions, initializers and closures-as-bodies longer than a limit.

Usage: scripts/function-lengths.py [--limit N] PATH...   (default limit 80)
Exits 1 when any function is longer. A function's length is the number of lines from
its declaration to its closing brace, as swift-format lays it out (so run after format).
"""
import os
import re
import sys

DECL = re.compile(r'^\s*(?:@[\w.]+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|private|fileprivate|open|static|class|final|override|mutating|nonmutating|nonisolated|convenience|required)\s+)*(func\s+[^\s(<]+|init[?!]?|deinit|subscript)\b')


def code_only(line, state):
    """The line without comments and string contents; `state` carries open block strings."""
    out, i = [], 0
    while i < len(line):
        if state["string"]:
            end = line.find('"""', i)
            if end < 0:
                return "".join(out)
            state["string"] = False
            i = end + 3
            continue
        if line.startswith('"""', i):
            state["string"] = True
            i += 3
            continue
        if line.startswith("//", i):
            break
        if line[i] == '"':
            j = i + 1
            while j < len(line) and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            out.append('""')
            i = j + 1
            continue
        out.append(line[i])
        i += 1
    return "".join(out)


def long_functions(path, limit):
    lines = open(path, encoding="utf-8").read().split("\n")
    state = {"string": False}
    found, stack, depth = [], [], 0
    for number, line in enumerate(lines, 1):
        code = code_only(line, state)
        match = DECL.match(code)
        if match and "{" in code:
            stack.append((depth, number, match.group(1)))
        for ch in code:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if stack and stack[-1][0] == depth:
                    _, start, name = stack.pop()
                    if number - start + 1 > limit:
                        found.append((path, start, name, number - start + 1))
    return found


def main(argv):
    limit = 80
    if len(argv) > 1 and argv[0] == "--limit":
        limit, argv = int(argv[1]), argv[2:]
    found = []
    for root in argv:
        for folder, _, files in os.walk(root):
            for name in sorted(files):
                if name.endswith(".swift"):
                    found += long_functions(os.path.join(folder, name), limit)
    for path, start, name, length in sorted(found, key=lambda f: -f[3]):
        print(f"{path}:{start}: {name} is {length} lines (limit {limit})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
