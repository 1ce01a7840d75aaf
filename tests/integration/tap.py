"""A tiny TAP producer for the integration scripts.

Each script defines functions named test_* and ends with tap.main(globals()).
Tests run in file order; an AssertionError or any other exception is a
failure, with its message and traceback as TAP diagnostics. meson counts
every "ok"/"not ok" line.
"""
import inspect
import os
import sys
import traceback


class Skip(Exception):
    """Raise to skip a test: reported as '# SKIP', never as a pass."""


def main(namespace):
    tests = [(name, fn) for name, fn in namespace.items()
             if name.startswith("test_") and callable(fn)]
    tests.sort(key=lambda item: inspect.getsourcelines(item[1])[1])
    only = os.environ.get("EDGEIDP_TEST_ONLY")
    if only:
        tests = [t for t in tests if only in t[0]]
    print(f"1..{len(tests)}", flush=True)
    failed = 0
    setup = namespace.get("setup_module")
    teardown = namespace.get("teardown_module")
    try:
        if setup:
            setup()
    except Exception:
        for i, (name, _) in enumerate(tests, 1):
            print(f"not ok {i} - {name}  # setup failed")
        _diag(traceback.format_exc())
        sys.exit(1)
    try:
        for i, (name, fn) in enumerate(tests, 1):
            try:
                fn()
            except Skip as why:
                print(f"ok {i} - {name} # SKIP {why}", flush=True)
                continue
            except Exception:
                failed += 1
                print(f"not ok {i} - {name}", flush=True)
                _diag(traceback.format_exc())
                continue
            print(f"ok {i} - {name}", flush=True)
    finally:
        if teardown:
            teardown()
    sys.exit(1 if failed else 0)


def _diag(text):
    for line in text.rstrip().splitlines():
        print("# " + line, flush=True)
