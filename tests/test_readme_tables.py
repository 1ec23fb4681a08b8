"""The READMEs' tables are the committed leaderboard rows, not an earlier state of them."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from readme_tables import replace_between, stale_readmes  # noqa: E402


@pytest.mark.skipif(not (ROOT / "zoo" / "benchmark" / "manifest.csv").exists(), reason="benchmark zoo absent")
def test_every_generated_readme_table_matches_the_committed_rows():
    stale = stale_readmes(reliability=True, write=False)
    assert stale == [], f"regenerate with python scripts/readme_tables.py: {[str(p) for p in stale]}"


def test_a_table_is_replaced_between_its_markers_only():
    text = "intro\n<!-- t:begin -->\n| old |\n<!-- t:end -->\nafter\n"
    assert replace_between(text, "t", "| new |", Path("X.md")) == "intro\n<!-- t:begin -->\n| new |\n<!-- t:end -->\nafter\n"


def test_a_readme_without_the_markers_is_one_clear_error():
    with pytest.raises(ValueError, match=r"X.md: no '<!-- status:begin -->'"):
        replace_between("no markers here", "status", "| x |", Path("X.md"))


def test_a_score_by_suite_is_each_suites_row_with_its_interval(tmp_path):
    import pandas as pd

    from which_metric_table import by_suite

    def row(metric, params, estimate, low, high, **extra):
        return {"metric": metric, "params": params, "zoo": "z", "arch_auc": estimate,
                "arch_auc_low": low, "arch_auc_high": high, **extra}

    pd.DataFrame([row("cca", "cca:reg=1e-06", 0.9, 0.8, 0.95), row("rsa", "rsa:n_conditions=24", 0.6, 0.5, 0.7),
                  row("cca", "cca:reg=1e-06", 0.1, 0.0, 0.2) | {"zoo": "other"}]).to_csv(tmp_path / "memory3.csv")
    pd.DataFrame([row("rsa", "rsa:n_conditions=450", 0.7, 0.65, 0.75),
                  row("dsa", "dsa", 0.8, 0.7, 0.85, seeds_per_cell=5),
                  row("ood", "ood", None, None, None)]).to_csv(tmp_path / "cddm.csv")  # no such score: left out
    lines = by_suite(tmp_path, "z", "arch_auc").splitlines()
    assert lines[0] == "| metric | memory3 | cddm |"
    assert lines[2:] == ["| `cca:reg=1e-06` | 0.90 [0.80, 0.95] | — |",  # memory3's order first
                         "| `rsa:n_conditions=24` | 0.60 [0.50, 0.70] | 0.70 [0.65, 0.75] |",  # one configuration
                         "| `dsa` (5 seeds/cell) | — | 0.80 [0.70, 0.85] |"]
