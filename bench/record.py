"""The README's recordings: real runs in a pseudo-terminal, drawn as
animated SVG.

Each recording runs one of the programs in ``examples/`` in a terminal
(pexpect), types as a user would, saves the fix to the file (the frame says
which line changed), and types ``c``.  The screen is rendered with a
terminal emulator (pyte) after every burst of output, and the frames become
``docs/NAME.svg`` (an animation with its own dark background, so it reads
the same in light and dark themes), beside ``docs/NAME.txt``, the text of
the session for screen readers and search.  Process numbers and folders
are written the same way every time, so that a rerun after a change to
what hot-restart prints shows up as a change of the transcript;
``tests/test_recordings.py`` fails when a transcript is not what the
programs print today.

    pip install -r dev-requirements.txt      # pexpect and pyte
    python bench/record.py [NAME ...]         # writes docs/NAME.svg and docs/NAME.txt
"""

import html
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
COLUMNS, ROWS = 112, 22

# name -> (the example, the command, the steps).  A step: ("expect", regex),
# ("type", text): typed and Enter, ("pause", seconds), or ("save", old, new):
# the user's edit, saved to the file.
RECORDINGS = {
    "demo": ("demo.py", "python demo.py", [
        ("expect", r"\(Pdb\) "), ("pause", 1.0),
        ("type", "where"), ("expect", r"\(Pdb\) "), ("pause", 1.5),
        ("type", "p name, hours"), ("expect", r"\(Pdb\) "), ("pause", 1.0),
        ("save", "        speeds[name] = km / hours",
         "        if hours:\n            speeds[name] = km / hours"),
        ("pause", 1.5), ("type", "c"), ("expect", "km/h"), ("pause", 2.0)]),
    "server": ("server.py", "python server.py", [
        ("expect", r"\(Pdb\) "), ("pause", 1.0),
        ("save", "return sum(values) / len(values)  # Bug: no values at all divides by zero.",
         "return sum(values) / len(values) if values else 0.0"),
        ("pause", 1.5), ("type", "c"), ("expect", "client: 200"), ("pause", 2.0)]),
    "pool": ("pool.py", "python -m hot_restart pool.py", [
        ("expect", r"\(Pdb\) "), ("pause", 1.0),
        ("type", "p word"), ("expect", r"\(Pdb\) "), ("pause", 1.0),
        ("save", "100 // (len(word) - 4)", "100 // max(len(word) - 4, 1)"),
        ("pause", 1.5), ("type", "c"), ("expect", "scores:"), ("pause", 2.0)]),
}


def _normalize(text, folder):
    """The same text for every run: the temporary folder, process numbers,
    and which of a pool's workers took the task."""
    text = text.replace(str(folder), "/home/me/project")
    text = re.sub(r"process \d+", "process 4711", text)
    return re.sub(r"PoolWorker-\d+", "PoolWorker-1", text)


class _Session:
    """One recording's run: the terminal, the emulated screen, the frames."""

    def __init__(self, name):
        import pexpect
        import pyte
        example, command, self.steps = RECORDINGS[name]
        self.folder = Path(tempfile.mkdtemp(prefix="hr-rec-"))
        shutil.copy(ROOT / "examples" / example, self.folder / example)
        self.example = self.folder / example
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HOT_RESTART_DEBUGGER": "pdb",
               "TERM": "dumb", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
        for variable in ("HOT_RESTART", "HOT_RESTART_TERMINAL", "HOT_RESTART_TOKEN"):
            env.pop(variable, None)
        self.screen = pyte.Screen(COLUMNS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.log = []  # what the program printed, for the transcript
        self.frames = []  # (seconds since the start, rows, caption)
        self.caption = f"$ {command}"
        self.started = time.monotonic()
        self._feed(f"$ {command}\r\n")
        self.child = pexpect.spawn("/bin/sh", ["-c", "exec " + command.replace(
            "python", sys.executable, 1)], cwd=str(self.folder), env=env, encoding="utf-8",
            timeout=60, dimensions=(ROWS, COLUMNS))

    def _feed(self, text):
        if text:
            self.log.append(text)
        self.stream.feed(text)
        rows = [_normalize(line.rstrip(), self.folder) for line in self.screen.display]
        moment = time.monotonic() - self.started
        if self.frames and moment - self.frames[-1][0] < 0.08:
            self.frames[-1] = (self.frames[-1][0], rows, self.caption)
        else:
            self.frames.append((moment, rows, self.caption))

    def _read(self, pattern=None, timeout=60):
        import pexpect
        deadline = time.monotonic() + timeout
        seen = ""
        while True:
            try:
                chunk = self.child.read_nonblocking(65536, timeout=0.05)
            except pexpect.TIMEOUT:
                chunk = ""
            except pexpect.EOF:
                if pattern is None:
                    return
                raise AssertionError(f"the program ended before {pattern!r}:\n{seen}") from None
            if chunk:
                seen += chunk
                self._feed(chunk)
            if pattern is not None and re.search(pattern, seen):
                return
            if pattern is None and not chunk:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"waited for {pattern!r}; the program printed:\n{seen}")

    def run(self):
        for step in self.steps:
            if step[0] == "expect":
                self._read(step[1])
            elif step[0] == "pause":
                end = time.monotonic() + step[1]
                while time.monotonic() < end:
                    self._read(None)
                    time.sleep(0.05)
            elif step[0] == "type":
                for char in step[1]:  # the echo of each key makes the typing visible
                    self.child.send(char)
                    time.sleep(0.06)
                    self._read(None)
                self.child.send("\r")
            elif step[0] == "save":
                _, old, new = step
                text = self.example.read_text()
                assert old in text, f"{old!r} is not in {self.example.name}"
                self.example.write_text(text.replace(old, new))
                self.caption = (f"(in the editor) {self.example.name}: "
                                f"{old.strip()}  ->  {new.strip().splitlines()[0]} ... saved"
                                if "\n" in new.strip() else
                                f"(in the editor) {self.example.name}: {old.strip()}  ->  "
                                f"{new.strip()}   saved")
                self.log.append(f"\n[{self.caption}]\n")
                self._feed("")
        self._read(None)
        self.child.expect(__import__("pexpect").EOF)
        self._feed("")
        self.child.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return self.child.exitstatus

    def transcript(self):
        """The session as text: what the terminal showed, with the edit said
        where it was made."""
        text = "".join(self.log).replace("\r\n", "\n")
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
        return _normalize(text, self.folder)


