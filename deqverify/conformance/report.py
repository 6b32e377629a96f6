"""Conformance report: one record per check, expected failures, table, JSON, exit code."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from deqverify.conformance.checks import CHECKS
from deqverify.core.errors import InvalidInputError


def read_expected_failures(path) -> dict[str, str]:
    """Lines ``check-id  # reason``; blank lines and whole-line comments are ignored.

    Raises :class:`~deqverify.core.errors.InvalidInputError` for a missing file or an id that
    names no check (a typo would otherwise silently expect nothing).
    """
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except OSError as error:
        raise InvalidInputError(f"cannot read the expected-failures file {str(path)!r}: "
                                f"{error.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"the expected-failures file {str(path)!r} is not UTF-8 text: "
                                "write one check id per line, `# reason` after it") from None
    expected = {}
    for line in lines:
        body, _, reason = line.partition("#")
        if body.strip():
            expected[body.strip()] = reason.strip()
    unknown = sorted(set(expected) - set(CHECKS))
    if unknown:
        raise InvalidInputError(f"{str(path)!r} lists {unknown}, which are not check ids; "
                                f"`deqverify check --list` shows them")
    return expected


@dataclass
class Report:
    implementation: str
    records: list
    expected_failures: dict = field(default_factory=dict)

    def __post_init__(self):
        unknown = sorted(set(self.expected_failures) - set(CHECKS))
        if unknown:
            raise InvalidInputError(f"expected failures {unknown} are not check ids; known: {list(CHECKS)}")
        for record in self.records:
            if record.id in self.expected_failures:
                if record.status in ("failed", "error"):
                    record.status = "xfail"
                elif record.status == "passed":
                    record.status = "xpass"
                record.note = (record.note + f" [expected failure: {self.expected_failures[record.id]}]").strip()

    @property
    def ok(self) -> bool:
        return all(r.status in ("passed", "skipped", "xfail", "xpass") for r in self.records)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def table(self) -> str:
        lines = [f"conformance of {self.implementation}",
                 f"{'check':24s} {'cites':10s} {'status':8s} {'worst error':>12s} {'threshold':>10s}  note",
                 "-" * 100]
        undeclared = [r for r in self.records if r.status == "skipped" and r.note.endswith("protocol is not declared")]
        for r in self.records:
            if r in undeclared:
                continue
            worst = "—" if r.worst_error != r.worst_error else f"{r.worst_error:.3g}"
            threshold = "—" if r.threshold != r.threshold else f"{r.threshold:.3g}"
            printed = f" [the implementation printed {len(r.output)} characters: see the JSON]" if r.output else ""
            lines.append(f"{r.id:24s} {r.cites:10s} {r.status:8s} {worst:>12s} {threshold:>10s}  {r.note}{printed}")
        if undeclared:
            lines.append(f"({len(undeclared)} checks of protocol families it does not declare skipped)")
        layer_metrics = {k: v for r in self.records if r.id.startswith("layer-") for k, v in r.metrics.items()
                         if isinstance(v, (int, float))}  # lists (per sample, the sweep) go to JSON/HTML
        if layer_metrics:
            lines.append("layer summary: " + ", ".join(
                f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in layer_metrics.items()))
        failures = [r for r in self.records if r.status in ("failed", "error") and r.counterexample]
        for r in failures:
            lines.append(f"\n{r.id}: minimal counterexample\n{r.counterexample}")
        passed = sum(r.status == "passed" for r in self.records)
        lines.append(f"\n{passed} passed, {sum(r.status in ('failed', 'error') for r in self.records)} failed, "
                     f"{sum(r.status == 'skipped' for r in self.records)} skipped, "
                     f"{sum(r.status == 'xfail' for r in self.records)} expected failures")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"implementation": self.implementation, "ok": self.ok,
                           "records": [r.to_dict() for r in self.records]}, indent=2, default=str)


def _read_stored_report(path) -> dict:
    """A report written by ``deqverify check --json``, checked for the fields the summary
    reads; anything else is an :class:`InvalidInputError` naming the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
        if not (isinstance(report, dict) and isinstance(report.get("implementation"), str)
                and isinstance(report.get("records"), list)
                and all(isinstance(r, dict) and {"id", "status", "worst_error"} <= r.keys()
                        for r in report["records"])):
            raise ValueError("it has no implementation name and records (id, status, worst_error)")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InvalidInputError(f"{str(path)!r} is not a report of `deqverify check --json`: "
                                f"{error}") from None
    return report


SUMMARY_NOTE_CHARS = 400
"""Characters of a failure's message kept under the summary table."""


def summary_table(paths) -> str:
    """A markdown table (check × implementation: status and worst error) built from stored
    JSON reports, so the published table is regenerated from data, not from a rerun (the
    checks of a protocol family no report exercised get no row; a check missing from a report
    that exercised its family shows "—"), followed by the message of every failed, expected
    or unexpectedly passing check: ``deqverify check --summary conformance/results/*.json``."""
    reports = [_read_stored_report(path) for path in paths]
    names = [report["implementation"] for report in reports]
    records = [{r["id"]: r for r in report["records"]} for report in reports]
    # a protocol family (scalar, vector, layer) none of these reports exercised gets no rows
    exercised = {CHECKS[i].family for by_id in records for i, r in by_id.items()
                 if i in CHECKS and r["status"] != "skipped"}
    lines = ["| check (cites) | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for check_id, check in CHECKS.items():
        cells = []
        for by_id in records:
            record = by_id.get(check_id)
            if record is None:
                cells.append("—")
                continue
            worst = record["worst_error"]
            shown = "" if worst is None or worst != worst else f" {worst:.2g}"
            cells.append(f"{record['status']}{shown}")
        if check.family != "any" and check.family not in exercised:
            continue
        lines.append(f"| {check_id} ({check.cites}) | " + " | ".join(cells) + " |")
    messages = [_message(name, record) for name, by_id in zip(names, records) for record in by_id.values()
                if record["status"] in ("failed", "xfail", "xpass")]
    return "\n".join(lines + ([""] + messages if messages else []))


def _message(name: str, record: dict) -> str:
    """One line: implementation · check (status), the expected-failure reason in full, then the
    check's own note (shortened to :data:`SUMMARY_NOTE_CHARS`)."""
    note, _, reason = " ".join((record.get("note") or "").split()).partition(" [expected failure: ")
    if len(note) > SUMMARY_NOTE_CHARS:
        note = note[:SUMMARY_NOTE_CHARS - 1] + "…"
    expected = f" expected: {reason.removesuffix(']')}. Check:" if reason else ""
    return f"- {name} · {record['id']} ({record['status']}):{expected} {note}"
