#!/usr/bin/python3
"""Gateway benchmarks: what edgeidp's session check costs inside the web
server, measured with wrk on loopback against the stock nginx or Apache
httpd with the built module. Not part of `meson test`.

    tests/bench/gateway_bench.py nginx  [--build DIR] [--seconds 8] [--rounds 3] [--latency-rounds 5]
                                        [--paced-connections 32] [--latency-connections 8]
    tests/bench/gateway_bench.py apache [--build DIR] ...

The server (one nginx worker; Apache's event MPM) runs pinned to one CPU and
wrk (one thread) to another (taskset), both at nice -10 when run as root. Every case fetches the same small
static file with the same valid session cookie; the cases are interleaved
in rounds and each rate is the median over the rounds, so the ratios compare
numbers taken in one run:

  nginx   open         location without edgeidp (the file as nginx serves it)
          protected    `edgeidp_protect on` (the session check, then the file)
          auth_request `auth_request` to a local auth service over proxy_pass
                       with upstream keepalive: a second server block that
                       answers 204, the best an external forward-auth gateway
                       can do
          p99 of protected requests idle, and during a login storm (5
          logins/s of a bcrypt cost-10 user through the portal), at two
          loads: "paced" (paced.lua: a steady load below saturation, the
          target) and "saturated" (wrk flat out; reported, see
          docs/benchmarks.md for why it is not the target)
  apache  open vs protected (`AuthType EdgeIdP`, `Require valid-user`)

Prints `ratio NAME X` lines (targets: protected/unprotected >= 0.90,
protected/auth_request >= 2, p99_storm/p99_idle <= 2 at the paced load), and `cpu_ratio`
lines: the same comparison in requests per CPU-second of the server's
processes, which other work on a shared machine disturbs much less than
requests per second.
"""
import argparse
import html
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import requests  # noqa: E402

BCRYPT_USER = "storm"
BCRYPT_PASSWORD = "storm-bench-pw"
PACED = os.path.join(HERE, "paced.lua")
FILE_BODY = ("<!doctype html><html lang=en><title>bench</title>"
             "<p>" + "x" * 480 + "</p></html>\n")   # ~550 bytes, like a small page


