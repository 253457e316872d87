"""pyspark.ml adapter: `Word2Vec` (Estimator) and `Word2VecModel` (Model), Pipeline- and save-ready.

A thin layer over `trainer.train_sentences`: the Params become a `TrainConfig` (validated there, in
one place), the input column becomes an RDD of token lists, and the trained input vectors come back
as a `WordVectors`.

    from pyspark.ml import Pipeline
    from pyspark.ml.feature import Tokenizer
    from sparkw2v.ml import Word2Vec

    pipeline = Pipeline(stages=[Tokenizer(inputCol="text", outputCol="words"),
                                Word2Vec(inputCol="words", outputCol="features", vectorSize=100)])
    model = pipeline.fit(df)
    model.transform(df)              # adds `features`: the mean vector of each row's known words
    model.write().overwrite().save("hdfs:///models/w2v")

Parameter names follow Spark MLlib's `Word2Vec` where one exists (vectorSize, windowSize, minCount,
maxIter, stepSize, seed, numPartitions, maxSentenceLength, inputCol, outputCol); the rest are ours
(architecture, loss, negative, sample, nsExponent, minAlpha, cbowMean, syncsPerEpoch, interleave,
averaging, localCopy, scaleAlpha, maxVocabSize, computeLoss). Differences from MLlib, on purpose:

- `seed` defaults to the constant 1, not a hash of the class name.
- `numPartitions` defaults to None: Spark's default parallelism (MLlib: 1).
- `stepSize` defaults to None: 0.025 for skip-gram, 0.05 for CBOW (MLlib: 0.025).
- `transform` averages over the *known* words only: unknown words count neither in the sum nor in
  the denominator (MLlib divides the sum of known vectors by the number of all tokens). A row with
  no known word (or an empty array) gets a zero vector; a null row gets null.
- Empty or null tokens inside an array are dropped before training, as the file reader does.

Persistence (format version 1): `path/metadata/` is one line of JSON written by Spark, as every
pyspark.ml stage writes it (class, uid, sparkVersion, paramMap, defaultParamMap), plus
`format_version`, `sparkw2v_version`, `vocabSize` and `vectorSize`; `path/data/` is Parquet with
rows `(word string, vector array<float>, count bigint)`. The reader dispatches on `format_version`
and refuses one it does not know. Rows are read back in descending count order, ties by word: the
order training produces.
"""
from __future__ import annotations

import math
import os
import re
from typing import Any

import numpy as np
from pyspark import keyword_only
from pyspark.ml.base import Estimator, Model
from pyspark.ml.linalg import DenseVector, Vector, VectorUDT
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCol, HasMaxIter, HasOutputCol, HasSeed, HasStepSize
from pyspark.ml.util import (DefaultParamsReadable, DefaultParamsReader, DefaultParamsWritable,
                             DefaultParamsWriter, MLReadable, MLReader, MLWritable, MLWriter)
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (ArrayType, DoubleType, FloatType, LongType, StringType, StructField,
                               StructType)

from .config import ConfigError, TrainConfig
from .corpus import splits_independent_of_cores
from .text import split_sentence
from .trainer import train_sentences
from .vectors import WordVectors

