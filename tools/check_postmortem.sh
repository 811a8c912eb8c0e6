#!/usr/bin/env bash
# The README's post-mortem, as a test: crash_example dies with records still
# queued, and the log file plus the decoded dump hold every record once.
#   check_postmortem.sh <crash_example> <agora-log-decode>
set -uo pipefail
example=$(realpath "$1") decode=$(realpath "$2")
dir=$(mktemp -d "${TMPDIR:-/tmp}/agora-postmortem-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"

"$example" 2>stderr.txt
status=$?
[ "$status" -eq 139 ] || { echo "crash_example exited $status, expected 139 (SIGSEGV)"; cat stderr.txt; exit 1; }
grep -q "saved to logs/crash-example.log.crash-" stderr.txt || { echo "no dump line on stderr:"; cat stderr.txt; exit 1; }

dumps=(logs/crash-example.log.crash-*.bin)
[ ${#dumps[@]} -eq 1 ] && [ -f "${dumps[0]}" ] || { echo "expected one dump, found: ${dumps[*]}"; exit 1; }
"$decode" --info "${dumps[0]}" >info.txt || { echo "--info failed"; cat info.txt; exit 1; }
grep -q "crash:.*SIGSEGV" info.txt || { echo "--info does not name the signal:"; cat info.txt; exit 1; }
"$decode" "${dumps[0]}" >decoded.jsonl || { echo "decoding failed"; exit 1; }

# 100,000 quotes and the CRITICAL line, in the log or the dump, each once.
cat logs/crash-example.log decoded.jsonl | grep -o '"message":"Quote AAPL bid 189.25 seq [0-9]*"' | sort -u >quotes.txt
total=$(cat logs/crash-example.log decoded.jsonl | grep -c '"message":"Quote AAPL')
unique=$(wc -l <quotes.txt)
[ "$total" -eq 100000 ] && [ "$unique" -eq 100000 ] || { echo "quotes: $total lines, $unique distinct; expected 100000 of each"; exit 1; }
[ "$(cat logs/crash-example.log decoded.jsonl | grep -c 'is crossed, giving up')" -eq 1 ] || { echo "the CRITICAL line is not there exactly once"; exit 1; }
tail -n 1 decoded.jsonl | grep -q '"level":"CRITICAL","message":"Fatal signal SIGSEGV' || { echo "last decoded line is not the crash note:"; tail -n 1 decoded.jsonl; exit 1; }
echo "post-mortem ok: $(grep -c . decoded.jsonl) lines decoded from ${dumps[0]}"
