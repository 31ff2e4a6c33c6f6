#!/usr/bin/env python3
"""Checks that every exported function's header comment follows the
template of docs/design/STYLE.md, as far as its signature tells:

  - a comment right above it (one comment may serve a group of
    declarations that follow it with nothing in between);
  - "Params:" when it takes parameters, naming each of them;
  - "Returns:" when it returns something;
  - "Errors:" when it returns an int (an mproc status code or a count that
    may be a negative code);
  - no "Platform: all." filler: a Platform section says what differs.

Usage: scripts/check-header-docs.py [HEADER...]
       (default: include/mproc/*.h and mpi/include/mproc/*.h)
Prints one line per problem and exits 1 if there is any."""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

TOKEN = re.compile(
    r"(?P<comment>/\*.*?\*/)|(?P<decl>\bMPROC(?:_MPI)?_API\b[^;{]*;)|(?P<other>[^\s])",
    re.S,
)
SIGNATURE = re.compile(r"MPROC(?:_MPI)?_API\s+(?P<ret>.*?)\b(?P<name>mproc_\w+)\s*\((?P<params>.*)\)\s*;", re.S)


def parameters(text):
    text = text.strip()
    if text in ("", "void"):
        return []
    names = []
    depth = 0
    piece = ""
    for ch in text + ",":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            piece = piece.strip()
            if piece == "...":
                names.append("...")
            else:
                # a function-pointer parameter: int (*fn)(...)
                m = re.search(r"\(\s*\*\s*(\w+)\s*\)", piece)
                if m:
                    names.append(m.group(1))
                else:
                    m = re.search(r"(\w+)\s*(\[[^\]]*\])?$", piece)
                    names.append(m.group(1) if m else piece)
            piece = ""
        else:
            piece += ch
    return names


def shown(path):
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


def check(path):
    problems = []
    text = path.read_text()
    groups = []  # (comment or None, [decl, ...])
    comment = None
    current = None
    for m in TOKEN.finditer(text):
        if m.group("comment"):
            comment = m.group("comment")
            current = None
        elif m.group("decl"):
            if current is None:
                current = (comment, [])
                groups.append(current)
                comment = None
            current[1].append((m.group("decl"), text.count("\n", 0, m.start()) + 1))
        else:
            comment = None
            current = None
    for doc, decls in groups:
        for decl, line in decls:
            sig = SIGNATURE.match(" ".join(decl.split()))
            if not sig:
                problems.append(f"{shown(path)}:{line}: cannot read this declaration")
                continue
            name = sig.group("name")
            where = f"{shown(path)}:{line}: {name}"
            if doc is None:
                problems.append(f"{where}: no comment above it")
                continue
            ret = " ".join(sig.group("ret").split())
            params = parameters(sig.group("params"))
            if params and "Params:" not in doc:
                problems.append(f"{where}: no 'Params:' section")
            elif params:
                section = doc[doc.index("Params:"):]
                for p in params:
                    if p != "..." and not re.search(r"\b%s\b" % re.escape(p), section):
                        problems.append(f"{where}: 'Params:' does not name '{p}'")
            if ret != "void" and "Returns:" not in doc:
                problems.append(f"{where}: no 'Returns:' section")
            if ret == "int" and "Errors:" not in doc:
                problems.append(f"{where}: no 'Errors:' section")
        if doc is not None and re.search(r"Platform:\s*all\.", doc):
            problems.append(
                f"{shown(path)}:{decls[0][1]}: 'Platform: all.' is filler; "
                "say what differs or leave the section out"
            )
    return problems, sum(len(d) for _, d in groups)


def main(argv):
    paths = [pathlib.Path(a).resolve() for a in argv] or sorted(
        list((ROOT / "include" / "mproc").glob("*.h")) + list((ROOT / "mpi" / "include" / "mproc").glob("*.h"))
    )
    problems = []
    functions = 0
    for path in paths:
        found, count = check(path)
        problems += found
        functions += count
    for p in problems:
        print(p)
    print(f"header docs: {functions} exported functions, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
