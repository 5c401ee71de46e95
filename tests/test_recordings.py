"""The README's recordings show what hot-restart prints today: each one is
run again (bench/record.py drives it in a pseudo-terminal) and its text
must be the transcript kept beside the picture; the picture must hold that
text too, and stay small.  After a change to a banner or a report, run
``python bench/record.py`` to draw them again."""

import html
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

pyte = pytest.importorskip("pyte", reason="pip install -r dev-requirements.txt")
import record  # noqa: E402


@pytest.mark.parametrize("name", sorted(record.RECORDINGS))
def test_the_recording_shows_what_is_printed_today(name):
    kept = (ROOT / "docs" / f"{name}.txt").read_text()
    today = record.transcript_of(name)
    assert _in_3_14_words(today) == _in_3_14_words(kept), (
        f"docs/{name}.txt is not what the program prints today; run python bench/record.py "
        f"{name}\n--- kept:\n{kept}\n--- today:\n{today}")
    picture = (ROOT / "docs" / f"{name}.svg").read_text()
    assert len(picture.encode()) < 300 * 1024
    for line in kept.splitlines():
        if line and not line.startswith("[(in the editor)"):
            assert html.escape(line[:record.COLUMNS].rstrip()) in picture, line


def _in_3_14_words(text):
    """The interpreter's own messages, as 3.14 words them: the recordings
    were made on another version, and what they show of hot-restart is the
    same on each."""
    for older in ("float division by zero", "integer division or modulo by zero"):
        text = text.replace(older, "division by zero")
    return text


def test_the_readme_shows_each_recording_with_its_transcript():
    readme = (ROOT / "README.md").read_text()
    for name in record.RECORDINGS:
        assert f"docs/{name}.svg" in readme and f"docs/{name}.txt" in readme
