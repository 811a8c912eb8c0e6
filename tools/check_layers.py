#!/usr/bin/env python3
"""The dependency rule of src/ (docs/architecture.md, "Layers"): a layer
includes headers of the layers below it only. Run by the build (a failure
stops it), next to the link check of each layer's static library.

  check_layers.py SOURCE_ROOT STAMP_FILE

Checks every #include "x/..." in src/<layer>/ and tools/ against RULE, and
forbids relative includes that climb out of a folder ("../").
"""
import pathlib
import re
import sys

# layer -> the layers it may use (besides itself). Public headers
# (<agora/log/...>) are every layer's.
RULE = {
    "base": [],
    "format": ["base"],
    "frontend": ["format", "base"],
    "sinks": ["format", "base"],
    "config": ["base"],
    "backend": ["frontend", "sinks", "format", "base"],
    "crash": ["backend", "frontend", "format", "base"],
    "decode": ["format", "base"],
    "audit": ["sinks", "format", "base"],
    "lifecycle": ["audit", "crash", "backend", "config", "sinks", "frontend", "format", "base"],
    # libagora-log-grpc: the public API only (it is not part of libagora-log)
    "integrations": [],
    # agora-log-decode
    "tools": ["decode", "audit", "format", "base"],
}

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def check(root):
    problems = []
    folders = {layer: root / "src" / layer for layer in RULE if layer != "tools"}
    folders["tools"] = root / "tools"
    for layer, folder in folders.items():
        if not folder.is_dir():
            problems.append(f"{folder}: missing layer folder")
            continue
        allowed = set(RULE[layer]) | {layer}
        for path in sorted(folder.rglob("*")):
            if path.suffix not in (".hpp", ".cpp", ".h"):
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                where = f"{path.relative_to(root)}:{n}"
                if target.startswith("../") or "/../" in target:
                    problems.append(f"{where}: relative include \"{target}\" (include by layer: \"layer/file.hpp\")")
                    continue
                if "/" not in target:
                    continue  # a header of the same folder
                used = target.split("/")[0]
                if used in RULE and used not in allowed:
                    problems.append(f"{where}: {layer}/ may not include \"{target}\" "
                                    f"({layer} uses only: {', '.join(RULE[layer]) or 'nothing'})")
    for extra in sorted((root / "src").iterdir()):
        if extra.is_dir() and extra.name not in RULE:
            problems.append(f"{extra.relative_to(root)}: a folder that is not a layer (add it to RULE and the docs)")
        elif extra.is_file() and extra.suffix in (".cpp", ".hpp"):
            problems.append(f"{extra.relative_to(root)}: a source outside any layer folder")
    return problems


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root = pathlib.Path(sys.argv[1])
    problems = check(root)
    if problems:
        print("layer rule violated (docs/architecture.md, \"Layers\"):", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)
    pathlib.Path(sys.argv[2]).write_text("ok\n")


if __name__ == "__main__":
    main()
