"""Fetch the source distributions whose test suites the tests run, once.

    python tests/fetch_sources.py

Part of the set-up (see the README): the tests themselves use no network.
``tests/test_plugin.py`` runs two real projects' suites, never written with
hot-restart in mind, with and without ``pytest --hot-restart``; their
sources are kept in ``tests/sources/`` (not in the repository: we did not
write them).  Whatever is there already is not fetched again.
"""

import subprocess
import sys
from pathlib import Path

#: requirement: (its tests, the folders to put on the path)
SOURCES = {
    "cachetools==5.5.2": ("tests", ["src"]),   # 216 tests
    "six==1.17.0": ("test_six.py", ["."]),     # 200 tests
}
FOLDER = Path(__file__).resolve().parent / "sources"


def archive(requirement):
    name, version = requirement.split("==")
    return FOLDER / f"{name}-{version}.tar.gz"


def main():
    missing = [r for r in SOURCES if not archive(r).exists()]
    if missing:
        FOLDER.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", ":all:", "--disable-pip-version-check",
                        "-d", str(FOLDER), *missing], check=True, timeout=600)
    for requirement in SOURCES:
        if not archive(requirement).exists():
            sys.exit(f"fetch_sources: {archive(requirement).name} was not fetched")


if __name__ == "__main__":
    main()
