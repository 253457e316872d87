"""Numba kernels: plain functions over arrays, with explicit RNG state. No Spark, no objects."""
from ._cache import versioned_cache_dir

with versioned_cache_dir():  # every kernel module is decorated here, rng and steps through models
    from .models import KernelSettings, KernelTables, SliceResult, train_slice
    from .rng import derive_seed

__all__ = ["KernelSettings", "KernelTables", "SliceResult", "train_slice", "derive_seed"]