__all__ = ["Word2Vec", "Word2VecModel", "ModelFormatError", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_DATA_PARTITION_BYTES = 64 * 2**20  # about this much vector data per Parquet part file

# Param name -> TrainConfig field. The defaults of these Params are TrainConfig's defaults.
_PARAM_TO_CONFIG = {
    "architecture": "architecture",
    "loss": "loss",
    "vectorSize": "vector_size",
    "windowSize": "window",
    "minCount": "min_count",
    "maxVocabSize": "max_vocab_size",
    "sample": "sample",
    "negative": "negative",
    "nsExponent": "ns_exponent",
    "stepSize": "alpha",
    "minAlpha": "min_alpha",
    "maxIter": "epochs",
    "cbowMean": "cbow_mean",
    "maxSentenceLength": "max_sentence_length",
    "numPartitions": "num_partitions",
    "syncsPerEpoch": "syncs_per_epoch",
    "interleave": "interleave",
    "averaging": "averaging",
    "localCopy": "local_copy",
    "scaleAlpha": "scale_alpha",
    "maxCopyAlpha": "max_copy_alpha",
    "blockMomentum": "block_momentum",
    "nesterov": "nesterov",
    "fullPace": "full_pace",
    "seed": "seed",
    "computeLoss": "compute_loss",
    "kernel": "kernel",
    "shuffleWords": "shuffle_words",
}
_CONFIG_TO_PARAM = {field: name for name, field in _PARAM_TO_CONFIG.items()}


class ModelFormatError(ValueError):
    """A saved model cannot be read: unknown format version, wrong class, or inconsistent data."""


def _param(name: str, doc: str, converter) -> Param:
    return Param(Params._dummy(), name, doc, typeConverter=converter)


def _to_optional_int(value: Any) -> int | None:
    return None if value is None else TypeConverters.toInt(value)


def _to_optional_float(value: Any) -> float | None:
    return None if value is None else TypeConverters.toFloat(value)


class _Word2VecParams(HasInputCol, HasOutputCol, HasSeed, HasMaxIter, HasStepSize):
    """Params shared by `Word2Vec` and `Word2VecModel`; every default is set in `__init__` here."""

    # The shared seed, maxIter and stepSize Params are redefined with our ranges and defaults.
    inputCol = _param("inputCol", "input column of tokens (array<string>; null rows are skipped)",
                      TypeConverters.toString)
    outputCol = _param("outputCol", "output column of mean word vectors (a new column name; vector)",
                       TypeConverters.toString)
    seed = _param("seed", "random seed; equal seeds, data and partitioning give identical vectors "
                  "(0 <= seed < 2^63)", TypeConverters.toInt)
    maxIter = _param("maxIter", "number of passes (epochs) over the data (1 <= maxIter <= 100000)",
                     TypeConverters.toInt)
    stepSize = _param("stepSize", "initial learning rate, decaying linearly to minAlpha "
                      "(0 < stepSize <= 10, or None: 0.025 for skipgram, 0.05 for cbow)",
                      _to_optional_float)
    vectorSize = _param("vectorSize", "dimension of the word vectors (1 <= vectorSize <= 10000)",
                        TypeConverters.toInt)
    windowSize = _param("windowSize", "largest distance between a word and a context word; each "
                        "word draws its window from 1..windowSize (1 <= windowSize <= 1000)",
                        TypeConverters.toInt)
    minCount = _param("minCount", "drop words that occur fewer times than this (>= 1)",
                      TypeConverters.toInt)
    maxVocabSize = _param("maxVocabSize", "keep at most this many of the most frequent words "
                          "(>= 1, or None for no limit)", _to_optional_int)
    numPartitions = _param("numPartitions", "number of partitions trained in parallel; each holds "
                           "a copy of the model (1 <= numPartitions <= 100000, or None for Spark's "
                           "default parallelism)", _to_optional_int)
    maxSentenceLength = _param("maxSentenceLength", "longer token arrays are cut into pieces of "
                               "this many tokens; nothing is dropped (>= 1)", TypeConverters.toInt)
    architecture = _param("architecture", "model architecture (one of 'skipgram', 'cbow')",
                          TypeConverters.toString)
    loss = _param("loss", "output layer: negative sampling, hierarchical softmax or both "
                  "(one of 'ns', 'hs', 'ns+hs')", TypeConverters.toString)
    negative = _param("negative", "noise words per positive example "
                      "(0 <= negative <= 1000; >= 1 when loss uses 'ns')", TypeConverters.toInt)
    sample = _param("sample", "subsampling threshold for frequent words "
                    "(0 <= sample < 1; 0 turns subsampling off)", TypeConverters.toFloat)
    nsExponent = _param("nsExponent", "exponent of the counts in the noise distribution "
                        "(-10 <= nsExponent <= 10)", TypeConverters.toFloat)
    minAlpha = _param("minAlpha", "learning rate at the end of training "
                      "(0 <= minAlpha <= stepSize)", TypeConverters.toFloat)
    cbowMean = _param("cbowMean", "CBOW: average the context vectors, else sum them "
                      "(true or false)", TypeConverters.toBoolean)
    syncsPerEpoch = _param("syncsPerEpoch", "parameter syncs per epoch across partitions "
                           "(1 <= syncsPerEpoch <= 10000, or None: 1 for one copy, 16 for more)", _to_optional_int)
    interleave = _param("interleave", "each epoch visits a partition's data as this many interleaved "
                        "passes over blocks of 65,536 words; 1 keeps the input order "
                        "(1 <= interleave <= 1000)", TypeConverters.toInt)
    averaging = _param("averaging", "how partition copies are combined: 'scaled' trains each copy at "
                       "stepSize x copies (up to maxCopyAlpha) and adds a block momentum, so that the copies "
                       "keep more of one machine's pace; 'touched' divides each row by the partitions that "
                       "changed it, 'mean' by all partitions, 'sum' applies every update in full (one of "
                       "'scaled', 'touched', 'mean', 'sum')",
                       TypeConverters.toString)
    maxCopyAlpha = _param("maxCopyAlpha", "with averaging 'scaled': the highest learning rate a copy trains "
                          "at (0 < maxCopyAlpha <= 10, or None: 0.2, and 0.1 with 'hs' except skip-gram with nesterov)",
                          _to_optional_float)
    blockMomentum = _param("blockMomentum", "with averaging 'scaled': momentum of the combined update "
                           "across syncs (0 <= blockMomentum < 1, or None: 1 - alpha factor / copies, at most "
                           "0.75, or 0.5 with hierarchical softmax and nesterov)",
                           _to_optional_float)
    nesterov = _param("nesterov", "with a block momentum: the copies start each round from the look-ahead "
                      "global + momentum x velocity (BMUF's Nesterov variant; true or false)",
                      TypeConverters.toBoolean)
    fullPace = _param("fullPace", "with averaging 'scaled', skip-gram: an output row that more copies changed than "
                      "the rate and momentum make up moves as if those copies alone had, its step bounded by its "
                      "copies' mean step length (true or false)", TypeConverters.toBoolean)
    localCopy = _param("localCopy", "'executor' (default): the partitions of one executor share one copy "
                       "(Hogwild, as word2vec.c's threads) and only executor copies are averaged; "
                       "'partition': each partition trains its own copy of the parameters (bit-identical "
                       "runs) (one of 'partition', 'executor')",
                       TypeConverters.toString)
    scaleAlpha = _param("scaleAlpha", "with averaging 'touched' or 'mean': multiply each copy's learning "
                        "rate by the number of copies averaged (partitions, or executors with localCopy "
                        "'executor') (true or false, or None: on for loss 'ns' only)",
                        lambda v: None if v is None else TypeConverters.toBoolean(v))

    computeLoss = _param("computeLoss", "compute the training loss for trainingMetrics; off trains "
                         "faster (true or false)", TypeConverters.toBoolean)
    kernel = _param("kernel", "'classic': word2vec.c's update, one context at a time; 'batched': skip-gram NS "
                    "with all contexts of a centre word against one set of negatives (HogBatch), faster; "
                    "'auto': batched for skip-gram NS trained as one copy, else classic (one of 'auto', "
                    "'classic', 'batched')", TypeConverters.toString)
    shuffleWords = _param("shuffleWords", "train the windows of each block of this many input words in a "
                          "random order (>= 0; 0 keeps corpus order; None: 2,000,000 for loss 'ns', else 0)",
                          lambda v: None if v is None else TypeConverters.toInt(v))

    def __init__(self) -> None:
        super().__init__()
        defaults = TrainConfig()
        self._setDefault(**{name: getattr(defaults, field) for name, field in _PARAM_TO_CONFIG.items()})

    # -- getters ------------------------------------------------------------------------------------
    def getVectorSize(self) -> int:
        return self.getOrDefault(self.vectorSize)

    def getWindowSize(self) -> int:
        return self.getOrDefault(self.windowSize)

    def getMinCount(self) -> int:
        return self.getOrDefault(self.minCount)

    def getMaxVocabSize(self) -> int | None:
        return self.getOrDefault(self.maxVocabSize)

    def getNumPartitions(self) -> int | None:
        return self.getOrDefault(self.numPartitions)

    def getMaxSentenceLength(self) -> int:
        return self.getOrDefault(self.maxSentenceLength)

    def getArchitecture(self) -> str:
        return self.getOrDefault(self.architecture)

    def getLoss(self) -> str:
        return self.getOrDefault(self.loss)

    def getNegative(self) -> int:
        return self.getOrDefault(self.negative)

    def getSample(self) -> float:
        return self.getOrDefault(self.sample)

    def getNsExponent(self) -> float:
        return self.getOrDefault(self.nsExponent)

    def getMinAlpha(self) -> float:
        return self.getOrDefault(self.minAlpha)

    def getCbowMean(self) -> bool:
        return self.getOrDefault(self.cbowMean)

    def getSyncsPerEpoch(self) -> int | None:
        return self.getOrDefault(self.syncsPerEpoch)

    def getInterleave(self) -> int:
        return self.getOrDefault(self.interleave)

    def getScaleAlpha(self) -> bool | None:
        return self.getOrDefault(self.scaleAlpha)

    def getMaxCopyAlpha(self) -> float | None:
        return self.getOrDefault(self.maxCopyAlpha)

    def getBlockMomentum(self) -> float | None:
        return self.getOrDefault(self.blockMomentum)

    def getNesterov(self) -> bool:
        return self.getOrDefault(self.nesterov)

    def getFullPace(self) -> bool:
        return self.getOrDefault(self.fullPace)

    def getAveraging(self) -> str:
        return self.getOrDefault(self.averaging)

    def getLocalCopy(self) -> str:
        return self.getOrDefault(self.localCopy)

    def getComputeLoss(self) -> bool:
        return self.getOrDefault(self.computeLoss)

    def getKernel(self) -> str:
        return self.getOrDefault(self.kernel)

    def getShuffleWords(self) -> int:
        return self.getOrDefault(self.shuffleWords)

    # -- helpers --------------------------------------------------------------------------------------
    def trainConfig(self) -> TrainConfig:
        """The validated TrainConfig of these Params; ConfigError names the Param (e.g. vectorSize)."""
        config = TrainConfig(**{field: self.getOrDefault(name) for name, field in _PARAM_TO_CONFIG.items()})
        try:
            return config.validate()
        except ConfigError as error:
            message = str(error)
            field = re.match(r"\w+", message)
            field = field.group(0) if field else ""
            if field in _CONFIG_TO_PARAM:
                message = _CONFIG_TO_PARAM[field] + message[len(field):]
            raise ConfigError(f"Word2Vec parameter {message}") from None

    def _tokens_column(self, dataset: DataFrame) -> str:
        if not self.isDefined(self.inputCol):
            raise ValueError("Word2Vec needs inputCol: a column of array<string> (e.g. a Tokenizer's output)")
        column = self.getInputCol()
        if column not in dataset.columns:
            raise ValueError(f"inputCol {column!r} not found; the DataFrame has columns {dataset.columns}")
        dtype = dataset.schema[column].dataType
        if not (isinstance(dtype, ArrayType) and isinstance(dtype.elementType, StringType)):
            raise TypeError(f"inputCol {column!r} has type {dtype.simpleString()}; expected "
                            "array<string> (split text first, e.g. with pyspark.ml.feature.Tokenizer)")
        return column

    def _set_checked(self, kwargs: dict[str, Any]):
        unknown = sorted(name for name in kwargs if not self.hasParam(name))
        if unknown:
            known = sorted(p.name for p in self.params)
            raise TypeError(f"unknown Word2Vec parameter(s) {unknown}; known: {known}")
        return self._set(**kwargs)


class Word2Vec(_Word2VecParams, Estimator["Word2VecModel"], DefaultParamsReadable["Word2Vec"],
               DefaultParamsWritable):
    """Trains word vectors on a column of token arrays; `fit` returns a `Word2VecModel`.

    Keyword arguments are Param names (`Word2Vec(inputCol="words", vectorSize=50, maxIter=3)`);
    `explainParams()` lists them with their ranges and defaults. Values are checked when `fit`
    starts, before any Spark job: a value out of range raises `ConfigError` naming the Param.
    """

    @keyword_only
    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self._set_checked(self._input_kwargs)

    @keyword_only
    def setParams(self, **kwargs: Any) -> "Word2Vec":
        """Set any of the Params by name."""
        return self._set_checked(self._input_kwargs)

    def setInputCol(self, value: str) -> "Word2Vec":
        return self._set(inputCol=value)

    def setOutputCol(self, value: str) -> "Word2Vec":
        return self._set(outputCol=value)

    def setSeed(self, value: int) -> "Word2Vec":
        return self._set(seed=value)

    def setMaxIter(self, value: int) -> "Word2Vec":
        return self._set(maxIter=value)

    def setStepSize(self, value: float | None) -> "Word2Vec":
        return self._set(stepSize=value)

    def setVectorSize(self, value: int) -> "Word2Vec":
        return self._set(vectorSize=value)

    def setWindowSize(self, value: int) -> "Word2Vec":
        return self._set(windowSize=value)

    def setMinCount(self, value: int) -> "Word2Vec":
        return self._set(minCount=value)

    def setMaxVocabSize(self, value: int | None) -> "Word2Vec":
        return self._set(maxVocabSize=value)

    def setNumPartitions(self, value: int | None) -> "Word2Vec":
        return self._set(numPartitions=value)

    def setMaxSentenceLength(self, value: int) -> "Word2Vec":
        return self._set(maxSentenceLength=value)

    def setArchitecture(self, value: str) -> "Word2Vec":
        return self._set(architecture=value)

    def setLoss(self, value: str) -> "Word2Vec":
        return self._set(loss=value)

    def setNegative(self, value: int) -> "Word2Vec":
        return self._set(negative=value)

    def setSample(self, value: float) -> "Word2Vec":
        return self._set(sample=value)

    def setNsExponent(self, value: float) -> "Word2Vec":
        return self._set(nsExponent=value)

    def setMinAlpha(self, value: float) -> "Word2Vec":
        return self._set(minAlpha=value)

    def setCbowMean(self, value: bool) -> "Word2Vec":
        return self._set(cbowMean=value)

    def setSyncsPerEpoch(self, value: int | None) -> "Word2Vec":
        return self._set(syncsPerEpoch=value)

    def setInterleave(self, value: int) -> "Word2Vec":
        return self._set(interleave=value)

    def setAveraging(self, value: str) -> "Word2Vec":
        return self._set(averaging=value)

    def setLocalCopy(self, value: str) -> "Word2Vec":
        return self._set(localCopy=value)

    def setMaxCopyAlpha(self, value: float | None) -> "Word2Vec":
        return self._set(maxCopyAlpha=value)

    def setBlockMomentum(self, value: float | None) -> "Word2Vec":
        return self._set(blockMomentum=value)

    def setNesterov(self, value: bool) -> "Word2Vec":
        return self._set(nesterov=value)

    def setFullPace(self, value: bool) -> "Word2Vec":
        return self._set(fullPace=value)

    def setScaleAlpha(self, value: bool | None) -> "Word2Vec":
        return self._set(scaleAlpha=value)

    def setComputeLoss(self, value: bool) -> "Word2Vec":
        return self._set(computeLoss=value)

    def setKernel(self, value: str) -> "Word2Vec":
        return self._set(kernel=value)

    def setShuffleWords(self, value: int) -> "Word2Vec":
        return self._set(shuffleWords=value)

    def _fit(self, dataset: DataFrame) -> "Word2VecModel":
        config = self.trainConfig()
        column = self._tokens_column(dataset)
        max_length = config.max_sentence_length

        def sentences(rows):
            for tokens in rows:
                if tokens is not None:
                    yield from split_sentence([t for t in tokens if t], max_length)

        with splits_independent_of_cores(dataset.sparkSession):  # a file scan deals alike on any cluster
            token_lists = dataset.select(column).rdd.map(lambda row: row[0]).mapPartitions(sentences)
        result = train_sentences(dataset.sparkSession, token_lists, config)
        vectors = WordVectors(result.vocab.words.tolist(), result.params.syn0, result.vocab.counts)
        model = Word2VecModel(vectors)
        model._metrics = result.metrics
        return self._copyValues(model)


class Word2VecModel(_Word2VecParams, Model, MLReadable["Word2VecModel"], MLWritable):
    """Trained word vectors as a Transformer: `transform` adds the mean vector of each row's words.

    `wordVectors` is the `WordVectors` (words in descending count order, float32 matrix, counts);
    `findSynonyms`, `findSynonymsArray` and `getVectors` mirror MLlib's Word2VecModel.
    """

    def __init__(self, wordVectors: WordVectors | None = None) -> None:
        super().__init__()
        self._vectors = wordVectors
        self._metrics: list[dict] = []
        self._broadcast = None  # (applicationId, Broadcast[(word -> row, float32 matrix)])

    def setInputCol(self, value: str) -> "Word2VecModel":
        return self._set(inputCol=value)

    def setOutputCol(self, value: str) -> "Word2VecModel":
        return self._set(outputCol=value)

    @property
    def wordVectors(self) -> WordVectors:
        if self._vectors is None:
            raise ValueError("this Word2VecModel holds no vectors: fit a Word2Vec or load a saved model")
        return self._vectors

    @property
    def trainingMetrics(self) -> list[dict]:
        """One record per (epoch, round) of the fit that made this model; empty after `load`."""
        return list(self._metrics)

    # -- transform ----------------------------------------------------------------------------------
    def _lookup_broadcast(self, spark: SparkSession):
        sc = spark.sparkContext
        if self._broadcast is None or self._broadcast[0] != sc.applicationId:
            wv = self.wordVectors
            self._broadcast = (sc.applicationId, sc.broadcast((wv.index, wv.vectors)))
        return self._broadcast[1]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        column = self._tokens_column(dataset)
        lookup = self._lookup_broadcast(dataset.sparkSession)
        size = self.wordVectors.vector_size

        def average(tokens):
            if tokens is None:
                return None
            index, matrix = lookup.value
            rows = [index[t] for t in tokens if t in index]
            if not rows:
                return DenseVector(np.zeros(size))
            return DenseVector(matrix[rows].sum(axis=0, dtype=np.float64) / len(rows))

        # The pickled (not Arrow) UDF path: it needs no pandas, and returns the vector UDT as is.
        mean_vector = F.udf(average, VectorUDT(), useArrow=False)
        return dataset.withColumn(self.getOutputCol(), mean_vector(F.col(column)))

    # -- queries ------------------------------------------------------------------------------------
    def findSynonymsArray(self, word: str | Vector | Any, num: int) -> list[tuple[str, float]]:
        """The `num` words closest by cosine similarity to `word` (a word, or a vector).

        For a word this is `wordVectors.most_similar(word, topn=num)`, and the word itself is left
        out; a vector query leaves nothing out (as MLlib).
        """
        wv = self.wordVectors
        if isinstance(word, str):
            return wv.most_similar(word, topn=num)
        query = np.asarray(word.toArray() if isinstance(word, Vector) else word, dtype=np.float64)
        if query.shape != (wv.vector_size,):
            raise ValueError(f"query vector has shape {query.shape}; "
                             f"the model's vectors have {wv.vector_size} dims")
        norm = np.linalg.norm(query)
        if norm > 0:
            query = query / norm
        return wv._top(wv.unit_vectors @ query.astype(np.float32), [], num)

    def findSynonyms(self, word: str | Vector | Any, num: int) -> DataFrame:
        """`findSynonymsArray` as a DataFrame with columns word (string), similarity (double)."""
        schema = StructType([StructField("word", StringType(), False),
                             StructField("similarity", DoubleType(), False)])
        return SparkSession.active().createDataFrame(self.findSynonymsArray(word, num), schema)

    def getVectors(self) -> DataFrame:
        """Columns word (string) and vector (vector), one row per word, most frequent first."""
        wv = self.wordVectors
        schema = StructType([StructField("word", StringType(), False),
                             StructField("vector", VectorUDT(), False)])
        rows = [(w, DenseVector(v.astype(np.float64))) for w, v in zip(wv.words, wv.vectors)]
        return SparkSession.active().createDataFrame(rows, schema)

    # -- persistence --------------------------------------------------------------------------------
    def write(self) -> MLWriter:
        return _Word2VecModelWriter(self)

    @classmethod
    def read(cls) -> MLReader["Word2VecModel"]:
        return _Word2VecModelReader()


_DATA_SCHEMA = StructType([
    StructField("word", StringType(), False),
    StructField("vector", ArrayType(FloatType(), containsNull=False), False),
    StructField("count", LongType(), True),
])


class _Word2VecModelWriter(MLWriter):
    """Writes path/metadata (JSON, via DefaultParamsWriter) and path/data (Parquet), both with Spark."""

    def __init__(self, instance: Word2VecModel):
        super().__init__()
        self.instance = instance

    def saveImpl(self, path: str) -> None:
        from . import __version__

        wv = self.instance.wordVectors
        spark = self.sparkSession
        DefaultParamsWriter.saveMetadata(self.instance, path, spark, extraMetadata={
            "format_version": FORMAT_VERSION, "sparkw2v_version": __version__,
            "vocabSize": len(wv), "vectorSize": wv.vector_size})
        counts = wv.counts.tolist() if wv.counts is not None else [None] * len(wv)
        rows = [(w, v.tolist(), c) for w, v, c in zip(wv.words, wv.vectors, counts)]
        slices = max(1, math.ceil(wv.vectors.nbytes / _DATA_PARTITION_BYTES))
        data = spark.createDataFrame(spark.sparkContext.parallelize(rows, slices), _DATA_SCHEMA)
        data.write.parquet(os.path.join(path, "data"))


class _Word2VecModelReader(MLReader[Word2VecModel]):
    """Reads what `_Word2VecModelWriter` wrote, dispatching on the metadata's format_version."""

    def load(self, path: str) -> Word2VecModel:
        spark = self.sparkSession
        metadata = DefaultParamsReader.loadMetadata(path, spark)
        expected = f"{Word2VecModel.__module__}.{Word2VecModel.__name__}"
        if metadata.get("class") != expected:
            raise ModelFormatError(f"{path} holds a {metadata.get('class')!r}, not a {expected}")
        version = metadata.get("format_version")
        loader = _LOADERS.get(version) if isinstance(version, int) else None
        if loader is None:
            from . import __version__
            raise ModelFormatError(
                f"{path}: model format_version {version!r} is not supported by sparkw2v {__version__}, "
                f"which reads format versions {sorted(_LOADERS)}; load it with the sparkw2v version "
                f"that saved it ({metadata.get('sparkw2v_version', 'unknown')})")
        return loader(spark, path, metadata)


def _load_v1(spark: SparkSession, path: str, metadata: dict) -> Word2VecModel:
    rows = spark.read.parquet(os.path.join(path, "data")).select("word", "vector", "count").collect()
    rows.sort(key=lambda r: (-(r[2] if r[2] is not None else 0), r[0]))
    size, vocab_size = metadata["vectorSize"], metadata["vocabSize"]
    if len(rows) != vocab_size:
        raise ModelFormatError(f"{path}: metadata says {vocab_size} words but the data has {len(rows)}")
    bad = next((r[0] for r in rows if r[1] is None or len(r[1]) != size), None)
    if bad is not None:
        raise ModelFormatError(f"{path}: the vector of {bad!r} does not have vectorSize={size} values")
    vectors = np.array([r[1] for r in rows], dtype=np.float32).reshape(len(rows), size)
    counts = None if any(r[2] is None for r in rows) else np.array([r[2] for r in rows], dtype=np.int64)
    model = Word2VecModel(WordVectors([r[0] for r in rows], vectors, counts))
    model._resetUid(metadata["uid"])
    DefaultParamsReader.getAndSetParams(model, metadata)
    return model


_LOADERS = {1: _load_v1}
