"""The committed leaderboards describe the committed reference zoo (not a stale earlier build)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simbench.bench.leaderboard import load_distances
from simbench.zoo.store import load_zoo

ROOT = Path(__file__).resolve().parents[1]
LEADERBOARDS = ROOT / "leaderboards"
REFERENCE = ROOT / "zoo" / "reference"
SUITES = ["memory3", "oscillation", "context", "cddm"]


@pytest.fixture(scope="module")
def zoo():
    if not (REFERENCE / "manifest.csv").exists():
        pytest.skip("reference zoo absent")
    return load_zoo(REFERENCE)


@pytest.mark.parametrize("suite", SUITES)
def test_rows_name_the_committed_networks(zoo, suite):
    table = pd.read_csv(LEADERBOARDS / f"{suite}.csv", keep_default_na=False, na_values=[""])
    rows = table[table.zoo == "reference"]
    assert len(rows) > 0
    kept = zoo.filter(suite=suite, passed=True)
    assert (rows.zoo_hash.astype(str) == kept.hash[:16]).all(), sorted(set(rows.metric[rows.zoo_hash.astype(str) != kept.hash[:16]]))
    assert (rows.n_networks == len(kept)).all()
    for params in rows.params:
        distance = load_distances(LEADERBOARDS, suite, params)
        assert list(distance.index) == list(kept.ids) == list(distance.columns), params
        matrix = distance.to_numpy(dtype=float)
        np.testing.assert_allclose(matrix, matrix.T, err_msg=params)


def test_every_committed_estimate_lies_inside_its_interval():
    """Issue 12: the percentile bootstrap over networks left 50 of 399 estimates outside."""
    import numpy as np
    import pandas as pd

    from simbench.bench.scores import SCORES

    checked = 0
    boards = Path(__file__).resolve().parents[1] / "leaderboards"  # every zoo's folder
    for path in sorted(p for p in boards.rglob("*.csv") if "distances" not in p.relative_to(boards).parts):
        table = pd.read_csv(path)
        for score in SCORES:
            value, low, high = table[score], table[f"{score}_low"], table[f"{score}_high"]
            defined = value.notna()
            assert (low[defined] <= value[defined] + 1e-12).all(), (path.name, score)
            assert (value[defined] <= high[defined] + 1e-12).all(), (path.name, score)
            assert (np.isfinite(low[defined]) & np.isfinite(high[defined])).all(), (path.name, score)
            checked += int(defined.sum())
    assert checked > 500
