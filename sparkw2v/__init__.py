"""sparkw2v: word2vec (skip-gram and CBOW, negative sampling and hierarchical softmax) on Apache Spark."""
from .config import ConfigError, TrainConfig

__version__ = "0.1.0"

__all__ = ["ConfigError", "TrainConfig", "__version__"]
