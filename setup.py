"""The one build step pyproject.toml cannot declare: a wheel carries the kit's files.

A checkout keeps them at the top of the repository; an installed wheel finds them inside the
package (miniapp_api/kit.py looks there first):

- assets/ (poster layouts, fonts, campaign templates) is copied to miniapp_api/assets;
- the handbook is built by MkDocs, strictly, into miniapp_api/handbook_site.

An editable install (`pip install -e .`) copies and builds nothing: kit.py falls back to the
checkout's assets/ and build/handbook (`make handbook`).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithKit(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return
        package = Path(self.build_lib).resolve() / "miniapp_api"
        shutil.rmtree(package / "assets", ignore_errors=True)
        shutil.copytree(ROOT / "assets", package / "assets")
        # mkdocs.yml names files relative to the repository (the search plugin's jieba
        # dictionary), so MkDocs runs from there; --clean empties a stale site first.
        subprocess.run(
            [
                *(sys.executable, "-m", "mkdocs", "build", "--strict", "--clean"),
                *("--config-file", str(ROOT / "mkdocs.yml")),
                *("--site-dir", str(package / "handbook_site")),
            ],
            cwd=ROOT,
            check=True,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )


setup(cmdclass={"build_py": BuildPyWithKit})
