#!/usr/bin/env python3
"""Soak test (not in CI): the stock nginx with the built module under wrk
for a while, with a mix of authenticated page views, SAML issuances (/aws),
launcher pages, unauthenticated redirects and login-form fetches
(tests/soak/mix.lua), plus a Python loop doing full logins (form, CSRF,
bcrypt in the thread pool) at the same time. Reports the 5xx count, worker
crashes and the RSS of each worker at start and end.

    tests/soak/soak.py [--build build] [--duration 600] [--connections 16]
    tests/soak/soak.py --build build-asan --duration 120 --leak-check
    tests/soak/soak.py --build build --valgrind     # the edgeidp program only

--leak-check needs a -Db_sanitize=address build: nginx runs with the ASan
runtime preloaded and leak detection ON in the workers; at the graceful stop
every worker reports leaks it can prove (LeakSanitizer), and any report
fails the run. --valgrind runs `edgeidp saml-response` and `edgeidp check`
under valgrind --leak-check=full.

Exit status 0 only if there was no 5xx, no crash, no sanitizer report and
no worker grew by more than --max-growth-mb.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("EDGEIDP_BUILD_ROOT", "build"))
    ap.add_argument("--duration", type=int, default=600, help="seconds of load (default 600)")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=15, help="seconds before the start RSS")
    ap.add_argument("--max-growth-mb", type=float, default=16.0)
    ap.add_argument("--leak-check", action="store_true",
                    help="sanitized build: LeakSanitizer on in the nginx workers")
    ap.add_argument("--valgrind", action="store_true",
                    help="only run the edgeidp program under valgrind and exit")
    return ap.parse_args()


ARGS = parse_args()
BUILD = os.path.abspath(ARGS.build if os.path.isabs(ARGS.build) else os.path.join(ROOT, ARGS.build))
os.environ.setdefault("EDGEIDP_SOURCE_ROOT", ROOT)
os.environ["EDGEIDP_BUILD_ROOT"] = BUILD
os.environ["EDGEIDP_BIN"] = os.path.join(BUILD, "worker", "edgeidp")
os.environ["EDGEIDP_NGINX_MODULE"] = os.path.join(BUILD, "mod_nginx", "ngx_http_edgeidp_module.so")
if ARGS.leak_check:
    libs = [subprocess.run(["cc", f"-print-file-name={lib}"], capture_output=True, text=True,
                           check=True).stdout.strip() for lib in ("libasan.so", "libubsan.so")]
    os.environ["EDGEIDP_SANITIZER_PRELOAD"] = " ".join(lib for lib in libs if lib.startswith("/"))
    os.environ["EDGEIDP_SERVER_ASAN_OPTIONS"] = "detect_leaks=1"
    # the edgeidp program (keygen in make_setup) must not inherit anything odd
    os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1")

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import requests  # noqa: E402

from echo_upstream import EchoUpstream  # noqa: E402
from fixture import DEMO_PASSWORDS, make_setup  # noqa: E402
import servers  # noqa: E402
from servers import NginxServer  # noqa: E402


def valgrind_run():
    s = make_setup()
    try:
        exe = os.environ["EDGEIDP_BIN"]
        bad = 0
        for args in (["saml-response", "-c", s.config, "--app", "aws", "--user", "alice"],
                     ["check", "-c", s.config]):
            p = subprocess.run(["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
                                "--error-exitcode=99", exe, *args],
                               capture_output=True, text=True, timeout=600)
            summary = [line for line in p.stderr.splitlines()
                       if re.search(r"definitely lost|indirectly lost|ERROR SUMMARY", line)]
            print(f"valgrind edgeidp {args[0]}: exit {p.returncode}")
            for line in summary:
                print("   " + line.split("== ", 1)[-1])
            bad += p.returncode == 99
        return 1 if bad else 0
    finally:
        s.cleanup()


def worker_pids(master):
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == master:
                    pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return sorted(pids)


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    except (OSError, AttributeError):
        return None


def login(url, user):
    sess = requests.Session()
    form = sess.get(url + "/edgeidp/login", timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    import html
    r = sess.post(url + "/edgeidp/login", allow_redirects=False, timeout=60,
                  data={"csrf": html.unescape(token), "username": user,
                        "password": DEMO_PASSWORDS[user]})
    return sess, r.status_code


def leak_verdict(text, master):
    """LeakSanitizer reports per process (asan.PID). nginx dlclose()s the
    module and the libraries it pulled in (OpenSSL, libxml2, xmlsec) at exit,
    so what they allocated once at config load and kept in their globals is
    reported as leaked, identically in the master, which serves no requests,
    and in every worker. A worker that leaked more than the master did so
    while serving: that fails. Anything else (a crash, an ASan error) fails."""
    print(text[:6000])
    sizes = {int(pid): int(n) for pid, n in re.findall(
        r"asan\.(\d+):.*?SUMMARY: AddressSanitizer: (\d+) byte\(s\) leaked", text, re.S)}
    other = re.sub(r"(?m)^.*worker process \d+ exited with code 1$", "", text)
    if "ERROR: AddressSanitizer" in text or "runtime error" in text or \
            re.search(r"exited on signal|exit signal", other):
        return ["a sanitizer error or a crash (above)"]
    base = sizes.get(master)
    workers = {pid: n for pid, n in sizes.items() if pid != master}
    print(f"leak check: master {base} bytes at exit, workers {workers}")
    if base is None and workers:
        return ["workers leaked and the master did not"]
    grew = [pid for pid, n in workers.items() if n > base]
    if grew:
        return [f"workers {grew} leaked more than the master (request-time leaks)"]
    print("leak check: no request-time leaks (only the config-time allocations the "
          "master reports too)")
    return []


def main():
    if ARGS.valgrind:
        return valgrind_run()
    setup = make_setup()
    up = EchoUpstream().start()
    srv = NginxServer(setup, up.url)
    srv.start()
    failures = []
    try:
        url = srv.url("").rstrip("/")
        sess, st = login(url, "alice")
        assert st == 302, st
        cookie = "; ".join(f"{k}={v}" for k, v in sess.cookies.items())
        env = dict(os.environ, SOAK_COOKIE=cookie)
        lua = os.path.join(ROOT, "tests", "soak", "mix.lua")
        wrk = ["wrk", "-t", str(ARGS.threads), "-c", str(ARGS.connections), "--latency",
               "-s", lua]
        print(f"soak: nginx {srv.dir}, {ARGS.duration} s, {ARGS.connections} connections",
              flush=True)
        subprocess.run(wrk + ["-d", f"{ARGS.warmup}s", url], env=env, capture_output=True,
                       check=True, timeout=ARGS.warmup + 60)
        workers = worker_pids(srv.proc.pid)
        start = {p: rss_kb(p) for p in workers}
        print("workers at start (after warm-up): " +
              ", ".join(f"{p}: {kb / 1024:.1f} MB" for p, kb in start.items()), flush=True)

        logins = {"n": 0, "5xx": 0, "other": 0}
        stop = threading.Event()

        def login_loop():
            users = ["alice", "bob", "carol"]
            while not stop.is_set():
                try:
                    _, code = login(url, users[logins["n"] % 3])
                except Exception:  # noqa: BLE001 - counted, not fatal
                    code = 0
                logins["n"] += 1
                if code >= 500:
                    logins["5xx"] += 1
                elif code != 302:
                    logins["other"] += 1
                stop.wait(0.2)

        t = threading.Thread(target=login_loop, daemon=True)
        t.start()
        samples = []

        def sampler():
            while not stop.wait(30):
                samples.append({p: rss_kb(p) for p in workers})

        threading.Thread(target=sampler, daemon=True).start()
        t0 = time.monotonic()
        p = subprocess.run(wrk + ["-d", f"{ARGS.duration}s", url], env=env, capture_output=True,
                           text=True, timeout=ARGS.duration + 120)
        stop.set()
        t.join(timeout=120)
        elapsed = time.monotonic() - t0
        print(p.stdout.strip())
        m = re.search(r"SOAK requests=(\d+) 5xx=(\d+) 4xx=(\d+) socket_errors=(\d+)", p.stdout)
        if not m:
            failures.append("no wrk summary")
        else:
            n, s5, s4, sock = map(int, m.groups())
            print(f"wrk: {n} requests in {elapsed:.0f} s ({n / elapsed:.0f}/s), 5xx {s5}, "
                  f"4xx {s4}, socket errors {sock}")
            if s5:
                failures.append(f"{s5} 5xx answers")
        print(f"logins: {logins['n']} (5xx {logins['5xx']}, not 302 {logins['other']})")
        if logins["5xx"]:
            failures.append(f"{logins['5xx']} login 5xx")
        now = worker_pids(srv.proc.pid)
        if now != workers:
            failures.append(f"worker set changed {workers} -> {now} (a crash?)")
        end = {pid: rss_kb(pid) for pid in workers}
        for pid in workers:
            a, b = start.get(pid), end.get(pid)
            trail = " ".join(f"{s[pid] / 1024:.1f}" for s in samples if s.get(pid))
            print(f"worker {pid}: RSS start {a / 1024:.1f} MB, end "
                  f"{(b or 0) / 1024:.1f} MB (every 30 s: {trail})")
            # (under ASan the quarantine fills up first: no growth check there)
            if a and b and (b - a) / 1024 > ARGS.max_growth_mb and not ARGS.leak_check:
                failures.append(f"worker {pid} grew {(b - a) / 1024:.1f} MB")
        crashes = srv.crashes()
        print(f"worker crashes: {len(crashes)}")
        failures += crashes
    finally:
        master = srv.proc.pid if srv.proc else None
        try:
            # a graceful stop: workers exit normally (LeakSanitizer runs then)
            if srv.proc and srv.proc.poll() is None:
                srv.proc.send_signal(3)  # SIGQUIT
                srv.proc.wait(timeout=60)
            srv.stop()
        except servers.ServerError as e:
            if ARGS.leak_check:
                failures += leak_verdict(str(e), master)
            else:
                failures.append("at stop: " + str(e)[:20000])
        up.stop()
        setup.cleanup()
        shutil.rmtree(srv.dir, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    print("soak: " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
