"""Numba kernels: plain functions over arrays, with explicit RNG state. No Spark, no objects."""
from .models import KernelSettings, KernelTables, SliceResult, train_slice
from .rng import derive_seed

__all__ = ["KernelSettings", "KernelTables", "SliceResult", "train_slice", "derive_seed"]
