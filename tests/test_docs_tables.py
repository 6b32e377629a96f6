"""Every table of docs/conformance.md that names its `deqverify check --summary` command is
exactly what that command prints from the stored reports in conformance/results/ (the table
and the messages under it): a rerun that changes a stored report must change the page too."""

import itertools
import re
from pathlib import Path

import pytest

from deqverify.conformance.report import summary_table

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "conformance.md"
COMMAND = re.compile(r"```bash\n(deqverify check --summary [^\n]+)\n```\n\n")


def expand_braces(word: str) -> list[str]:
    """Shell brace expansion of one word with any number of {a,b,...} groups (no nesting)."""
    parts = re.split(r"\{([^{}]*)\}", word)
    choices = [[part] if i % 2 == 0 else part.split(",") for i, part in enumerate(parts)]
    return ["".join(pieces) for pieces in itertools.product(*choices)]


def summary_commands():
    text = PAGE.read_text(encoding="utf-8")
    return [(match.group(1), text[match.end():]) for match in COMMAND.finditer(text)]


def test_the_page_has_summary_tables():
    assert len(summary_commands()) >= 8


@pytest.mark.parametrize("command, after", summary_commands(), ids=lambda value: str(value)[:90])
def test_a_published_table_is_what_its_command_prints(command, after):
    paths = [ROOT / path for word in command.split()[3:] for path in expand_braces(word)]
    expected = summary_table(paths)
    assert after.startswith(expected + "\n"), (
        f"docs/conformance.md differs from `{command}`; regenerate the block under it")
