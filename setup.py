"""Build hook: ship the top-level knowledge/ and templates/ inside the wheel as triagebot/_data/.

The directories stay where the design puts them (top level, edited by people); the built package
carries a copy so an installed triagebot triages without a checkout. Editable installs need no copy:
`triagebot.config.shipped` finds the checkout's own directories.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = ("knowledge", "templates")


class BuildWithData(build_py):
    """build_py that also copies the knowledge base and the reply templates into the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in SHIPPED:
            target = Path(self.build_lib) / "triagebot" / "_data" / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(HERE / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithData})