# Other work on a shared machine disturbs the numbers less when the server
# and wrk run at a higher priority (root only).
NICE = ["nice", "-n", "-10"] if os.geteuid() == 0 else []


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        os.environ.setdefault("EDGEIDP_BIN", os.path.join(self.build, "worker", "edgeidp"))
        os.environ.setdefault("EDGEIDP_SOURCE_ROOT", ROOT)
        os.environ.setdefault("EDGEIDP_BUILD_ROOT", self.build)
        import fixture
        from servers import free_port, open_to_workers
        self.fixture = fixture
        self.free_port = free_port
        self.setup = fixture.make_setup()
        self.dir = tempfile.mkdtemp(prefix="edgeidp-bench-")
        os.chmod(self.dir, 0o755)
        self.proc = None
        self.port = None
        self._add_bcrypt_user()
        open_to_workers(self.setup.dir)
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise SystemExit("needs two CPUs (server and wrk on different ones)")
        self.server_cpu, self.client_cpu = str(cpus[0]), str(cpus[1])
        self.htdocs = os.path.join(self.dir, "htdocs")
        for sub in ("open", "protected", "fwd"):
            os.makedirs(os.path.join(self.htdocs, sub))
            with open(os.path.join(self.htdocs, sub, "f.html"), "w", encoding="ascii") as f:
                f.write(FILE_BODY)
        for root, dirs, files in os.walk(self.dir):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)

    def _add_bcrypt_user(self):
        p = self.fixture.edgeidp("hash-password", "--method", "bcrypt", "--cost", "10",
                                 stdin=BCRYPT_PASSWORD + "\n", check=True)
        hashed = p.stdout.strip().splitlines()[-1]
        assert hashed.startswith("$2"), hashed
        with open(self.setup.directory, "a", encoding="utf-8") as f:
            f.write(f'\n[[user]]\nusername = "{BCRYPT_USER}"\nname = "Storm User"\n'
                    f'email = "storm@example.com"\npassword = "{hashed}"\n'
                    f'groups = ["staff"]\n')

    # -- servers ---------------------------------------------------------
    def start(self, argv, conf_text, conf_name):
        conf = os.path.join(self.dir, conf_name)
        with open(conf, "w", encoding="utf-8") as f:
            f.write(conf_text)
        log = open(os.path.join(self.dir, "stderr.log"), "w", encoding="utf-8")
        self.proc = subprocess.Popen([*NICE, "taskset", "-c", self.server_cpu, *argv],
                                     stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("server exited:\n" + self.logs())
            try:
                requests.get(self.url("/open/f.html"), timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise SystemExit("server did not answer:\n" + self.logs())

    def logs(self):
        out = ""
        for name in ("stderr.log", "error.log"):
            p = os.path.join(self.dir, name)
            if os.path.exists(p):
                with open(p, encoding="utf-8", errors="replace") as f:
                    out += f.read()[-4000:]
        return out

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)   # leftover children
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self):
        self.stop()
        if os.environ.get("EDGEIDP_KEEP_TMP"):
            print(f"# kept {self.dir} {self.setup.dir}")
            return
        shutil.rmtree(self.dir, ignore_errors=True)
        self.setup.cleanup()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def nginx(self):
        module = os.path.join(self.build, "mod_nginx", "ngx_http_edgeidp_module.so")
        self.port = self.free_port()
        auth_port = self.free_port()
        d = self.dir
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        temp = "\n".join(f"    {k}_temp_path {d}/tmp_{k};" for k in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        text = f"""load_module {module};
{user}worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    edgeidp_config {self.setup.config};
    upstream auth_service {{
        server 127.0.0.1:{auth_port};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        root {self.htdocs};
        location /edgeidp/ {{ edgeidp_portal; }}
        location /open/ {{ }}
        location /protected/ {{ edgeidp_protect on; }}
        location /fwd/ {{ auth_request /_auth; }}
        location = /_auth {{
            internal;
            proxy_pass http://auth_service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }}
    }}
    server {{
        listen 127.0.0.1:{auth_port};
        location / {{ return 204; }}
    }}
}}
"""
        self.start(["/usr/sbin/nginx", "-p", d + "/", "-c", f"{d}/nginx.conf",
                    "-g", "daemon off;"], text, "nginx.conf")

    def apache(self):
        from apache_server import APACHE, APACHE_MODULES, STOCK_MODULES
        module = os.path.join(self.build, "mod_apache", "mod_edgeidp.so")
        self.port = self.free_port()
        d = self.dir
        os.makedirs(f"{d}/run", exist_ok=True)
        load = "".join(f"LoadModule {n} {APACHE_MODULES}/{so}\n" for n, so in STOCK_MODULES)
        user = "User nobody\nGroup nogroup\n" if os.geteuid() == 0 else ""
        text = f"""ServerRoot {d}
DefaultRuntimeDir {d}/run
PidFile {d}/httpd.pid
Mutex file:{d}/run default
ErrorLog {d}/error.log
LogLevel warn
Listen 127.0.0.1:{self.port}
ServerName localhost
{load}LoadModule edgeidp_module {module}
{user}
StartServers 1
ServerLimit 1
ThreadsPerChild 64
ThreadLimit 64
MinSpareThreads 1
MaxSpareThreads 64
MaxRequestWorkers 64
KeepAlive On
MaxKeepAliveRequests 0
TypesConfig /etc/mime.types
DocumentRoot {self.htdocs}
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory {self.htdocs}>
    Require all granted
</Directory>
EdgeIdPConfig {self.setup.config}
<Location /edgeidp>
    SetHandler edgeidp-portal
</Location>
<Location /protected/>
    AuthType EdgeIdP
    Require valid-user
</Location>
"""
        self.start([APACHE, "-d", d, "-f", f"{d}/httpd.conf", "-DFOREGROUND"], text,
                   "httpd.conf")

    # -- clients -----------------------------------------------------------
    def login(self, user, password, sess=None):
        sess = sess or requests.Session()
        form = sess.get(self.url("/edgeidp/login"), timeout=30)
        csrf = html.unescape(re.search(r'name="csrf" value="([^"]+)"', form.text).group(1))
        r = sess.post(self.url("/edgeidp/login"), allow_redirects=False, timeout=60,
                      data={"csrf": csrf, "username": user, "password": password})
        if r.status_code != 302 or "edgeidp" not in sess.cookies:
            raise RuntimeError(f"login failed: {r.status_code} {r.text[:200]}")
        return sess.cookies["edgeidp"]

    def server_cpu_seconds(self):
        """user+system CPU of the server's processes (all their threads)."""
        tick = os.sysconf("SC_CLK_TCK")
        pids = [self.proc.pid] + subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        total = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])   # utime, stime
            except (FileNotFoundError, ProcessLookupError):
                pass
        return total / tick

    def wrk(self, path, cookie, seconds=None, connections=None, script=None):
        """(requests/s, p99 ms, requests per server CPU-second)."""
        seconds = seconds or self.args.seconds
        connections = connections or self.args.connections
        cpu0 = self.server_cpu_seconds()
        p = sh(*NICE, "taskset", "-c", self.client_cpu, "wrk", "-t1", f"-c{connections}",
               f"-d{seconds}s", "--latency", "-H", f"Cookie: edgeidp={cookie}",
               *(["-s", script] if script else []), self.url(path), timeout=seconds + 60)
        cpu = self.server_cpu_seconds() - cpu0
        out = p.stdout
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        total = int(re.search(r"(\d+) requests in", out).group(1))
        p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors = re.search(r"Socket errors: (.*)", out)
        if non2xx or errors:
            raise RuntimeError(f"{path}: {non2xx and non2xx.group(0)} "
                               f"{errors and errors.group(0)}\n{out}")
        return rate, p99, total / max(cpu, 0.01)

    def check(self, path, cookie, want):
        r = requests.get(self.url(path), headers={"Cookie": f"edgeidp={cookie}"},
                         allow_redirects=False, timeout=10)
        assert r.status_code == want, (path, r.status_code)
        if want == 200:
            assert r.text == FILE_BODY, (path, r.text[:200])

    def fresh_cookie(self):
        """A new session for each round: wrk sends one Cookie header and
        never stores the refreshed cookie a browser would get once the
        session is a minute old (docs/benchmarks.md)."""
        return self.login("alice", "alice-demo-pw")

    def rounds(self, cases):
        rates = {name: [] for name in cases}
        per_cpu = {name: [] for name in cases}
        for i in range(self.args.rounds):
            cookie = self.fresh_cookie()
            for name, path in cases.items():
                rate, p99, eff = self.wrk(path, cookie)
                rates[name].append(rate)
                per_cpu[name].append(eff)
                print(f"# round {i + 1} {name:13s} {rate:10.0f} req/s  p99 {p99:6.2f} ms"
                      f"  {eff:10.0f} req per server CPU-s", flush=True)
        return ({k: statistics.median(v) for k, v in rates.items()},
                {k: statistics.median(v) for k, v in per_cpu.items()})


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def storm(bench, stop, counts, per_second):
    """Logins of the bcrypt user at a steady rate, each from a new client
    (GET form, POST), until stop is set; runs on the client CPU."""
    os.sched_setaffinity(0, {int(bench.client_cpu)})  # this thread only
    # The logins' client shares wrk's CPU: at SCHED_IDLE it never delays
    # wrk, whose latencies are what is measured (at normal priority the
    # Python client alone raised wrk's p99 1.8x, with logins that hash
    # nothing). Its threads inherit the policy.
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    interval = 1.0 / per_second
    nxt = time.monotonic()
    lock = threading.Lock()

    def one():
        start = time.monotonic()
        with lock:
            counts["started"] += 1
        try:
            bench.login(BCRYPT_USER, BCRYPT_PASSWORD)
            with lock:
                counts["ok"] += 1
                counts["done"].append((start, time.monotonic()))
        except Exception as e:  # noqa: BLE001  (counted and reported)
            with lock:
                counts["failed"] += 1
                counts["last_error"] = str(e)[:200]

    while not stop.is_set():
        threading.Thread(target=one, daemon=True).start()
        nxt += interval
        time.sleep(max(0.0, nxt - time.monotonic()))


