"""Installed from a wheel into a fresh virtual environment, triagebot triages from any directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOT_SHIPPED = (".git", ".venv", "build", "dist", "var", "models", "*.egg-info", "__pycache__", ".*_cache")


def run(
    *command: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
    return done


@pytest.mark.slow
def test_pip_install_then_triage_from_a_temporary_directory(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, source, cwd=tmp_path)
    (wheel,) = wheels.glob("triagebot-*.whl")

    venv = tmp_path / "fresh"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=tmp_path,
    )
    # The dependencies (scikit-learn and the rest) come from this environment, read-only, after the
    # fresh one's own site-packages, so the triagebot found is the installed wheel and nothing else.
    fresh_site = Path(
        run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
        ).stdout.strip()
    )
    (fresh_site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRIAGEBOT_", "SLACK_", "DISCORD_", "PYTHON"))
    }
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    where = run(python, "-c", "import triagebot; print(triagebot.__file__)", cwd=elsewhere, env=env).stdout
    assert Path(where.strip()).is_relative_to(venv)

    done = run(venv / "bin" / "triagebot", "triage", "SELinux is enforcing", "--json", cwd=elsewhere, env=env)
    result = json.loads(done.stdout)
    assert "selinux" in [tip["id"] for tip in result["tips"]], result
    assert list((tmp_path / "cache" / "triagebot" / "models").iterdir()), "the model is cached for the user"
    assert list(elsewhere.iterdir()) == [], "nothing is written into the working directory"
