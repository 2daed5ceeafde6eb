"""Griffe extension: let sklif's numpydoc docstrings (written for Sphinx too) render as Markdown.

mkdocstrings renders docstrings as Markdown, where three reStructuredText habits of the
docstrings would show up verbatim. Before parsing, this rewrites

- roles such as :func:`lif_scan`, :mod:`sklif.surrogates`, :class:`~sklif.LIFClassifier`
  into inline code (a leading ``~`` keeps only the last name, as in Sphinx);
- a paragraph ending in ``::`` (a literal block follows) into one ending in ``:``;
- simple tables (columns marked by rows of ``=``) into Markdown tables;
- a closing "Input shape: ... Output shape: ..." paragraph, which numpydoc would read as
  more parameters, into a Notes section of its own.

Loaded by ``mkdocs.yml`` (``extensions`` of the python handler); not part of sklif.
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:mod|func|class|meth|attr|data|obj|exc|const|term):`~?([^`]+)`")
BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")


def _role(match: re.Match) -> str:
    target = match.group(1)
    if match.group(0).split("`")[1].startswith("~"):
        target = target.rsplit(".", 1)[-1]
    return f"``{target}``"


def _columns(border: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"=+", border)]


def _cells(line: str, columns: list[tuple[int, int]]) -> list[str]:
    cells = []
    for i, (start, _) in enumerate(columns):
        end = columns[i + 1][0] if i + 1 < len(columns) else len(line)
        cells.append(line[start:end].strip())  # Markdown tables keep pipes in code spans
    return cells


def _tables(text: str) -> str:
    """Replace every simple table (border, header, border, rows, border) by a Markdown one."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        borders = [j for j in range(i, len(lines)) if BORDER.match(lines[j])][:3]
        if i == (borders[0] if borders else -1) and len(borders) == 3:
            first, second, third = borders
            columns = _columns(lines[first])
            indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
            head = [_cells(line, columns) for line in lines[first + 1 : second]]
            header = [" ".join(cells) for cells in zip(*head, strict=True)]
            rows = [_cells(line, columns) for line in lines[second + 1 : third] if line.strip()]
            out += [indent + "| " + " | ".join(header) + " |", indent + "|" + "---|" * len(columns)]
            out += [indent + "| " + " | ".join(row) + " |" for row in rows]
            i = third + 1
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def rst_to_markdown(text: str) -> str:
    text = ROLE.sub(_role, text)
    text = re.sub(r"(\S)::$", r"\1:", text, flags=re.MULTILINE)
    text = re.sub(r"^(\s*)::$", "", text, flags=re.MULTILINE)
    if "\nNotes\n-----" not in text:
        text = re.sub(r"\n\n(Input shape: )", r"\n\nNotes\n-----\n\1", text)
    return _tables(text)


class RstToMarkdown(griffe.Extension):
    """Rewrite each docstring once, when its object is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
