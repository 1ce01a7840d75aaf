#!/usr/bin/python3
"""SCIM push benchmark (not part of `meson test`).

Against tests/integration/scim_server.py on loopback:
  1. initial sync of USERS users and GROUPS groups (wall time, requests sent
     vs the minimum the plan needs),
  2. no-op re-sync (target: zero writes, under 2 s),
  3. one-user change (target: one write).

  EDGEIDP_BIN=build/worker/edgeidp python3 tests/bench/scim_bench.py [USERS GROUPS]
  (env: SCIM_IN_FLIGHT=N requests in flight, SCIM_LATENCY_MS=N per request)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from scim_server import ScimServer  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
EDGEIDP = os.environ.get("EDGEIDP_BIN", os.path.join(ROOT, "build", "worker", "edgeidp"))
TOKEN = "bench-" + "x" * 500


def write_directory(path, users, groups, rename=None):
    out = []
    for g in range(groups):
        out.append(f'[[group]]\nname = "grp{g:04}"\n')
    for u in range(users):
        name = f"User {u:05}" if rename != u else f"Renamed {u:05}"
        # Each user in two groups: 2 * users memberships in all.
        gs = f'"grp{u % groups:04}", "grp{(u * 7 + 3) % groups:04}"'
        out.append(f'[[user]]\nusername = "user{u:05}"\nname = "{name}"\n'
                   f'email = "user{u:05}@example.com"\ngroups = [{gs}]\n')
    with open(path + ".new", "w") as f:
        f.write("".join(out))
    os.rename(path + ".new", path)


def run(*args):
    t0 = time.monotonic()
    p = subprocess.run([EDGEIDP, "scim", *args], capture_output=True, text=True)
    return time.monotonic() - t0, p


def main():
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    groups = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    in_flight = int(os.environ.get("SCIM_IN_FLIGHT", "8"))
    d = tempfile.mkdtemp(prefix="edgeidp-scim-bench-")
    # SCIM_LATENCY_MS simulates the round trip to AWS, where requests in
    # flight (not loopback speed) decide the wall time.
    latency = float(os.environ.get("SCIM_LATENCY_MS", "0")) / 1000
    server = ScimServer(TOKEN, max_results=100, delay=latency)
    url = server.start()
    try:
        cfg = os.path.join(d, "edgeidp.toml")
        with open(os.path.join(ROOT, "conf", "edgeidp.toml")) as f:
            base = f.read()
        with open(cfg, "w") as f:
            f.write(base + f'\n[[scim]]\nname = "bench"\nendpoint = "{url}"\n'
                    f'token_file = "token"\nstate = "state.db"\nmax_in_flight = {in_flight}\n')
        fd = os.open(os.path.join(d, "token"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, TOKEN.encode())
        os.close(fd)
        directory = os.path.join(d, "directory.toml")
        write_directory(directory, users, groups)

        t, p = run("plan", "-c", cfg)
        m = re.search(r"at least (\d+) request", p.stdout)
        minimum = int(m.group(1)) if m else -1
        print(f"plan: {t:.2f} s, minimum requests {minimum}")

        t, p = run("sync", "-c", cfg)
        assert p.returncode == 0, p.stderr[-2000:]
        sent = sum(server.counts.values())
        print(f"initial sync: {users} users, {groups} groups, {2 * users} memberships: "
              f"{t:.2f} s wall, {sent} requests (minimum {minimum}), "
              f"{sent / t:.0f} req/s, in flight {in_flight}, "
              f"{server.connections} connection(s); {dict(server.counts)}")
        assert not server.rejections, server.rejections[:3]

        server.reset_counts()
        server.delay = 0
        t, p = run("sync", "-c", cfg)
        assert p.returncode == 0
        print(f"no-op re-sync: {t:.2f} s wall, {server.writes()} writes, "
              f"{sum(server.counts.values())} requests")

        write_directory(directory, users, groups, rename=42)
        server.reset_counts()
        t, p = run("sync", "-c", cfg)
        assert p.returncode == 0
        print(f"one-user change: {t:.2f} s wall, {server.writes()} write(s) {dict(server.counts)}")
    finally:
        server.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
