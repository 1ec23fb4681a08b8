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
