"""`simbench report`: claims tested on rows whose answers are known."""

import numpy as np
import pandas as pd

from simbench.bench.design import Design
from simbench.bench.leaderboard import save_distances, update_leaderboard
from simbench.bench.report import write_report
from simbench.bench.rows import score_columns
from simbench.zoo.store import Zoo

ARCHS = ["ctrnn-relu-dale", "ctrnn-relu-free", "ctrnn-tanh-dale", "ctrnn-tanh-free"]


def _publish(folder, suite, metric, params, manifest, labels, noise, seed):
    d = (labels[:, None] != labels[None, :]).astype(float)
    x = np.random.default_rng(seed).random(d.shape) * noise
    d = d + x + x.T
    np.fill_diagonal(d, 0)
    save_distances(folder, suite, params, manifest["id"], d)
    row = {"metric": metric, "params": params, "kind": "geometry", "suite": suite, "zoo": "zoo",
           **score_columns(d, Design.from_manifest(manifest), n_boot=200, n_perm=0)}
    update_leaderboard(folder, suite, row)


def test_report_supports_what_the_rows_show_and_flags_the_rest(tmp_path):
    manifest = pd.DataFrame([{"id": f"{t}-{a}-s{s}", "suite": "cddm", "task": t, "architecture": a, "hidden": 32,
                              "seed": s, "passed": True, "content_hash": f"{t}{a}{s}"}
                             for t in ("t1", "t2") for a in ARCHS for s in range(4)])
    zoo = Zoo(tmp_path / "zoo", manifest)
    arch, task = manifest["architecture"].to_numpy(), manifest["task"].to_numpy()
    activation = np.array([a.split("-")[1] for a in arch])
    folder = tmp_path / "lb"
    _publish(folder, "cddm", "cca", "cca", manifest, arch, 0.3, 0)                    # geometry: architecture
    _publish(folder, "cddm", "fp-topology", "fp-topology", manifest, task, 0.3, 1)    # topology: task only
    _publish(folder, "cddm", "traj-lsq", "traj-lsq", manifest, activation, 0.3, 2)    # activation, not Dale
    text = write_report(folder, zoo, tmp_path / "report").read_text()
    lines = {line.split("|")[3].strip(" `"): line for line in text.splitlines() if line.startswith("| ") and "|" in line[2:]}
    assert "**supported**" in lines["cca"]
    assert "**supported**" in lines["cca − fp-topology"]
    assert "**supported**" in lines["fp-topology"]  # it separates the tasks
    assert "**supported**" in lines["traj-lsq"] and "**not run**" in lines["selectivity"]
    assert "Where the zoo disagrees" in text
    assert (tmp_path / "report").is_dir()


def test_paper_b_claims_name_only_the_metrics_defined_on_each_suite():
    from simbench.bench.report import PAPER_B_METRICS, tolmachev_claims

    rows = pd.DataFrame({"suite": ["cddm", "gonogo"], "metric": ["cca", "cca"]})
    claims = tolmachev_claims(rows)
    by_suite = {s: [c.metric for c in claims if c.suite == s] for s in ("cddm", "gonogo")}
    assert by_suite["cddm"] == list(PAPER_B_METRICS)  # ood and latent-circuit are defined there
    assert "ood" not in by_suite["gonogo"] and "latent-circuit" not in by_suite["gonogo"]
    assert "selectivity" in by_suite["gonogo"] and all(c.verdict == "not run" for c in claims)
