"""edgeidp scim against a local server that enforces AWS Identity Center's
SCIM rules (scim_server.py)."""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import tap  # noqa: E402
from fixture import EDGEIDP, scim_config_text  # noqa: E402
from scim_server import ScimServer  # noqa: E402

TOKEN = "tok-" + "A1b2C3d4" * 70  # AWS tokens are ~500-620 characters
OUTPUTS = []  # everything edgeidp printed, checked for the token at the end

USERS = """
[[group]]
name = "aws-users"
[[group]]
name = "aws-admins"
[[group]]
name = "aws-readonly"
[[group]]
name = "staff"

[[user]]
username = "alice"
uid = "u-alice"
name = "Alice Example"
email = "alice@example.com"
groups = ["aws-users", "aws-admins"]

[[user]]
username = "bob"
name = "Bob Example"
email = "bob@example.com"
groups = ["aws-users", "aws-readonly"]

[[user]]
username = "carol"
name = "Carol"
email = "carol@example.com"
groups = ["staff"]

[[user]]
username = "robot"
name = "Deploy Robot"
service_account = true
groups = ["aws-users", "aws-admins"]
"""


class Env:
    """A temp folder with edgeidp.toml (the docs' [[scim]] example pointed at
    a test server), directory.toml and a 0600 token file."""

    def __init__(self, directory=USERS, server=None, extra="", ca_file=None):
        self.dir = tempfile.mkdtemp(prefix="edgeidp-scim-")
        self.server = server or ScimServer(TOKEN)
        if not self.server.url:
            self.server.start()
        self.config = os.path.join(self.dir, "edgeidp.toml")
        self.directory = os.path.join(self.dir, "directory.toml")
        self.token = os.path.join(self.dir, "scim-token")
        self.state = os.path.join(self.dir, "scim.db")
        edits = [("max_in_flight = 8", f'max_in_flight = 8\nca_file = "{ca_file}"')] \
            if ca_file else []
        edits.append(("max_in_flight = 8", "max_in_flight = 8\n" + extra))
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(scim_config_text(self.server.url, edits))
        self.write_directory(directory)
        self.write_token(TOKEN)

    def write_token(self, token):
        fd = os.open(self.token + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (token + "\n").encode())
        os.close(fd)
        os.rename(self.token + ".new", self.token)

    def write_directory(self, text):
        with open(self.directory + ".new", "w", encoding="utf-8") as f:
            f.write(text)
        os.rename(self.directory + ".new", self.directory)

    def edit(self, old, new):
        with open(self.directory, encoding="utf-8") as f:
            text = f.read()
        assert old in text, old
        self.write_directory(text.replace(old, new, 1))

    def scim(self, *args, timeout=120):
        p = subprocess.run([EDGEIDP, "scim", *args, "-c", self.config], capture_output=True,
                           text=True, timeout=timeout)
        OUTPUTS.append(p.stdout + p.stderr)
        return p

    def sync(self, expect=0):
        p = self.scim("sync")
        assert p.returncode == expect, f"exit {p.returncode}\n{p.stdout}{p.stderr}"
        return p

    def cleanup(self):
        self.server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


E = None


def setup_module():
    global E
    E = Env()


def teardown_module():
    E.cleanup()


def no_rejections(server):
    assert not server.rejections, server.rejections
    assert server.counts.get("PUT /Groups", 0) == 0


def test_plan_shows_initial_changes_without_sending_anything():
    p = E.scim("plan")
    assert p.returncode == 3, p.stdout + p.stderr
    assert "+ user alice (create)" in p.stdout, p.stdout
    assert "name.givenName: (none) -> \"Alice\"" in p.stdout, p.stdout
    assert "+ group aws-admins (create)" in p.stdout, p.stdout
    assert "carol" not in p.stdout and "robot" not in p.stdout.replace("Robot", ""), p.stdout
    assert E.server.counts == {}, E.server.counts
    assert not os.path.exists(E.state), "plan must not write"


def test_initial_sync_creates_users_groups_and_members():
    E.sync()
    no_rejections(E.server)
    alice = E.server.user_by_name("alice")
    assert len(alice) == 1, alice
    a = alice[0]
    assert a["externalId"] == "u-alice" and a["displayName"] == "Alice Example"
    assert a["name"] == {"givenName": "Alice", "familyName": "Example"}, a["name"]
    assert a["emails"] == [{"value": "alice@example.com", "type": "work", "primary": True}]
    assert "photos" not in a and a["active"] is True
    assert E.server.user_by_name("carol") == [], "carol is outside the filter group"
    assert E.server.user_by_name("robot") == [], "service accounts are excluded"
    assert E.server.group_member_names("aws-admins") == ["alice"]
    assert E.server.group_member_names("aws-readonly") == ["bob"]
    assert E.server.group_member_names("aws-users") == ["alice", "bob"]
    assert E.server.group_member_names("staff") == []


