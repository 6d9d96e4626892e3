"""The README stays true: no links out of the repository, the files and make variables it names exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_points_at_nothing_outside_the_repository():
    assert "../" not in README
    local_links = [t for t in re.findall(r"\]\(([^)\s]+)\)", README) if not t.startswith(("http://", "https://", "#"))]
    assert [t for t in local_links if not (ROOT / t).resolve().is_relative_to(ROOT) or not (ROOT / t).exists()] == []


def test_files_the_readme_names_exist():
    named = set(re.findall(r"`((?:\.ci|bench|docs|kehu|tests)/[\w./<>-]*)`", README))
    named = {n for n in named if "<" not in n and "…" not in n}
    assert "docs/glossary.md" in named and ".ci/run" in named
    assert [n for n in named if not (ROOT / n).exists()] == []


def test_make_variables_the_readme_uses_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    used = set(re.findall(r"make \w+((?: [A-Z]+=\S+)+)", README))
    names = {pair.split("=")[0] for group in used for pair in group.split()}
    assert {"HOST", "PORT"} <= names
    assert [n for n in names if not re.search(rf"^{n} \?=", makefile, re.M)] == []
    assert "trap 'kill $$worker" in makefile  # Ctrl-C on `make run` stops the worker too, as the README says
