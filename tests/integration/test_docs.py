"""The docs' examples, run: every row of docs/templates.md's example table,
and every conf/ example accepted by `edgeidp check`."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import tap  # noqa: E402
from fixture import SOURCE_ROOT, edgeidp, make_setup  # noqa: E402

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


tap.main(globals())