def storm_p99(bench, counts, cookie, conns, script):
    """wrk's p99 during a login storm; how many logins finished while wrk
    ran, and how long all of this storm's logins took."""
    stop = threading.Event()
    t = threading.Thread(target=storm, args=(bench, stop, counts, 5), daemon=True)
    counts["done"] = []
    t.start()
    time.sleep(1.0)   # the storm is under way
    wrk_start = time.monotonic()
    _, p99, _ = bench.wrk("/protected/f.html", cookie, connections=conns, script=script)
    wrk_end = time.monotonic()
    stop.set()
    t.join()
    deadline = time.monotonic() + 60   # the last logins finish
    while counts["ok"] + counts["failed"] < counts["started"] and time.monotonic() < deadline:
        time.sleep(0.1)
    # Logins are not free either: the hashes run at idle priority
    # (docs/nginx.md), so a saturated server serves few of them.
    during = sum(1 for s, e in counts["done"] if wrk_start <= e <= wrk_end)
    return p99, during, sorted(e - s for s, e in counts["done"])


def run_nginx(bench):
    bench.nginx()
    cookie = bench.login("alice", "alice-demo-pw")
    for path, want in (("/open/f.html", 200), ("/protected/f.html", 200),
                       ("/fwd/f.html", 200)):
        bench.check(path, cookie, want)
    bench.check("/protected/f.html", "nope", 302)
    bench.wrk("/open/f.html", cookie, seconds=2)   # warm up
    cases = {"unprotected": "/open/f.html", "protected": "/protected/f.html",
             "auth_request": "/fwd/f.html"}
    rates, per_cpu = bench.rounds(cases)

    # p99 of protected requests, idle and during a login storm, interleaved:
    # at a steady load below saturation (the target) and at saturation.
    loads = {"paced": (bench.args.paced_connections, PACED),
             "saturated": (bench.args.latency_connections, None)}
    idle = {k: [] for k in loads}
    busy = {k: [] for k in loads}
    served = {k: [] for k in loads}
    paced_rates = []
    counts = {"ok": 0, "failed": 0, "started": 0, "done": []}
    for i in range(bench.args.latency_rounds):
        for load, (conns, script) in loads.items():
            cookie = bench.fresh_cookie()
            rate0, p99, _ = bench.wrk("/protected/f.html", cookie, connections=conns,
                                      script=script)
            idle[load].append(p99)
            p99, during, took = storm_p99(bench, counts, cookie, conns, script)
            busy[load].append(p99)
            served[load].append(during)
            if script:
                paced_rates.append(rate0)
            print(f"# round {i + 1} {load:9s} p99 idle {idle[load][-1]:.2f} ms, storm "
                  f"{p99:.2f} ms ({rate0:.0f} req/s idle); logins finished while wrk ran: "
                  f"{during / bench.args.seconds:.1f}/s, login time median "
                  f"{statistics.median(took) if took else 0:.2f} s, "
                  f"max {max(took) if took else 0:.2f} s", flush=True)
    if counts["failed"]:
        print(f"# {counts['failed']} storm logins failed: {counts.get('last_error')}")

    for k, v in rates.items():
        print(f"rate {k} {v:.0f} req/s, {per_cpu[k]:.0f} req per server CPU-s")
    paced_rate = statistics.median(paced_rates)
    for load, (conns, _) in loads.items():
        print(f"p99_{load} idle {statistics.median(idle[load]):.3f} ms, storm "
              f"{statistics.median(busy[load]):.3f} ms (wrk -c{conns}); storm logins "
              f"served while wrk ran: {statistics.median(served[load]) / bench.args.seconds:.1f}/s")
    print(f"paced load {paced_rate:.0f} req/s = "
          f"{paced_rate / rates['protected']:.2f} of the protected location's saturated rate")
    print(f"ratio protected/unprotected {rates['protected'] / rates['unprotected']:.3f}")
    print(f"ratio protected/auth_request {rates['protected'] / rates['auth_request']:.3f}")
    for load in loads:
        suffix = "" if load == "paced" else "_saturated"
        print(f"ratio p99_storm/p99_idle{suffix} "
              f"{statistics.median(busy[load]) / statistics.median(idle[load]):.3f}")
    print(f"cpu_ratio protected/unprotected "
          f"{per_cpu['protected'] / per_cpu['unprotected']:.3f}")
    print(f"cpu_ratio protected/auth_request "
          f"{per_cpu['protected'] / per_cpu['auth_request']:.3f}")


