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
