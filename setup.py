"""The one build step pyproject.toml cannot declare: a wheel carries the kit's files.

A checkout keeps them at the top of the repository; an installed wheel finds them inside the
package (miniapp_api/kit.py looks there first):

- assets/ (poster layouts, fonts, campaign templates) is copied to miniapp_api/assets;
- the handbook is built by MkDocs, strictly, into miniapp_api/handbook_site.

An sdist has no .git, so the sdist step writes handbook/reviewed.json into it: each page's
last-reviewed date (and the repository's web address) from git, which handbook/hooks/review.py
reads when git has nothing to say.

An editable install (`pip install -e .`) copies and builds nothing: kit.py falls back to the
checkout's assets/ and build/handbook (`make handbook`).
"""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

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


class SdistWithReviewDates(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        spec = importlib.util.spec_from_file_location("review", ROOT / "handbook/hooks/review.py")
        review = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(review)
        target = Path(base_dir) / "handbook" / "reviewed.json"
        target.unlink(missing_ok=True)  # a hard link to the checkout's copy, if it has one
        review.write_reviewed_json(target)


setup(cmdclass={"build_py": BuildPyWithKit, "sdist": SdistWithReviewDates})
