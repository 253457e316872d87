"""sparkw2v: word2vec (skip-gram and CBOW, negative sampling and hierarchical softmax) on Apache Spark."""
from .config import ConfigError, TrainConfig

__version__ = "0.1.0"

__all__ = ["ConfigError", "TrainConfig", "Word2Vec", "Word2VecModel", "WordVectors", "__version__"]

# Imported on first use, so `import sparkw2v` stays light (no pyspark.ml, Numba or pyarrow import).
_LAZY = {"Word2Vec": ".ml", "Word2VecModel": ".ml", "WordVectors": ".vectors"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
