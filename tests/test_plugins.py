"""A metric plugin installed from a separate package appears in the registry and runs."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "simbench-throwaway-plugin"
version = "0.0.1"

[project.entry-points."simbench.metrics"]
mean-gap = "throwaway_metric:MeanGap"
broken-plugin = "throwaway_missing_module:Nothing"
"""

PLUGIN_MODULE = '''
"""A throwaway metric: distance between the two networks' mean activity levels."""
import numpy as np
from simbench.metrics.base import Metric


class MeanGap(Metric):
    id = "mean-gap"
    kind = "geometry"
    description = "absolute difference of the mean unit activity"
    triangle_inequality = True
    parameters = {}

    def _prepare(self, X):
        return {"mean": np.array([X.mean()])}

    def _distance(self, a, b):
        return float(abs(a["mean"][0] - b["mean"][0]))
'''


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    root = tmp_path_factory.mktemp("plugin")
    source = root / "src"
    source.mkdir()
    (source / "pyproject.toml").write_text(textwrap.dedent(PLUGIN_PYPROJECT))
    (source / "throwaway_metric.py").write_text(PLUGIN_MODULE)
    site = root / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return site


def test_installed_plugin_is_listed_and_runs(plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_site))
    from simbench.metrics import available_metrics, compare, get_metric

    records = {r.id: r for r in available_metrics()}
    assert records["mean-gap"].loaded and records["mean-gap"].kind == "geometry"
    assert not records["broken-plugin"].loaded
    assert "throwaway_missing_module" in records["broken-plugin"].error
    assert records["cca"].loaded  # the broken plugin does not take the built-ins down
    x = np.random.default_rng(0).standard_normal((50, 4))
    assert compare(x, x + 2.0, metric="mean-gap") == pytest.approx(2.0)
    matrix = get_metric("mean-gap").pairwise([x, x + 1.0, x + 3.0])
    np.testing.assert_allclose(matrix, [[0, 1, 3], [1, 0, 2], [3, 2, 0]], atol=1e-12)


def test_cli_lists_the_plugin(plugin_site):
    env_path = f"{plugin_site}"
    result = subprocess.run([sys.executable, "-m", "simbench.cli", "metrics", "list"], capture_output=True,
                            text=True, env={**__import__("os").environ, "PYTHONPATH": env_path,
                                            "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "mean-gap" in result.stdout and "failed to load" in result.stdout
