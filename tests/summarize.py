"""Sums meson's test log into one line: "N passed, N failed, N skipped".

Every TAP line counts ("ok", "not ok", "# SKIP"); a test program that
crashed or exited non-zero without reporting a failing case counts as one
failure, so a crash is never hidden.
"""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1], encoding="utf-8") as log:
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

line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
