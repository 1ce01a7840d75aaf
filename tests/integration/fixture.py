"""A private copy of the example configuration with fresh keys, for tests.

make_setup() copies conf/edgeidp.toml and conf/directory.toml into a new
temp folder, makes keys with `edgeidp keygen`, and returns a Setup with the
paths. Tests edit the copy, never conf/.
"""
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

SOURCE_ROOT = os.environ.get("EDGEIDP_SOURCE_ROOT",
                             os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
EDGEIDP = os.environ.get("EDGEIDP_BIN", os.path.join(SOURCE_ROOT, "build", "worker", "edgeidp"))

DEMO_PASSWORDS = {"alice": "alice-demo-pw", "bob": "bob-demo-pw",
                  "carol": "carol-demo-pw", "dave": "dave-demo-pw"}


@dataclass
class Setup:
    dir: str
    config: str
    directory: str
    key: str
    cert: str

    def cert_pem(self):
        with open(self.cert, encoding="ascii") as f:
            return f.read()

    def edit_config(self, old, new):
        _replace(self.config, old, new)

    def edit_directory(self, old, new):
        _replace(self.directory, old, new)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _replace(path, old, new):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert old in text, f"{old!r} not in {path}"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, 1))


def edgeidp(*args, stdin=None, check=False):
    """Runs the edgeidp program; returns CompletedProcess with text output."""
    proc = subprocess.run([EDGEIDP, *args], input=stdin, capture_output=True, text=True,
                          timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"edgeidp {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc


def make_setup():
    d = tempfile.mkdtemp(prefix="edgeidp-it-")
    for name in ("edgeidp.toml", "directory.toml"):
        shutil.copy(os.path.join(SOURCE_ROOT, "conf", name), os.path.join(d, name))
    os.mkdir(os.path.join(d, "keys"))
    key = os.path.join(d, "keys", "signing.key")
    cert = os.path.join(d, "keys", "signing.crt")
    edgeidp("keygen", "--key", key, "--cert", cert, "--cn", "edgeidp-test",
            "--session-key", os.path.join(d, "keys", "session.key"), check=True)
    return Setup(d, os.path.join(d, "edgeidp.toml"), os.path.join(d, "directory.toml"), key, cert)


def scim_config_text(endpoint, edits=()):
    """conf/edgeidp.toml with conf/scim-example.toml's [[scim]] target
    appended, pointed at endpoint, with the token in "scim-token" and the
    state in "scim.db" next to it; edits: further (old, new) replacements
    of the target's text."""
    with open(os.path.join(SOURCE_ROOT, "conf", "edgeidp.toml"), encoding="utf-8") as f:
        base = f.read()
    with open(os.path.join(SOURCE_ROOT, "conf", "scim-example.toml"), encoding="utf-8") as f:
        example = f.read()
    example = re.sub(r'(?m)^endpoint = ".*"$', f'endpoint = "{endpoint}"', example)
    example = re.sub(r'(?m)^token_file = ".*"$', 'token_file = "scim-token"', example)
    example = re.sub(r'(?m)^state = ".*"$', 'state = "scim.db"', example)
    for old, new in edits:
        assert old in example, f"{old!r} not in scim-example.toml"
        example = example.replace(old, new)
    return base + "\n" + example
