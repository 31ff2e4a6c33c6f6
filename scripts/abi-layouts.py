#!/usr/bin/env python3
"""The layout half of the ABI check (scripts/check-abi.sh): every public
struct's members, offsets and sizes, read from a library's debug
information with gdb's `ptype/o`, and compared with a release's.

abidiff (the other half) checks the exported functions and their types,
but libabigail 2.2 misses some layout changes when one side is an XML dump
(a field inserted in front of mproc_queue_opts_t passes it); this check
does not depend on it, and knows the reserved-tail rule of
docs/design/STYLE.md, "ABI": a later version may give meaning to reserved
words, nothing else may move.

  abi-layouts.py dump LIB HEADER_DIR...   prints the layouts of the structs
                                           the headers declare
  abi-layouts.py compare OLD NEW          exit 1, saying why, on a break
"""
import pathlib
import re
import subprocess
import sys

TYPE_RE = re.compile(r"^\}\s*(mproc_[a-z0-9_]+_t)\s*;", re.M)
MEMBER_RE = re.compile(r"^/\*\s+(\d+)\s+\|\s+(\d+) \*/\s{4}(\S.*?);?$")
TOTAL_RE = re.compile(r"/\* total size \(bytes\):\s+(\d+) \*/")


def public_structs(header_dirs):
    names = set()
    for d in header_dirs:
        for h in pathlib.Path(d).rglob("*.h"):
            text = h.read_text()
            for m in TYPE_RE.finditer(text):
                # Only structs: the block the name closes must open with "struct".
                head = text[: m.start()].rsplit("typedef ", 1)[-1]
                if head.startswith("struct"):
                    names.add(m.group(1))
    return sorted(names)


def dump(lib, header_dirs):
    names = public_structs(header_dirs)
    cmd = ["gdb", "-batch", "-nx"]
    for n in names:
        cmd += ["-ex", f"echo == {n}\\n", "-ex", f"ptype/o {n}"]
    out = subprocess.run(cmd + [lib], capture_output=True, text=True, check=True).stdout
    sys.stdout.write(out)


def parse(path):
    """{name: (lines, top-level members [(offset, size, decl)], total)}"""
    types, name, lines = {}, None, []

    def close():
        if name:
            members, depth, total = [], 0, None
            for ln in lines:
                m = MEMBER_RE.match(ln)
                if m and depth == 0:
                    members.append((int(m.group(1)), int(m.group(2)), m.group(3).strip()))
                depth += ln.count("{") - ln.count("}")
                if ln.lstrip().startswith("type ="):
                    depth = 0
            totals = TOTAL_RE.findall("\n".join(lines))
            total = int(totals[-1]) if totals else None
            types[name] = (lines, members, total)

    for ln in pathlib.Path(path).read_text().splitlines():
        if ln.startswith("== "):
            close()
            name, lines = ln[3:].strip(), []
        else:
            lines.append(ln)
    close()
    return types


def member_name(decl):
    m = re.search(r"\(\*(\w+)(\[\d+\])?\)\(|(\w+)(\[\d+\])*$", decl)
    return (m.group(1) or m.group(3)) if m else decl


def check_type(name, old, new):
    """None when new keeps old's ABI; else why not."""
    old_lines, old_members, old_total = old
    new_lines, new_members, new_total = new
    if old_lines == new_lines:
        return None
    if old_total != new_total:
        return f"size {old_total} -> {new_total} bytes"
    reserved = [m for m in old_members if member_name(m[2]) == "reserved"]
    if not reserved:
        return "its layout changed (and it has no reserved words to give meaning to)"
    r_off, r_size, _ = reserved[0]
    new_by_name = {member_name(m[2]): m for m in new_members}
    for off, size, decl in old_members:
        if member_name(decl) == "reserved":
            continue
        got = new_by_name.get(member_name(decl))
        if got != (off, size, decl):
            return f"member '{decl}' at {off} ({size} bytes) is now " + (
                f"'{got[2]}' at {got[0]} ({got[1]} bytes)" if got else "gone")
    old_names = {member_name(m[2]) for m in old_members}
    for off, size, decl in new_members:
        if member_name(decl) in old_names and member_name(decl) != "reserved":
            continue
        if off < r_off or off + size > r_off + r_size:
            return f"new member '{decl}' at {off} lies outside the reserved words"
    tail = new_by_name.get("reserved")
    if tail and tail[0] + tail[1] != r_off + r_size:
        return "the reserved words no longer end where they did"
    return None


def compare(old_path, new_path):
    old, new = parse(old_path), parse(new_path)
    broken = 0
    for name in sorted(old):
        if name not in new:
            print(f"{name}: gone from the public headers")
            broken += 1
            continue
        why = check_type(name, old[name], new[name])
        if why:
            print(f"{name}: {why}")
            broken += 1
    added = sorted(set(new) - set(old))
    print(f"{len(old)} public structs checked, {broken} broken, {len(added)} new"
          + (f" ({', '.join(added)})" if added else ""))
    return 1 if broken else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "dump":
        dump(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
