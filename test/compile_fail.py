#!/usr/bin/env python3
"""Compile-fail test driver.

Usage: compile_fail.py CASE.cpp -- COMPILER [FLAGS...]

CASE.cpp must compile as is (the control: proves the includes and flags are
right) and must fail to compile with -DAGORA_COMPILE_FAIL, with compiler
output matching its "// EXPECT-ERROR: <regex>" line (proves it fails for the
intended reason, not some other error).
"""
import re
import subprocess
import sys


def main() -> int:
    if "--" not in sys.argv:
        print(__doc__)
        return 2
    sep = sys.argv.index("--")
    case = sys.argv[1]
    command = sys.argv[sep + 1:]
    with open(case, encoding="utf-8") as f:
        source = f.read()
    m = re.search(r"//\s*EXPECT-ERROR:\s*(.+)", source)
    if not m:
        print(f"{case}: no // EXPECT-ERROR: line")
        return 1
    expected = re.compile(m.group(1).strip())

    def compile_(extra):
        cmd = command + extra + ["-fsyntax-only", "-x", "c++", case]
        p = subprocess.run(cmd, capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr, cmd

    rc, out, cmd = compile_([])
    if rc != 0:
        print("control compile failed (the case itself is broken):\n" + " ".join(cmd) + "\n" + out)
        return 1
    rc, out, cmd = compile_(["-DAGORA_COMPILE_FAIL"])
    if rc == 0:
        print("expected a compile error, but this compiled:\n" + " ".join(cmd))
        return 1
    if not expected.search(out):
        print(f"compile failed, but without an error matching /{expected.pattern}/:\n" + out[-4000:])
        return 1
    print(f"OK: fails to compile as expected (/{expected.pattern}/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
