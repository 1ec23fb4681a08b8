"""Zoo recipes: a TOML grid of tasks × architectures × hidden sizes × seeds × training.

```toml
name = "quick"
description = "a tiny zoo for tests"

[grid]
tasks = ["flipflop3", "decay3"]       # or suites = ["memory3"]; "all" for everything
architectures = ["gru", "ctrnn-relu-dale"]   # or "all"
hidden = [8]
seeds = [0, 1]
```

A zoo may join several grids, as an array of tables: the union of their networks is
built (a network listed twice is built once)::

```toml
[[grid]]                              # every task at 32 units, 10 seeds
tasks = "all"
architectures = "all"
hidden = [32]
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

[[grid]]                              # and a width factor on two suites
suites = ["memory3", "cddm"]
architectures = "all"
hidden = [64]
seeds = [0, 1, 2, 3]
```

```toml

[train]                               # any TrainConfig field
max_steps = 30

[options.ctrnn-relu-dale]             # optional architecture options
excitatory = 0.75
```

A recipe is checked completely before any training or write: an unknown key, task,
architecture, a value of the wrong type or out of range (an architecture option is
checked against its constructor's default's type, then by building one network of
every size the recipe asks for, so the architecture's own checks run) raises
:class:`RecipeError` naming the file, the key and the valid values. Training runs in *shards*: one population per
architecture × hidden size × suite, holding every (task, seed) of that suite.
"""

from __future__ import annotations

import inspect
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from simbench.zoo.architectures import ARCHITECTURES
from simbench.zoo.tasks import SUITES, TASKS
from simbench.zoo.training import Member, TrainConfig

TOP_KEYS = ("name", "description", "grid", "train", "options")
GRID_KEYS = ("tasks", "suites", "architectures", "hidden", "seeds")


class RecipeError(ValueError):
    """A recipe that cannot be built, with the file and key at fault."""


@dataclass(frozen=True)
class Shard:
    """One population to train: an architecture and size on the tasks of one suite."""

    architecture: str
    hidden: int
    suite: str
    members: tuple[Member, ...]
    config: TrainConfig
    options: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.architecture}-h{self.hidden}-{self.suite}"


def network_id(task: str, architecture: str, hidden: int, seed: int) -> str:
    return f"{task}-{architecture}-h{hidden}-s{seed}"


@dataclass(frozen=True)
class Grid:
    """One ``[grid]`` table: every task × architecture × hidden size × seed it names."""

    tasks: tuple[str, ...]
    architectures: tuple[str, ...]
    hidden: tuple[int, ...]
    seeds: tuple[int, ...]

    def members(self, architecture: str, hidden: int, suite: str) -> list[Member]:
        if architecture not in self.architectures or hidden not in self.hidden:
            return []
        return [Member(task, seed) for task in self.tasks if TASKS[task].suite.name == suite
                for seed in self.seeds]


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    grids: tuple[Grid, ...]
    config: TrainConfig
    options: dict
    source: str
    path: Path | None = None

    @property
    def architectures(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a for g in self.grids for a in g.architectures))

    @property
    def hidden(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(h for g in self.grids for h in g.hidden))

    def shards(self) -> list[Shard]:
        """One shard per architecture × hidden size × suite, members of every grid joined."""
        out = []
        for architecture in self.architectures:
            for hidden in self.hidden:
                for suite in SUITES:
                    members = [m for g in self.grids for m in g.members(architecture, hidden, suite)]
                    members = tuple(dict.fromkeys(members))
                    if members:
                        out.append(Shard(architecture, hidden, suite, members, self.config,
                                         dict(self.options.get(architecture, {}))))
        return out

    def network_ids(self) -> list[str]:
        return [network_id(m.task, s.architecture, s.hidden, m.seed) for s in self.shards() for m in s.members]


