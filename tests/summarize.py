"""Sums meson's test logs into one line: "N passed, N failed, N skipped".

    summarize.py TESTLOG.json [TESTLOG.json ...]
    summarize.py --total A/testlog.json B/testlog.json   # "total: ..." (.ci/run)

Every TAP line counts ("ok", "not ok", "# SKIP"); a test program that
crashed or exited non-zero without reporting a failing case counts as one
failure, so a crash is never hidden. A log that does not exist (its build
failed) counts as one failure too.
"""
import json
import re
import sys

args = sys.argv[1:]
prefix = ""
if args and args[0] == "--total":
    prefix = "total: "
    args = args[1:]

passed = failed = skipped = 0
for path in args:
    try:
        log = open(path, encoding="utf-8")
    except FileNotFoundError:
        print(f"{path}: no test log (the build or the test run did not happen)", file=sys.stderr)
        failed += 1
        continue
    with log:
        for line in log:
            entry = json.loads(line)
            out = entry.get("stdout") or ""
            ok = len(re.findall(r"^ok\b(?!.*# ?SKIP)", out, re.M | re.I))
            skip = len(re.findall(r"^ok\b.*# ?SKIP", out, re.M | re.I))
            bad = len(re.findall(r"^not ok\b", out, re.M))
            passed += ok
            skipped += skip
            failed += bad
            if entry.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and bad == 0:
                failed += 1
                print(f"{entry.get('name')}: {entry.get('result')} with no failing case reported",
                      file=sys.stderr)

line = f"{prefix}{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
