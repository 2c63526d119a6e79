"""The demo writes into a folder of its own that git ignores (README: 'Set up and go')."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from xh2cm.cli import DEMO_OUT, _parser

ROOT = Path(__file__).resolve().parents[1]


def test_demo_default_output_is_a_git_ignored_folder():
    args = _parser().parse_args(["demo"])
    assert args.out == DEMO_OUT and DEMO_OUT.parent != Path(".")
    readme = (ROOT / "README.md").read_text()
    assert str(DEMO_OUT) in readme  # README names where the files go
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for name in (DEMO_OUT, DEMO_OUT.with_suffix(".eqx")):
        subprocess.run(["git", "check-ignore", "-q", str(name)], cwd=ROOT, check=True)
