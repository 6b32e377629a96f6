"""``deqverify check --html``: one self-contained page with the table and two SVG plots, read
back by an HTML parser and, where a headless Chromium is installed, rendered by it."""

import html.parser
import shutil
import subprocess

import planted_layers as pl
import pytest

from deqverify.app.cli import main
from deqverify.conformance import check_implementation
from deqverify.conformance.html_report import log_plot, render

CHECKS = ["layer-forward-residual", "layer-instability", "layer-backward"]


class _Elements(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.ids, self.text = [], set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.ids.update(value for name, value in attrs if name == "id")

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    report = check_implementation(pl.TanhLayer(), checks=CHECKS, timeout=60)
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render(report), encoding="utf-8")
    return report, path


def test_the_page_holds_the_table_the_summary_and_both_plots(page):
    report, path = page
    parser = _Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    assert {"checks", "verdict", "layer-summary", "residual-plot", "sweep-plot"} <= parser.ids
    assert parser.tags.count("tr") == 1 + len(CHECKS) + 1  # header, the checks, protocol
    assert parser.tags.count("circle") >= 256  # one mark per sample of the residual plot
    assert "OK: 4 passed" in "".join(parser.text)
    assert "script" not in parser.tags  # nothing to execute, nothing fetched


def test_an_infinite_error_is_drawn_not_dropped():
    """inf and NaN are drawn (red, "non-finite"), 0 sits on the floor, an unmeasured value
    (None) is not drawn at all."""
    svg = log_plot([(0, 1e-12), (1, float("inf")), (2, float("nan")), (3, 0.0), (4, None)], "t", "x", "y", "p")
    assert svg.count("non-finite") == 2
    assert svg.count("<circle") == 4


def test_cli_writes_html_and_refuses_a_missing_directory_before_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["check", "builtin", "--check", "protocol", "--html", "no/such/dir/r.html"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["check", "builtin", "--check", "protocol", "--html", "r.html"]) == 0
    assert "Conformance of" in (tmp_path / "r.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_check_refuses_a_timeout_that_cannot_end(value, capsys):
    assert main(["check", "builtin", "--timeout", value]) == 2
    assert "--timeout must be a positive number" in capsys.readouterr().err


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(not _chromium(), reason="no headless Chromium here (.ci/run installs it where it can)")
def test_a_real_headless_browser_renders_the_page(page, tmp_path):
    """Chromium loads the file, lays it out and dumps the DOM it built: the table rows and
    both SVG plots are there; its screenshot is a real, non-blank PNG."""
    _, path = page
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(base + ["--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="residual-plot"' in dom.stdout and 'id="sweep-plot"' in dom.stdout
    assert dom.stdout.count("<tr>") >= len(CHECKS) + 1
    shot = tmp_path / "page.png"
    run = subprocess.run(base + ["--window-size=1200,1600", f"--screenshot={shot}", path.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a blank page compresses to ~5 kB