def test_connections_are_reused():
    # 2 users + 4 groups + 3 member patches on at most max_in_flight connections.
    assert E.server.connections <= 8, E.server.connections


def test_noop_resync_sends_nothing():
    E.server.reset_counts()
    E.sync()
    assert E.server.counts == {}, E.server.counts
    assert E.scim("plan").returncode == 0


def test_rename_is_one_write():
    E.server.reset_counts()
    E.edit('name = "Bob Example"', 'name = "Robert Example"')
    p = E.scim("plan")
    assert p.returncode == 3 and 'displayName: "Bob Example" -> "Robert Example"' in p.stdout, \
        p.stdout
    E.sync()
    assert E.server.counts == {"PUT": 1}, E.server.counts
    b = E.server.user_by_name("bob")[0]
    assert b["displayName"] == "Robert Example" and b["name"]["givenName"] == "Robert"


def test_email_change_is_one_write():
    E.server.reset_counts()
    E.edit('email = "alice@example.com"', 'email = "alice@corp.example.com"')
    E.sync()
    assert E.server.counts == {"PUT": 1}, E.server.counts
    assert E.server.user_by_name("alice")[0]["emails"][0]["value"] == "alice@corp.example.com"


def test_username_change_keeps_the_same_remote_user():
    before = E.server.user_by_name("alice")[0]["id"]
    E.edit('username = "alice"', 'username = "alice2"')
    E.sync()
    after = E.server.user_by_name("alice2")
    assert len(after) == 1 and after[0]["id"] == before, after
    assert E.server.user_by_name("alice") == []
    E.edit('username = "alice2"', 'username = "alice"')
    E.sync()


def test_membership_change_is_one_patch():
    E.server.reset_counts()
    E.edit('groups = ["aws-users", "aws-readonly"]', 'groups = ["aws-users", "aws-admins"]')
    E.sync()
    assert E.server.counts == {"PATCH": 2}, E.server.counts  # one add, one remove
    assert E.server.group_member_names("aws-admins") == ["alice", "bob"]
    assert E.server.group_member_names("aws-readonly") == []
    no_rejections(E.server)


def test_group_add_and_remove():
    E.edit('[[group]]\nname = "staff"', '[[group]]\nname = "staff"\n[[group]]\nname = "aws-dev"')
    E.edit('groups = ["aws-users", "aws-admins"]\n\n[[user]]\nusername = "bob"',
           'groups = ["aws-users", "aws-admins", "aws-dev"]\n\n[[user]]\nusername = "bob"')
    E.sync()
    assert E.server.group_member_names("aws-dev") == ["alice"]
    E.edit('groups = ["aws-users", "aws-admins", "aws-dev"]', 'groups = ["aws-users", "aws-admins"]')
    E.edit('\n[[group]]\nname = "aws-dev"', "")
    p = E.scim("plan")
    assert "- group aws-dev (delete)" in p.stdout, p.stdout
    E.server.reset_counts()
    E.sync()
    assert E.server.group_by_name("aws-dev") == []
    # Deleting a group takes its memberships with it: no member PATCH first.
    assert E.server.counts == {"DELETE": 1}, E.server.counts


def test_filter_group_controls_who_is_provisioned():
    E.edit('groups = ["staff"]', 'groups = ["staff", "aws-users"]')
    E.sync()
    assert len(E.server.user_by_name("carol")) == 1
    # Leaving the filter group deactivates (deprovision = "deactivate").
    E.edit('groups = ["staff", "aws-users"]', 'groups = ["staff"]')
    p = E.scim("plan")
    assert "- user carol (deactivate)" in p.stdout, p.stdout
    E.server.reset_counts()
    E.sync()
    # Leaves aws-users and staff (one PATCH each), then one PATCH active=false.
    assert E.server.counts == {"PATCH": 3}, E.server.counts
    assert E.server.user_by_name("carol")[0]["active"] is False
    E.server.reset_counts()
    E.sync()
    assert E.server.counts == {}


def test_inactive_user_is_deactivated():
    E.edit('username = "bob"', 'username = "bob"\nactive = false')
    E.server.reset_counts()
    E.sync()
    assert E.server.counts == {"PUT": 1}, E.server.counts
    assert E.server.user_by_name("bob")[0]["active"] is False
    E.edit('username = "bob"\nactive = false', 'username = "bob"')
    E.sync()
    assert E.server.user_by_name("bob")[0]["active"] is True


