"""BENCHMARKS.md is generated from measured results: the generator runs on what is stored."""

from __future__ import annotations

from bench import report


def test_report_is_written_from_the_stored_results(tmp_path):
    text = report.write_report(tmp_path / "BENCHMARKS.md")
    assert text.startswith("# Benchmarks")
    assert (tmp_path / "BENCHMARKS.md").read_text() == text
    for name in ("default_model", "drawn_digits", "predict_latency", "progress_overhead", "quick_train",
                 "architectures"):
        if report.load(name) is not None:
            assert "Reproduce: `python -m bench." in text
    assert "Cross-validation" in text
