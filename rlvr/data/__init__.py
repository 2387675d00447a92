"""Answer-key datasets: typed problem records, a registry, built-in and generic loaders.

``load_problems(DatasetConfig(name="gsm8k", split="test"))`` is the entry point; ``DATASETS`` is the
registry (entry-point group ``rlvr.datasets``). Importing this package registers the built-ins.
"""

from rlvr.data import arith, builtin, countdown, files  # noqa: F401 - register the built-in datasets
from rlvr.data.config import DatasetConfig
from rlvr.data.load import load_problems
from rlvr.data.problem import Problem
from rlvr.data.registry import DATASETS, Dataset, get_dataset

__all__ = ["DATASETS", "Dataset", "DatasetConfig", "Problem", "get_dataset", "load_problems"]