def test_state_loss_adopts_instead_of_duplicating():
    users_before = {u["userName"]: u["id"] for u in E.server.store.users.values()}
    groups_before = {g["displayName"]: g["id"] for g in E.server.store.groups.values()}
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(E.state + suffix):
            os.remove(E.state + suffix)
    E.server.reset_counts()
    E.sync()
    no_rejections(E.server)
    assert {u["userName"]: u["id"] for u in E.server.store.users.values()} == users_before
    assert {g["displayName"]: g["id"] for g in E.server.store.groups.values()} == groups_before
    assert E.server.counts.get("GET", 0) >= 2, E.server.counts  # eq-filter lookups
    assert E.server.group_member_names("aws-admins") == ["alice", "bob"]
    E.server.reset_counts()
    E.sync()
    assert E.server.counts == {}, E.server.counts


def test_objects_not_created_by_edgeidp_are_left_alone():
    # A hand-made user: the 409 adopt found it, but its externalId is not
    # ours, so removing it from the directory must not deactivate it.
    env = Env()
    try:
        env.server.store.users["x"] = {"id": "x", "userName": "bob", "externalId": "manual",
                                       "displayName": "B", "active": True,
                                       "name": {"givenName": "B", "familyName": "M"}}
        env.sync()
        assert env.server.store.users["x"]["displayName"] == "Bob Example"  # adopted, updated
        env.write_directory(USERS.replace('groups = ["aws-users", "aws-readonly"]', 'groups = []'))
        p = env.scim("plan")
        assert "not created by edgeidp, left alone" in p.stdout, p.stdout
        env.sync()
        assert env.server.store.users["x"]["active"] is True
    finally:
        env.cleanup()


def test_membership_changes_go_in_batches_of_100():
    users = "".join(f'[[user]]\nusername = "user{i:03}"\nname = "User {i}"\n'
                    f'groups = ["aws-users"]\n' for i in range(250))
    env = Env(directory='[[group]]\nname = "aws-users"\n' + users)
    try:
        env.sync()
        no_rejections(env.server)
        assert len(env.server.group_member_names("aws-users")) == 250
        assert env.server.counts["PATCH"] == 3, env.server.counts
        assert env.server.counts["POST"] == 251, env.server.counts
    finally:
        env.cleanup()


def test_throttling_and_server_errors_are_retried():
    E.server.add_fault(kind="status", status=429, retry_after="1", count=2, method="PUT")
    E.server.add_fault(kind="status", status=500, count=1, method="PATCH")
    E.server.add_fault(kind="drop", count=1, method="POST")
    E.edit('name = "Robert Example"', 'name = "Bobby Example"')
    E.edit('groups = ["staff"]', 'groups = ["staff", "aws-users", "aws-admins"]')
    E.server.reset_counts()
    t0 = time.time()
    E.sync()
    assert time.time() - t0 >= 1.0, "Retry-After was not honoured"
    assert E.server.user_by_name("bob")[0]["displayName"] == "Bobby Example"
    assert "carol" in E.server.group_member_names("aws-admins")
    p = E.scim("status")
    assert re.search(r"throttled [1-9]", p.stdout), p.stdout
    assert p.returncode == 0, p.stdout


def test_a_failing_request_is_reported_and_the_rest_goes_on():
    bob = E.server.user_by_name("bob")[0]["id"]
    E.server.add_fault(kind="status", status=500, count=100, method="PUT",
                       path_prefix="/Users/" + bob)
    E.edit('name = "Bobby Example"', 'name = "Bob Example"')
    E.edit('email = "carol@example.com"', 'email = "carol@corp.example.com"')
    p = E.sync(expect=1)
    assert "user bob: HTTP 500 (" in p.stderr or "user bob: HTTP 500" in p.stderr, p.stderr
    assert E.server.user_by_name("carol")[0]["emails"][0]["value"] == "carol@corp.example.com"
    s = E.scim("status")
    assert "error: user bob: HTTP 500" in s.stdout, s.stdout
    E.server.faults.clear()
    E.sync()
    assert E.server.user_by_name("bob")[0]["displayName"] == "Bob Example"


