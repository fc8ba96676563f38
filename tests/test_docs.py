"""README and docs/: short enough to read, every link resolves, every command shown runs (``--help`` at least)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from insight.cli import main

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
COMMAND = re.compile(r"python -m insight ([a-z][a-z-]*)(?: (add|list|set-password|remove|token|revoke-tokens|login-link))?")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_the_readme_is_what_a_newcomer_reads_in_five_minutes():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250
    assert lines[3:5] == [
        "make run    # from a bare machine with python3: creates .venv, installs, generates demo data if none, starts the app",
        "make test   # same bootstrap, runs every test"]


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_link_resolves(doc):
    text = doc.read_text(encoding="utf-8")
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        assert file.exists(), f"{doc.name}: {target} does not exist"
        if anchor and file.suffix == ".md":
            headings = {_slug(h) for h in re.findall(r"(?m)^#+ (.+)$", file.read_text(encoding="utf-8"))}
            assert anchor in headings, f"{doc.name}: no heading for #{anchor} in {file.name}"


def test_every_doc_starts_with_what_a_reader_comes_for():
    for doc in DOCS[1:]:
        lines = [x for x in doc.read_text(encoding="utf-8").splitlines() if x.strip()]
        assert lines[0].startswith("# ") and not lines[1].startswith("#"), doc.name


def _commands() -> set[tuple[str, ...]]:
    found = set()
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        found |= {tuple(x for x in m if x) for m in COMMAND.findall(text)}
    # README's command table names them without the prefix: `import [--shop …`
    table = (REPO / "README.md").read_text(encoding="utf-8").split("## The command line", 1)[1].split("\n## ", 1)[0]
    found |= {(m,) for m in re.findall(r"(?m)^\| `([a-z][a-z-]*)", table)}
    found |= {("users", "add")} if ("users",) in found else set()
    found.discard(("users",))
    return found


def test_every_command_shown_runs():
    commands = _commands()
    assert {("import",), ("metrics",), ("serve",), ("build-parts",), ("users", "add")} <= commands
    for command in sorted(commands):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
            main([*command, "--help"])
        assert done.value.code == 0 and "usage:" in out.getvalue(), command


def test_the_make_targets_and_files_shown_exist():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    text = "\n".join(d.read_text(encoding="utf-8") for d in DOCS)
    for target in set(re.findall(r"`make ([a-z]+)", text)) | {"run", "test"}:
        assert re.search(rf"(?m)^{target}:", makefile), f"make {target}"
    for name in set(re.findall(r"requirements[a-z-]*\.txt", text)):
        assert (REPO / name).exists(), name
