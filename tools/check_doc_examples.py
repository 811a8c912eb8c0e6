#!/usr/bin/env python3
"""Checks that every code block marked `<!-- example: PATH -->` in the given
Markdown files is identical to PATH (a source file meson compiles), so the
documentation cannot drift from code that builds."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
failures = 0
checked = 0
for md in sys.argv[2:]:
    text = (root / md).read_text()
    for m in re.finditer(r"<!-- example: (\S+)[^>]*-->\s*```cpp\n(.*?)```", text, re.S):
        checked += 1
        path, block = m.group(1), m.group(2)
        source = (root / path).read_text()
        if block.strip() != source.strip():
            print(f"{md}: the block marked {path} differs from {path}")
            failures += 1
if checked == 0:
    print("no marked examples found")
    failures += 1
print(f"{checked - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