def load_recipe(path) -> Recipe:
    """Read and fully validate a recipe file."""
    path = Path(path)
    if path.is_dir():
        raise RecipeError(f"{path}: a folder, not a recipe file (a .toml file)")
    try:
        source = path.read_text()
        data = tomllib.loads(source)
    except FileNotFoundError:
        raise RecipeError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(f"{path}: cannot read the recipe ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise RecipeError(f"{path}: not valid TOML: {error}") from None
    return parse_recipe(data, source, path)


def parse_recipe(data: dict, source: str = "", path: Path | None = None) -> Recipe:
    where = str(path) if path else "<recipe>"

    def fail(key, message):
        raise RecipeError(f"{where}: key '{key}': {message}")

    _check_keys(data, TOP_KEYS, "", fail)
    tables = data.get("grid")
    if isinstance(tables, dict):
        tables = [tables]
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        fail("grid", "a [grid] table (or [[grid]] tables) is required")
    grids = tuple(_grid(table, fail) for table in tables)

    train = data.get("train", {})
    if not isinstance(train, dict):
        fail("train", "must be a table of TrainConfig fields")
    config = _train_config(train, fail)

    options = data.get("options", {})
    if not isinstance(options, dict):
        fail("options", "must be a table of per-architecture tables")
    for arch, values in options.items():
        _check_options(arch, values, grids, fail)

    name = data.get("name", path.stem if path else "zoo")
    if not isinstance(name, str) or not name:
        fail("name", "must be a non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str):
        fail("description", "must be a string")
    return Recipe(name, description, grids, config, options, source, path)


def _grid(grid: dict, fail) -> Grid:
    _check_keys(grid, GRID_KEYS, "grid.", fail)
    tasks = _names(grid, "tasks", TASKS, fail, required=False)
    suites = _names(grid, "suites", SUITES, fail, required=False)
    if not tasks and not suites:
        fail("grid.tasks", f"give tasks or suites; valid tasks: {', '.join(TASKS)}")
    chosen = [t for t in TASKS if t in tasks or TASKS[t].suite.name in suites]
    architectures = _names(grid, "architectures", ARCHITECTURES, fail, required=True)
    hidden = _positive_ints(grid, "hidden", fail, allow_zero=False)
    seeds = _positive_ints(grid, "seeds", fail, allow_zero=True)
    return Grid(tuple(chosen), tuple(architectures), tuple(hidden), tuple(seeds))


def _check_keys(table, valid, prefix, fail):
    for key in table:
        if key not in valid:
            fail(prefix + key, f"unknown key; valid keys: {', '.join(valid)}")


def _names(grid, key, registry, fail, required):
    value = grid.get(key)
    if value is None:
        if required:
            fail(f"grid.{key}", f"required; valid: all, {', '.join(registry)}")
        return []
    if value == "all":
        return list(registry)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(f"grid.{key}", f"must be a list of names or \"all\"; valid: {', '.join(registry)}")
    for name in value:
        if name not in registry:
            fail(f"grid.{key}", f"unknown value {name!r}; valid: {', '.join(registry)}")
    return value


def _positive_ints(grid, key, fail, allow_zero):
    value = grid.get(key)
    bound = "non-negative" if allow_zero else "positive"
    if not isinstance(value, list) or not value:
        fail(f"grid.{key}", f"must be a non-empty list of {bound} integers")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0 or (v == 0 and not allow_zero):
            fail(f"grid.{key}", f"{v!r} is not a {bound} integer")
    return value


def _train_config(train, fail) -> TrainConfig:
    types = {f.name: f.type for f in fields(TrainConfig)}
    defaults = TrainConfig()
    for key, value in train.items():
        if key not in types:
            fail(f"train.{key}", f"unknown key; valid keys: {', '.join(types)}")
        default = getattr(defaults, key)
        expected = type(default) if default is not None else (float, int)
        ok = isinstance(value, expected) and not isinstance(value, bool)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            fail(f"train.{key}", f"expected {types[key]}, got {type(value).__name__} {value!r}")
    try:
        return TrainConfig(**train)
    except ValueError as error:
        fail("train", str(error))


def _architecture_options(arch: str) -> dict[str, object]:
    """The options a recipe may set for ``arch`` and their defaults (constructor keywords)."""
    cls = ARCHITECTURES[arch].cls
    fixed = set(ARCHITECTURES[arch].options)
    parameters = inspect.signature(cls.__init__).parameters
    skip = {"self", "n_inputs", "n_outputs", "hidden", "seeds"} | fixed
    keywords = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {name: p.default for name, p in parameters.items() if name not in skip and p.kind in keywords}


def _check_options(arch: str, values, grids: tuple[Grid, ...], fail) -> None:
    """Each option known and of its default's type, then the architecture's own range checks.

    The ranges are the constructor's: one network is built (not trained) with each option
    alone, then with all of them, at every hidden size the grids give ``arch``.
    """
    if arch not in ARCHITECTURES:
        fail(f"options.{arch}", f"unknown architecture; valid: {', '.join(ARCHITECTURES)}")
    if not isinstance(values, dict):
        fail(f"options.{arch}", "must be a table")
    valid = _architecture_options(arch)
    for key, value in values.items():
        if key not in valid:
            fail(f"options.{arch}.{key}", f"unknown option; valid: {', '.join(valid) or 'none'}")
        expected = _option_type(valid[key])
        if not _is_of_type(value, expected):
            fail(f"options.{arch}.{key}", f"expected {expected}, got {type(value).__name__} {value!r}")
    sizes = [h for g in grids if arch in g.architectures for h in g.hidden]
    sizes = dict.fromkeys(sizes or [h for g in grids for h in g.hidden])
    alone = [({key: value}, f"options.{arch}.{key}") for key, value in values.items()]
    for chosen, key in alone + [(values, f"options.{arch}")]:
        for hidden in sizes:
            try:
                ARCHITECTURES[arch].population(1, 1, hidden, [0], **chosen)
            except (ValueError, TypeError) as error:
                fail(key, f"{error} (checked at hidden = {hidden})")


def _option_type(default) -> str:
    """The kind of value an option takes, from its default (None: a number)."""
    if isinstance(default, bool):
        return "a boolean"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, str):
        return "a string"
    return "a number"


def _is_of_type(value, expected: str) -> bool:
    if expected == "a boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if expected == "an integer":
        return isinstance(value, int)
    if expected == "a string":
        return isinstance(value, str)
    return isinstance(value, (int, float))
