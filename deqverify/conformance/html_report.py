"""``deqverify check --html PATH``: the report as one self-contained HTML page — the table of
checks, the layer summary, and two plots drawn as inline SVG (no script, no network, no
plotting library): the forward residual per sample (``layer-forward-residual``) and the
gradient error along the near-instability sweep (``layer-instability``), both on log scales."""

from __future__ import annotations

import html
import math

WIDTH, HEIGHT, PAD = 560, 260, 48
STATUS_COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "error": "#cf222e", "skipped": "#6e7781",
                  "xfail": "#9a6700", "xpass": "#8250df"}


def _metric(report, check_id: str, key: str):
    for record in report.records:
        if record.id == check_id:
            return record.metrics.get(key)
    return None


def log_plot(points, title: str, x_label: str, y_label: str, element_id: str) -> str:
    """An SVG scatter of (x, y) on a log₁₀ axis: y = None is not drawn (never measured), 0 sits
    on the floor, and non-finite or negative y are drawn at the top edge in red (an infinite
    error is never hidden)."""
    points = [(x, y) for x, y in points if y is not None]  # not measured: not drawn
    finite = [(x, y) for x, y in points if math.isfinite(y) and y > 0]
    logs = [math.log10(y) for _, y in finite] or [0.0]
    lo, hi = math.floor(min(logs)), math.ceil(max(logs)) + (1 if min(logs) == max(logs) else 0)
    xs = [x for x, _ in points] or [0.0]
    x_lo, x_hi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1

    def px(x):
        return PAD + (x - x_lo) / (x_hi - x_lo) * (WIDTH - 2 * PAD)

    def py(log_y):
        return HEIGHT - PAD - (log_y - lo) / (hi - lo) * (HEIGHT - 2 * PAD)

    marks = []
    for x, y in points:
        if math.isfinite(y) and y > 0:
            marks.append(f'<circle cx="{px(x):.1f}" cy="{py(math.log10(y)):.1f}" r="3" fill="#0969da"/>')
        elif y == 0:  # exactly zero: drawn on the floor of the axis
            marks.append(f'<circle cx="{px(x):.1f}" cy="{py(lo):.1f}" r="3" fill="#0969da"><title>0</title></circle>')
        else:
            marks.append(f'<circle cx="{px(x):.1f}" cy="{PAD - 10}" r="4" fill="#cf222e"><title>non-finite'
                         "</title></circle>")
    ticks = "".join(f'<text x="{PAD - 6}" y="{py(t) + 4:.1f}" text-anchor="end" font-size="10">1e{t}</text>'
                    for t in range(lo, hi + 1))
    return (f'<svg id="{element_id}" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'role="img" aria-label="{html.escape(title)}">'
            f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-size="13">{html.escape(title)}</text>'
            f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#555"/>'
            f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#555"/>{ticks}'
            f'<text x="{WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle" font-size="11">{html.escape(x_label)}</text>'
            f'<text x="14" y="{HEIGHT / 2}" font-size="11" transform="rotate(-90 14 {HEIGHT / 2})" '
            f'text-anchor="middle">{html.escape(y_label)}</text>{"".join(marks)}</svg>')


def render(report) -> str:
    """The whole page for a :class:`~deqverify.conformance.report.Report`."""
    rows = []
    for r in report.records:
        if r.status == "skipped" and r.note.endswith("protocol is not declared"):
            continue
        worst = "—" if r.worst_error != r.worst_error else f"{r.worst_error:.3g}"
        colour = STATUS_COLOURS.get(r.status, "#000")
        rows.append(f'<tr><td><code>{html.escape(r.id)}</code></td><td>{html.escape(r.cites)}</td>'
                    f'<td style="color:{colour};font-weight:600">{html.escape(r.status)}</td>'
                    f'<td>{worst}</td><td>{html.escape(r.note)}</td></tr>')
    summary = {k: v for r in report.records if r.id.startswith("layer-") for k, v in r.metrics.items()
               if isinstance(v, (int, float))}
    plots = []
    residuals = _metric(report, "layer-forward-residual", "residual per sample")
    if residuals:
        plots.append(log_plot(list(enumerate(residuals)), "forward residual per sample",
                              "sample", "‖f(z) − z‖ / max(1, ‖z‖)", "residual-plot"))
    sweep = _metric(report, "layer-instability", "sweep")
    if sweep:
        points = [(p["rho"], p.get("gradient error")) for p in sweep if p.get("rho") is not None]
        if points:
            plots.append(log_plot(points, "gradient error along the near-instability sweep",
                                  "ρ(∂f/∂z) at z*", "error against the declared mode", "sweep-plot"))
    counts = {s: sum(r.status == s for r in report.records) for s in ("passed", "failed", "error", "xfail")}
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>deqverify: {html.escape(report.implementation)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:13px}"
        "th{background:#f6f8fa}</style></head><body>"
        f"<h1>Conformance of <code>{html.escape(report.implementation)}</code></h1>"
        f"<p id=\"verdict\">{'OK' if report.ok else 'FAILED'}: {counts['passed']} passed, "
        f"{counts['failed'] + counts['error']} failed, {counts['xfail']} expected failures</p>"
        + (f"<p id=\"layer-summary\">{html.escape(', '.join(f'{k} {v:.3g}' for k, v in summary.items()))}</p>"
           if summary else "")
        + "<table id=\"checks\"><thead><tr><th>check</th><th>cites</th><th>status</th><th>worst</th>"
        f"<th>note</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        + "".join(f"<p>{plot}</p>" for plot in plots) + "</body></html>\n")
