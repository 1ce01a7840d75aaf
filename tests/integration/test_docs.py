"""The docs' examples, run: every row of docs/templates.md's example table,
every conf/ example accepted by `edgeidp check`, and the signed identity
header's example in docs/configuration.md."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import tap  # noqa: E402
from fixture import EDGEIDP, SOURCE_ROOT, edgeidp, make_setup  # noqa: E402

S = None


def setup_module():
    global S
    S = make_setup()


def teardown_module():
    S.cleanup()


def example_rows():
    with open(os.path.join(SOURCE_ROOT, "docs", "templates.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Examples", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        m = re.match(r"\| `(.+?)` \| (\w+) \| (.+) \|$", line)
        if m:
            template = m.group(1).replace("\\|", "|")
            values = re.findall(r"`([^`]*)`", m.group(3))
            rows.append((template, m.group(2), values))
    return rows


def test_template_examples_in_docs_render_as_documented():
    rows = example_rows()
    assert len(rows) >= 10, rows
    for template, user, expected in rows:
        p = edgeidp("render", "-c", S.config, "--user", user, "--template", template, check=True)
        got = p.stdout.splitlines()
        assert got == expected, f"{template} for {user}: docs say {expected}, got {got}"


def test_render_reports_template_errors():
    p = edgeidp("render", "-c", S.config, "--user", "alice", "--template", "{user.nam}")
    assert p.returncode == 1 and 'unknown field "user.nam"' in p.stderr, p.stderr


def test_signed_identity_header_example_in_docs():
    """docs/configuration.md's [headers] example and its keygen command, as
    written, give a configuration that `edgeidp check` accepts."""
    with open(os.path.join(SOURCE_ROOT, "docs", "configuration.md"), encoding="utf-8") as f:
        section = f.read().split("### The signed identity header", 1)[1].split("\n### ", 1)[0]
    toml = re.search(r"```toml\n\[headers\]\n(.*?)```", section, re.S).group(1)
    command = re.search(r"(?m)^    (edgeidp keygen .*)$", section).group(1).split()
    setup = make_setup()
    try:
        subprocess.run([EDGEIDP, *command[1:]], cwd=setup.dir, check=True, capture_output=True,
                       timeout=60)
        with open(setup.config, encoding="utf-8") as f:
            text = f.read()
        assert '[headers]\nprefix = "X-Remote-"\n' in text
        text = text.replace('[headers]\nprefix = "X-Remote-"\n',
                            '[headers]\nprefix = "X-Remote-"\n' + toml)
        with open(setup.config, "w", encoding="utf-8") as f:
            f.write(text)
        p = edgeidp("check", "-c", setup.config)
        assert p.returncode == 0, p.stdout + p.stderr
        with open(setup.config, "w", encoding="utf-8") as f:
            f.write(text.replace("jwt_lifetime = 60", "jwt_lifetime = 5"))
        p = edgeidp("check", "-c", setup.config)
        assert p.returncode != 0 and "jwt_lifetime" in p.stderr, p.stdout + p.stderr
    finally:
        setup.cleanup()


tap.main(globals())
