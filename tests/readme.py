"""The code blocks of README.rst and docs/*.rst, for the tests that run them."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The documents whose examples must run.
DOCUMENTS = (ROOT / "README.rst", *sorted((ROOT / "docs").glob("*.rst")))

_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)\.\. code-block:: (?P<language>\S+)\n"
    r"(?P<options>(?:(?P=indent)[ \t]+:[^\n]*\n)*)\n"
    r"(?P<body>(?:(?:(?P=indent)[ \t]+[^\n]*)?\n)+)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Block:
    """One ``.. code-block::``: its language, its ``:caption:`` (a file name, for project files),
    the document and line it comes from, and its code, dedented."""

    language: str
    caption: str
    document: str
    line: int
    code: str

    def __str__(self) -> str:
        return f"{self.document}:{self.line} ({self.caption or self.language})"


def blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(text):
        caption = re.search(r":caption:\s*(.+)", match["options"])
        found.append(
            Block(
                language=match["language"],
                caption=caption[1].strip() if caption else "",
                document=document.name,
                line=text.count("\n", 0, match.start()) + 1,
                code=textwrap.dedent(match["body"]).strip() + "\n",
            )
        )
    return found


def all_blocks() -> list[Block]:
    return [block for document in DOCUMENTS for block in blocks(document)]


def project_files() -> list[Block]:
    """The blocks whose caption names a file of the user's project, in the documents' order."""
    return [block for block in all_blocks() if block.caption]


def installation_files() -> list[Block]:
    """The project files of README.rst's "Installation" and "Testing your app" sections: the
    steps a new user follows, and nothing from later sections."""
    readme = DOCUMENTS[0]
    text = readme.read_text(encoding="utf-8")
    first, last = (
        text.count("\n", 0, text.index(f".. _{label}:")) + 1
        for label in ("readme-installation", "readme-settings")
    )
    return [block for block in blocks(readme) if block.caption and first < block.line < last]
