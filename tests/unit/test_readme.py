"""The README stays true and short: the two commands are what CI runs, the README fits in 200 lines, every
link stays inside the repository and the README indexes every docs/ page (config keys: docs/configuration.md)."""

from __future__ import annotations

import re
from pathlib import Path

from recaug_spark.pipeline import STAGES

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
DOCS = REPO / "docs"
README_MAX_LINES = 200
# Written from the config models by `python -m recaug_spark.config.docs`; the README links it even before
# that change lands, so only its absence is tolerated (every other link must resolve).
GENERATED_DOCS = (DOCS / "configuration.md",)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...


def test_the_stage_table_matches_the_cli() -> None:
    """The README's stage table lists the CLI's stages, in its order, no more."""
    listed = re.findall(r"^\| `([a-z-]+)` \|", README.split("## Stages", 1)[1].split("\n## ", 1)[0], flags=re.M)
    assert listed == [stage.name for stage in STAGES]


def test_ci_runs_the_readme_test_command() -> None:
    assert "make demo" in README and "make test" in README
    ci = (REPO / ".ci/run").read_text()
    assert [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))] == ["make test"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo: setup", makefile, re.M) and re.search(r"^test: setup", makefile, re.M)


def markdown_files() -> list[Path]:
    """README.md and every page under docs/."""
    return [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


def prose(text: str) -> str:
    """The text without its fenced code blocks (code is not a link, and `# comments` are not headings)."""
    return FENCE.sub("", text)


def links(text: str) -> list[str]:
    """The targets of the inline and reference-style links of a markdown text, outside code blocks."""
    body = prose(text)
    return [*INLINE_LINK.findall(body), *REFERENCE_LINK.findall(body)]


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens,
    a repeated heading suffixed -1, -2, ...

    Example:
        >>> sorted(anchors("# Scale: 5 x 10^7 events\\n## `make demo`'s time\\n## Notes\\n## Notes"))
        ['make-demos-time', 'notes', 'notes-1', 'scale-5-x-107-events']
    """
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", prose(text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        repeats = seen.get(slug, 0)
        found.add(f"{slug}-{repeats}" if repeats else slug)
        seen[slug] = repeats + 1
    return found


def test_the_readme_has_at_most_200_lines() -> None:
    lines = len(README.splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to a docs/ page"


def test_every_relative_link_resolves_to_a_file_in_the_repository() -> None:
    repo = REPO.resolve()
    broken = []
    for page in markdown_files():
        for target in links(page.read_text()):
            if EXTERNAL.match(target):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page.resolve()
            where = f"{page.relative_to(REPO)}: {target}"
            if "../shared" in target or not file.is_relative_to(repo):
                broken.append(f"{where} (leaves the repository)")
            elif not file.exists():
                if file not in GENERATED_DOCS:
                    broken.append(f"{where} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
                broken.append(f"{where} (no heading with that anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_readme_indexes_every_docs_page() -> None:
    index = re.search(r"^## Documentation\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert index, "README.md lacks its '## Documentation' index"
    linked = {(REPO / target.partition("#")[0]).resolve() for target in links(index.group(1))}
    pages = {page.resolve() for page in (*DOCS.glob("*.md"), *GENERATED_DOCS)}
    missing = sorted(str(page.relative_to(REPO)) for page in pages - linked)
    assert not missing, f"README's documentation index lacks {missing}"