def transcript_of(name):
    """Run the recording and return its transcript (what the test compares)."""
    session = _Session(name)
    status = session.run()
    assert status == 0, f"the {name} recording ended with status {status}"
    return session.transcript()


def _svg(frames, title):
    """An animated SVG of the frames: every frame drawn once, stacked, and
    a window moved from one to the next in time."""
    char_w, line_h, pad = 8.4, 17, 12
    width = int(COLUMNS * char_w + 2 * pad)
    screen_h = ROWS * line_h + 2 * pad
    height = screen_h + 30
    kept = []
    for moment, rows, caption in frames:  # keep the frames that change what is seen
        if not kept or (rows, caption) != kept[-1][1:]:
            kept.append((moment, rows, caption))
    times = [min(m, 10_000) for m, _, _ in kept]
    for i in range(1, len(times)):  # long waits are shortened
        gap = times[i] - times[i - 1]
        if gap > 1.8:
            shift = gap - 1.8
            times[i:] = [t - shift for t in times[i:]]
    total = times[-1] + 4.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
             f"<title>{html.escape(title)}</title>",
             "<style>text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
             "font-size:14px;white-space:pre;fill:#e6e6e6}.c{fill:#ffd866}"
             f".r{{animation:play {total:.2f}s steps(1,end) infinite}}"
             "@keyframes play{"]
    for i, t in enumerate(times):
        parts.append(f"{100 * t / total:.3f}%{{transform:translateY({-i * height}px)}}")
    parts.append(f"100%{{transform:translateY({-(len(times) - 1) * height}px)}}}}</style>")
    parts.append(f'<rect width="{width}" height="{height}" rx="8" fill="#1e1e1e"/>')
    parts.append(f'<svg x="0" y="0" width="{width}" height="{height}"><g class="r">')
    for i, (_, rows, caption) in enumerate(kept):
        top = i * height
        for r, row in enumerate(rows):
            if row:
                parts.append(f'<text x="{pad}" y="{top + pad + (r + 1) * line_h - 4}">'
                             f"{html.escape(row)}</text>")
        parts.append(f'<text class="c" x="{pad}" y="{top + screen_h + 16}">'
                     f"{html.escape(caption)}</text>")
    parts.append("</g></svg></svg>")
    return "\n".join(parts) + "\n"


TITLES = {
    "demo": "hot-restart: a crash, the fix saved in the editor, c, and the program finishes",
    "server": "hot-restart: a web request that crashed gets its 200 after the fix",
    "pool": "hot-restart: a pool worker's crash, fixed in the terminal that started the pool",
}


def main(names):
    DOCS.mkdir(exist_ok=True)
    for name in names or RECORDINGS:
        session = _Session(name)
        status = session.run()
        if status != 0:
            raise SystemExit(f"the {name} recording ended with status {status}")
        (DOCS / f"{name}.txt").write_text(session.transcript())
        svg = _svg(session.frames, TITLES[name])
        (DOCS / f"{name}.svg").write_text(svg)
        print(f"docs/{name}.svg: {len(session.frames)} frames, {len(svg) // 1024} KB; "
              f"docs/{name}.txt")


if __name__ == "__main__":
    main(sys.argv[1:])
