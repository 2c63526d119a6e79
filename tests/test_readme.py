"""README's set-up commands and CI stay in step."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set up and go", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_readme_has_exactly_two_commands() -> None:
    cmds = _readme_commands()
    assert len(cmds) == 2, cmds
    assert all("\n" not in c for c in cmds), "each set-up command must be one line"
    assert cmds[0].endswith("python -m xh2cm demo")
    assert cmds[1].endswith("python -m pytest")


def test_ci_runs_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert _readme_commands()[1] in ci.splitlines()


def _use_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Use", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_use_section_runs_as_written(tmp_path, monkeypatch) -> None:
    """Every code block of README's Use section, in order, in one namespace."""
    blocks = _use_blocks()
    assert len(blocks) >= 2 and "h2cm.report(" in blocks[-1]
    assert "matplotlib" not in "".join(blocks) and ".plot(" not in "".join(blocks)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert (tmp_path / "h2cm_report.html").stat().st_size > 100_000
    assert float(namespace["pue"].pue_climatology.mean()) > 0
    assert set(namespace["scores"].region) >= {"global"}
