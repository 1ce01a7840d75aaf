"""Real web servers with the edgeidp module, for the gateway scenarios.

A scenario talks to a Server and never to a particular web server: the same
test file runs against nginx today and Apache httpd later. Every Server
serves one site with the same layout (see SITE), listens on 127.0.0.1 on a
port chosen at run time, keeps its config, logs and state in its own temp
folder, and is stopped (never left running) by stop() or at exit.

    from servers import make_server
    srv = make_server(setup, upstream_url)     # EDGEIDP_SERVER=nginx (default)
    srv.start(); srv.url("/app/"); srv.error_log(); srv.reload(); srv.stop()

SITE, the layout every implementation serves:

    /edgeidp/  the portal (login, logout, launcher, metadata, /app/NAME)
    /app/      protected, any signed-in user; proxied to the upstream
    /admin/    protected, group aws-admins only; proxied to the upstream
    /open/     not protected; proxied to the upstream (headers still stripped)
    /aws       IdP-initiated sign-in to the SAML app "aws"
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

# Sanitizer builds (-Db_sanitize=..., tests/integration/meson.build): the
# stock servers are not instrumented, so the runtimes the module was linked
# with (EDGEIDP_SANITIZER_PRELOAD, from `cc -print-file-name=libasan.so`)
# must be preloaded into them, or the sanitized module does not load. Server
# binaries are then started through a small exec wrapper that sets
# LD_PRELOAD and the options: reports go to files in SANITIZER_DIR (workers
# drop privileges, so it is world-writable), leaks of the servers themselves
# are not checked (detect_leaks=0), and UBSan keeps going so the report is
# written. Server.stop() fails if any report was written.
SANITIZER_PRELOAD = os.environ.get("EDGEIDP_SANITIZER_PRELOAD", "").strip()
SANITIZER_DIR = None
_seen_reports = set()


def _sanitizer_wrapper(binary):
    """The server binary to run: itself, or under a sanitizer build an exec
    wrapper (same pid, so signals and waits work unchanged)."""
    global SANITIZER_DIR
    if not SANITIZER_PRELOAD:
        return binary
    if SANITIZER_DIR is None:
        SANITIZER_DIR = tempfile.mkdtemp(prefix="edgeidp-sanitizer-")
        os.chmod(SANITIZER_DIR, 0o1777)
    d = SANITIZER_DIR
    env = {
        "LD_PRELOAD": SANITIZER_PRELOAD,
        # (the soak test's leak run turns leak checking on for the workers)
        "ASAN_OPTIONS": os.environ.get("EDGEIDP_SERVER_ASAN_OPTIONS", "detect_leaks=0") +
                        f":halt_on_error=1:log_path={d}/asan",
        "UBSAN_OPTIONS": f"print_stacktrace=1:halt_on_error=0:log_path={d}/ubsan",
    }
    path = os.path.join(d, os.path.basename(binary) + "-wrapper")
    with open(path, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\n")
        for k, v in env.items():
            f.write(f"export {k}='{v}'\n")
        f.write(f'exec {binary} "$@"\n')
    os.chmod(path, 0o755)
    return path


def sanitizer_reports():
    """Sanitizer reports written since the last call (text of each file)."""
    if SANITIZER_DIR is None:
        return []
    out = []
    for name in sorted(os.listdir(SANITIZER_DIR)):
        p = os.path.join(SANITIZER_DIR, name)
        if name.endswith("-wrapper") or p in _seen_reports:
            continue
        _seen_reports.add(p)
        with open(p, encoding="utf-8", errors="replace") as f:
            out.append(f"{name}:\n{f.read()}")
    return out


NGINX = _sanitizer_wrapper(os.environ.get("EDGEIDP_NGINX", "/usr/sbin/nginx"))
SOURCE_ROOT = os.environ.get(
    "EDGEIDP_SOURCE_ROOT",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_ROOT = os.environ.get("EDGEIDP_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))
NGINX_MODULE = os.environ.get(
    "EDGEIDP_NGINX_MODULE",
    os.path.join(BUILD_ROOT, "mod_nginx", "ngx_http_edgeidp_module.so"))

_running = []


def _stop_all():
    problems = []
    for s in list(_running):
        try:
            s.stop()
        except ServerError as e:
            problems.append(str(e))
    problems += sanitizer_reports()
    if problems:
        # at exit: the only way left to fail the test program
        print("\n".join("# " + line for text in problems for line in text.splitlines()),
              flush=True)
        os._exit(1)
    if SANITIZER_DIR and not os.environ.get("EDGEIDP_KEEP_TMP"):
        shutil.rmtree(SANITIZER_DIR, ignore_errors=True)


atexit.register(_stop_all)


def free_port():
    """A port nobody listens on right now (bind port 0, read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_to_workers(path):
    """Server workers drop root privileges (nginx: user nobody), but they
    re-read the directory file when it changes: make the fixture's folder
    traversable and its files (not the keys) readable."""
    os.chmod(path, 0o755)
    for name in os.listdir(path):
        p = os.path.join(path, name)
        if os.path.isfile(p) and not name.endswith(".key"):
            os.chmod(p, 0o644)


class ServerError(Exception):
    pass


class Server:
    """The interface the scenarios use, and the start, stop and config test
    procedures every server shares: a process of its own (a process group
    leader, in the foreground) with stdout and stderr in DIR/stderr.log and
    a fresh error log per start, stopped with SIGTERM (SIGKILL to the group
    after stop_timeout seconds).

    Subclasses set name, conf (the config file), stop_timeout and
    test_conf_name, and implement config_text(edgeidp_config, extra_http,
    site), _command(), _test_command(path) and _reload_process(); they may
    override _prepare_dirs(), _env(), _wait_ready() and _kill_leftovers()."""
    name = "server"
    stop_timeout = 10            # seconds from SIGTERM to SIGKILL
    test_conf_name = "test.conf"  # check_config's file, in DIR

    def __init__(self, setup, upstream_url):
        self.setup = setup
        self.upstream_url = upstream_url
        self.dir = tempfile.mkdtemp(prefix=f"edgeidp-{self.name}-")
        os.chmod(self.dir, 0o755)
        open_to_workers(setup.dir)
        self.port = None
        self.proc = None

    # -- what scenarios use --------------------------------------------
    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def error_log_path(self):
        return os.path.join(self.dir, "error.log")

    def error_log(self):
        try:
            with open(self.error_log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self):
        last = None
        for _ in range(3):  # another process may take the port in between
            self.port = free_port()
            try:
                self._start_process()
                _running.append(self)
                return self
            except ServerError as e:
                last = e
                self._stop_process()
                if "Address already in use" not in str(e):
                    break
        raise last

    def stop(self):
        """Stops the server; raises ServerError if a worker crashed or a
        sanitizer reported an error while it ran."""
        if self in _running:
            _running.remove(self)
        self._stop_process()
        problems = sanitizer_reports()
        crashes = self.crashes()
        if crashes:
            problems.insert(0, f"{self.name} crashed:\n" + "\n".join(crashes))
        if problems:
            raise ServerError("\n".join(problems))

    def crashes(self):
        """Error log lines that say a worker died (a signal, or a sanitizer
        that stopped it), from this server's logs of this run."""
        pattern = re.compile(r"exited on signal|exit signal|"
                             r"worker process \d+ exited with code [^0]")
        return [line for line in self.error_log().splitlines() if pattern.search(line)]

    def reload(self):
        """Re-reads the configuration (edgeidp.toml included); returns when
        the new configuration serves requests."""
        self._reload_process()
        if self.proc.poll() is not None:
            raise ServerError(f"{self.name} exited on reload:\n" + self.error_log())

    def cleanup(self):
        self.stop()
        if os.environ.get("EDGEIDP_KEEP_TMP"):
            print(f"# kept {self.dir}", flush=True)
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def check_config(self, edgeidp_config=None, extra_http=None, site=True, text=None):
        """Runs the server's config test (nginx -t, apache2 -t) on a config
        like the running one, or on text; returns (ok, output)."""
        path = os.path.join(self.dir, self.test_conf_name)
        if self.port is None:
            self.port = free_port()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text if text is not None else
                    self.config_text(edgeidp_config, extra_http, site))
        p = subprocess.run(self._test_command(path), capture_output=True, text=True,
                           timeout=60, env=self._env())
        return p.returncode == 0, p.stdout + p.stderr

    def config_text(self, edgeidp_config=None, extra_http=None, site=True):
        raise NotImplementedError

    def write_config(self):
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(self.config_text())

    # -- what subclasses supply -----------------------------------------
    def _command(self):
        """The argv that runs the server in the foreground on self.conf."""
        raise NotImplementedError

    def _test_command(self, path):
        """The argv of the config test of the file path."""
        raise NotImplementedError

    def _reload_process(self):
        """Signals the server to re-read its configuration and waits until
        it did (reload() then checks that it still runs)."""
        raise NotImplementedError

    def _prepare_dirs(self):
        """Folders the server needs before each start."""

    def _env(self):
        """The environment of the server and its config test (None: ours)."""
        return None

    def _wait_ready(self):
        """Returns when the started server serves requests."""
        self._wait_listening()

    def _kill_leftovers(self):
        """After the server process ended: processes it left behind."""

    # -- start and stop ---------------------------------------------------
    def _start_process(self):
        self.write_config()
        self._prepare_dirs()
        # a fresh error log per start, so a failed attempt does not linger
        if os.path.exists(self.error_log_path):
            os.rename(self.error_log_path, self.error_log_path + f".{time.time():.0f}")
        err = open(os.path.join(self.dir, "stderr.log"), "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            self._command(), stdout=err, stderr=subprocess.STDOUT, start_new_session=True,
            env=self._env())
        err.close()
        try:
            self._wait_ready()
        except ServerError as e:
            raise ServerError(str(e) + self._output()) from None

    def _stop_process(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                # the server is a process group leader (start_new_session)
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._kill_leftovers()
        self.proc = None

    # -- helpers --------------------------------------------------------
    def _wait_listening(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.name} exited with {self.proc.returncode}:\n"
                                  f"{self._output()}{self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise ServerError(f"{self.name} did not listen on {self.port}:\n{self.error_log()}")

    def _output(self):
        p = os.path.join(self.dir, "stderr.log")
        if os.path.exists(p):
            with open(p, encoding="utf-8", errors="replace") as f:
                return f.read()
        return ""


class NginxServer(Server):
    """/usr/sbin/nginx -p DIR -c DIR/nginx.conf -g 'daemon off;' with
    load_module of the built module; one master, two workers."""
    name = "nginx"
    test_conf_name = "nginx-test.conf"

    def __init__(self, setup, upstream_url, module=None, extra_http="", extra_server=""):
        super().__init__(setup, upstream_url)
        self.module = module or NGINX_MODULE
        self.extra_http = extra_http
        self.extra_server = extra_server
        self.conf = os.path.join(self.dir, "nginx.conf")

    def config_text(self, edgeidp_config=None, extra_http=None, site=True):
        d = self.dir
        cfg = edgeidp_config or self.setup.config
        extra_http = self.extra_http if extra_http is None else extra_http
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        temp = "\n".join(f"    {k}_temp_path {d}/tmp_{k};" for k in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        server = f"""
    server {{
        listen 127.0.0.1:{self.port or 1};
        server_name localhost;
        underscores_in_headers on;

        location /edgeidp/ {{
            edgeidp_portal;
        }}

        location /app/ {{
            edgeidp_protect on;
            proxy_pass {self.upstream_url};
        }}

        location /admin/ {{
            edgeidp_protect on;
            edgeidp_require_group aws-admins;
            add_header X-Edgeidp-User $edgeidp_user always;
            proxy_pass {self.upstream_url};
        }}

        location /open/ {{
            proxy_pass {self.upstream_url};
        }}

        location = /aws {{
            edgeidp_saml_app aws;
        }}
{self.extra_server}
    }}
""" if site else ""
        return f"""load_module {self.module};
{user}worker_processes 2;
error_log {d}/error.log info;
pid {d}/nginx.pid;
thread_pool default threads=4;

events {{
    worker_connections 256;
}}

http {{
    access_log {d}/access.log;
{temp}
    edgeidp_config {cfg};
{extra_http}
{server}
}}
"""

    def _prepare_dirs(self):
        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.dir, f"tmp_{k}"), exist_ok=True)

    def _command(self):
        return [NGINX, "-p", self.dir + "/", "-c", self.conf, "-g", "daemon off;"]

    def _test_command(self, path):
        return [NGINX, "-t", "-p", self.dir + "/", "-c", path]

    def _reload_process(self):
        log = self.error_log()
        before = log.count("reconfiguring")
        workers = log.count("start worker process")
        leaving = log.count("gracefully shutting down")
        refused = log.count("[emerg]")
        self.write_config()
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            log = self.error_log()
            if log.count("reconfiguring") > before and log.count("[emerg]") > refused:
                break   # the old configuration stays; the test looks at the log
            # Done when both new workers run and both old ones have closed
            # their listening sockets (an old worker logs this line just
            # before): until then an old worker may still take a new
            # connection and answer it with the old configuration.
            if (log.count("reconfiguring") > before
                    and log.count("start worker process") >= workers + 2
                    and log.count("gracefully shutting down") >= leaving + 2):
                break
            time.sleep(0.05)
        else:
            raise ServerError("nginx did not reload:\n" + self.error_log())


SERVERS = {"nginx": NginxServer}


def make_server(setup, upstream_url, kind=None, **kw):
    kind = kind or os.environ.get("EDGEIDP_SERVER", "nginx")
    return SERVERS[kind](setup, upstream_url, **kw)
