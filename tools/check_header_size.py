#!/usr/bin/env python3
"""Checks that the umbrella header stays cheap to include: preprocesses
include/agora/log.hpp with the given compiler command and flags and fails when
the output has more lines than the limit, printing the count either way.

usage: check_header_size.py LIMIT [HEADER] -- COMPILER... FLAGS...
HEADER is the name as included (default agora/log.hpp); the flags must make
it and fmt findable (-I...) and select C++20."""
import subprocess
import sys

args = sys.argv[1:]
if "--" not in args:
    sys.exit(__doc__)
split = args.index("--")
own, command = args[:split], args[split + 1:]
if not own or not command:
    sys.exit(__doc__)
limit = int(own[0])
header = own[1] if len(own) > 1 else "agora/log.hpp"

result = subprocess.run(command + ["-E", "-x", "c++", "-"], input=f"#include <{header}>\n",
                        capture_output=True, text=True)
if result.returncode != 0:
    print(f"preprocessing <{header}> failed ({' '.join(command)}):\n{result.stderr}")
    print("0 passed, 1 failed")
    sys.exit(1)
lines = result.stdout.count("\n")
if lines > limit:
    print(f"<{header}> preprocesses to {lines} lines, more than the limit of {limit}: "
          "keep heavy includes out of the public headers")
    print("0 passed, 1 failed")
    sys.exit(1)
print(f"<{header}> preprocesses to {lines} lines (limit {limit})")
print("1 passed, 0 failed")
