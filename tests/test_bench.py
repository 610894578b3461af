"""The bench's own bookkeeping: what a run writes into bench/results.md."""

from __future__ import annotations


def test_a_bench_run_rewrites_its_own_figures_and_keeps_the_other_sections(tmp_path):
    from run import with_other_sections

    results = tmp_path / "results.md"
    results.write_text("old figures\n\n## An audience\n\n| a | b |\n\n## A new text\n\nslow\n")
    written = with_other_sections(results, "new figures\n\n| x |")
    assert (
        written == "new figures\n\n| x |\n\n## An audience\n\n| a | b |\n\n## A new text\n\nslow\n"
    )
    assert with_other_sections(tmp_path / "none.md", "only") == "only\n"