def test_kill_9_mid_sync_then_converge_without_duplicates():
    users = "".join(f'[[user]]\nusername = "k{i:03}"\nname = "K {i}"\n'
                    f'groups = ["aws-users"]\n' for i in range(300))
    server = ScimServer(TOKEN, delay=0.01)
    env = Env(directory='[[group]]\nname = "aws-users"\n' + users, server=server)
    try:
        proc = subprocess.Popen([EDGEIDP, "scim", "sync", "-c", env.config],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while len(server.store.users) < 100 and time.time() < deadline:
            time.sleep(0.01)
        proc.kill()
        out, err = proc.communicate()
        OUTPUTS.append(out.decode() + err.decode())
        assert 0 < len(server.store.users) < 300, len(server.store.users)
        # Simulate the worst case: the last writes never reached the state.
        db = sqlite3.connect(env.state)
        db.execute("DELETE FROM objects WHERE rowid IN "
                   "(SELECT rowid FROM objects ORDER BY rowid DESC LIMIT 20)")
        db.commit()
        db.close()
        server.delay = 0
        s = env.scim("status")
        assert "did not finish" in s.stdout, s.stdout
        env.sync()
        names = [u["userName"] for u in server.store.users.values()]
        assert len(names) == 300 and len(set(names)) == 300, len(names)
        assert len(server.group_member_names("aws-users")) == 300
        server.reset_counts()
        env.sync()
        assert server.counts == {}, server.counts
    finally:
        env.cleanup()


def test_tls_is_verified_with_the_configured_ca():
    d = tempfile.mkdtemp(prefix="edgeidp-scim-tls-")
    try:
        def ossl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True)
        ca_key, ca, key, csr, crt = (os.path.join(d, n) for n in
                                      ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
             "-days", "2", "-subj", "/CN=edgeidp test CA")
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
             "-subj", "/CN=localhost")
        ext = os.path.join(d, "ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:localhost\n")
        ossl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
             "-out", crt, "-days", "2", "-extfile", ext)
        server = ScimServer(TOKEN)
        server.start(certfile=crt, keyfile=key)
        env = Env(server=server)
        try:
            p = env.sync(expect=1)  # the system store does not know our CA
            assert "certificate" in p.stderr.lower() or "SSL" in p.stderr, p.stderr
            assert server.store.users == {}
        finally:
            env.cleanup()
        server = ScimServer(TOKEN)
        server.start(certfile=crt, keyfile=key)
        env = Env(server=server, ca_file=ca)
        try:
            env.sync()
            assert len(server.user_by_name("alice")) == 1
        finally:
            env.cleanup()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_watch_syncs_on_change_picks_up_a_rotated_token_and_stops_on_sigterm():
    env = Env(extra="reconcile_interval = 10")
    try:
        proc = subprocess.Popen([EDGEIDP, "scim", "watch", "-c", env.config],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def wait_for(cond, what):
            deadline = time.time() + 20
            while time.time() < deadline:
                if cond():
                    return
                time.sleep(0.05)
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"timed out waiting for {what}\n{err.decode()}")

        wait_for(lambda: len(env.server.user_by_name("alice")) == 1, "initial sync")
        env.edit('name = "Bob Example"', 'name = "Bob Watched"')
        wait_for(lambda: env.server.user_by_name("bob")[0]["displayName"] == "Bob Watched",
                 "sync after a directory change")
        new_token = "rotated-" + "Z9y8" * 120
        env.server.token = new_token
        env.write_token(new_token)
        env.edit('name = "Bob Watched"', 'name = "Bob Rotated"')
        wait_for(lambda: env.server.user_by_name("bob")[0]["displayName"] == "Bob Rotated",
                 "sync with the rotated token")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        OUTPUTS.append(out.decode() + err.decode())
        assert proc.returncode == 0, err.decode()
        assert new_token not in err.decode()
    finally:
        env.cleanup()


def test_wrong_token_is_reported_without_the_token():
    env = Env()
    try:
        env.server.token = "something-else"
        p = env.sync(expect=1)
        assert "HTTP 401" in p.stderr, p.stderr
    finally:
        env.cleanup()


def test_status_warns_before_the_token_expires():
    p = E.scim("status")
    assert re.search(r"token: expires .* \((36[45]) day\(s\) left", p.stdout), p.stdout
    later = int(time.time()) + 300 * 86400
    p = E.scim("status", "--now", str(later))
    assert "WARNING rotate it" in p.stdout, p.stdout
    assert "managed: " in p.stdout and "last run: " in p.stdout


def test_config_rejects_a_token_in_the_config_and_a_readable_token_file():
    env = Env(extra='token = "abc"')
    try:
        p = env.scim("plan")
        assert p.returncode == 1 and "scim[0].token: a token never goes in the config" in p.stderr, \
            p.stderr
    finally:
        env.cleanup()
    env = Env()
    try:
        os.chmod(env.token, 0o644)
        p = env.sync(expect=1)
        assert "chmod 600" in p.stderr or "0600" in p.stderr, p.stderr
    finally:
        env.cleanup()


def test_the_token_never_appears_in_any_output():
    assert OUTPUTS
    for text in OUTPUTS:
        assert TOKEN not in text and TOKEN[:40] not in text


tap.main(globals())