def run_apache(bench):
    bench.apache()
    cookie = bench.login("alice", "alice-demo-pw")
    bench.check("/open/f.html", cookie, 200)
    bench.check("/protected/f.html", cookie, 200)
    bench.check("/protected/f.html", "nope", 302)
    bench.wrk("/open/f.html", cookie, seconds=2)
    rates, per_cpu = bench.rounds({"unprotected": "/open/f.html",
                                   "protected": "/protected/f.html"})
    for k, v in rates.items():
        print(f"rate {k} {v:.0f} req/s, {per_cpu[k]:.0f} req per server CPU-s")
    print(f"ratio protected/unprotected {rates['protected'] / rates['unprotected']:.3f}")
    print(f"cpu_ratio protected/unprotected "
          f"{per_cpu['protected'] / per_cpu['unprotected']:.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("server", choices=("nginx", "apache"))
    ap.add_argument("--build", default=os.environ.get("EDGEIDP_BUILD_ROOT",
                                                      os.path.join(ROOT, "build")))
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--latency-connections", type=int, default=8)
    ap.add_argument("--paced-connections", type=int, default=32)
    ap.add_argument("--latency-rounds", type=int, default=5)
    args = ap.parse_args()
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: apt-get install wrk util-linux")
    bench = Bench(args)
    try:
        print(f"# {args.server}: server on CPU {bench.server_cpu}, wrk -t1 on CPU "
              f"{bench.client_cpu}, {args.seconds}s x {args.rounds} rounds, "
              f"-c{args.connections}, {len(FILE_BODY)}-byte file", flush=True)
        (run_nginx if args.server == "nginx" else run_apache)(bench)
    finally:
        bench.cleanup()


if __name__ == "__main__":
    main()
