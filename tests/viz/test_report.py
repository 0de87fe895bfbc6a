"""report.html: self-contained (images inline, nothing fetched), and it renders in a real headless browser."""

from __future__ import annotations

import base64
import re
import shutil

import pytest
from browser import probe_page

from descgraph.cli import main
from descgraph.viz import write_report

IMG = re.compile(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)">')


def test_report_embeds_every_picture_and_fetches_nothing(synthetic_expdir, capsys):
    assert main(["report", str(synthetic_expdir)]) == 0
    page = (synthetic_expdir / "report.html").read_text()
    assert str(synthetic_expdir / "report.html") in capsys.readouterr().out
    alts = [alt for alt, _ in IMG.findall(page)]
    assert alts == ["training curves", "cells of final description", "architecture weights"]
    for _, data in IMG.findall(page):
        assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no network resource
    assert page.count("<img") == len(alts)
    for text in ("98.5", "123456", "7890123", "sep_conv_3x3"):  # headline numbers; the conf mentions the ops
        assert text in page


def test_a_malformed_file_shows_its_error_in_its_section(synthetic_expdir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(synthetic_expdir, broken)
    (broken / "search" / "alphas.jsonl").write_text('{"epoch": 0}\n')
    page = write_report(broken).read_text()
    assert "alphas.jsonl:1: not an alphas record" in page
    assert 'alt="cells of final description"' in page  # the other sections are still there


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"algo": "darts", "search": {"val', "summary.json: not a JSON file (Unterminated string"),
        ("[1, 2]", "summary.json: a JSON list, expected an object"),
    ],
)
def test_a_summary_cut_short_or_not_an_object_is_one_line(synthetic_expdir, tmp_path, capsys, text, message):
    broken = tmp_path / "broken"
    shutil.copytree(synthetic_expdir, broken)
    (broken / "summary.json").write_text(text)
    assert main(["report", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{broken}/{message}" in err, err


@pytest.mark.slow  # starts a browser
def test_report_loads_in_headless_chromium_without_errors(synthetic_expdir, tmp_path):
    page = write_report(synthetic_expdir)
    result = probe_page(page, tmp_path)
    assert result["errors"] == [] and result["console"] == []
    assert len(result["images"]) == 3 and all(w > 0 and h > 0 for w, h in result["images"])


@pytest.mark.slow
def test_the_browser_check_sees_a_broken_image_and_a_console_error(synthetic_expdir, tmp_path):
    page = tmp_path / "report.html"
    text = write_report(synthetic_expdir).read_text()
    text = text.replace("base64,", "base64,AAAA", 1).replace("</body>", "<script>console.error('boom')</script></body>")
    page.write_text(text)
    result = probe_page(page, tmp_path)
    assert result["images"][0] == [0, 0] and "boom" in result["errors"]


@pytest.mark.slow
def test_a_bignas_run_reports_its_pareto_front_and_each_device_child(tmp_path):
    devices = "[{name: phone, constraints: {flops: 1.0}}, {name: edge}]"
    argv = ["run", "bignas_toy", f"nas.search.multi_objective.devices={devices}", "--expdir", str(tmp_path)]
    assert main(argv) == 0
    page = (tmp_path / "report.html").read_text()
    alts = [alt for alt, _ in IMG.findall(page)]
    assert "Pareto front" in alts and "cells of edge child" in alts and "cells of phone child" in alts
    pareto = (tmp_path / "search" / "pareto.png").read_bytes()
    assert base64.b64encode(pareto).decode() in page  # the run's own picture, embedded as it is
