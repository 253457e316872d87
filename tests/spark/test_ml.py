"""The pyspark.ml adapter on local[2]: Pipeline fit/transform/save/load, persistence, transform semantics."""
import glob
import gzip
import json
import os
import re

import numpy as np
import pytest

from sparkw2v.config import ConfigError

pytestmark = pytest.mark.spark

PARAMS = dict(vectorSize=16, maxIter=2, minCount=3, numPartitions=2, seed=7, localCopy="partition")


@pytest.fixture(scope="module")
def text_df(spark, demo_corpus):
    with gzip.open(demo_corpus, "rt", encoding="utf-8") as src:
        lines = [line.strip() for _, line in zip(range(40), src)]
    return spark.createDataFrame([(line,) for line in lines], "text string")


@pytest.fixture(scope="module")
def pipeline_model(text_df):
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import Tokenizer

    from sparkw2v.ml import Word2Vec

    pipeline = Pipeline(stages=[Tokenizer(inputCol="text", outputCol="words"),
                                Word2Vec(inputCol="words", outputCol="features", **PARAMS)])
    return pipeline.fit(text_df)


@pytest.fixture(scope="module")
def model(pipeline_model):
    return pipeline_model.stages[-1]


def _features(frame):
    return [(row["text"], None if row["features"] is None else row["features"].toArray())
            for row in frame.select("text", "features").orderBy("text").collect()]


def _assert_same_features(a, b):
    assert len(a) == len(b)
    for (text_a, vec_a), (text_b, vec_b) in zip(a, b):
        assert text_a == text_b
        np.testing.assert_array_equal(vec_a, vec_b)


def test_pipeline_fit_transform_save_load(spark, text_df, pipeline_model, model, tmp_path):
    from pyspark.ml import PipelineModel

    from sparkw2v.ml import Word2VecModel

    assert isinstance(model, Word2VecModel)
    assert model.getVectorSize() == 16 and model.getMaxIter() == 2 and model.getSeed() == 7
    assert model.wordVectors.vector_size == 16 and len(model.wordVectors) > 100
    before = _features(pipeline_model.transform(text_df))
    assert len(before) == 40 and all(v.shape == (16,) and np.any(v != 0) for _, v in before)

    path = str(tmp_path / "pipeline")
    pipeline_model.write().overwrite().save(path)
    loaded = PipelineModel.load(path)
    assert isinstance(loaded.stages[-1], Word2VecModel)
    assert loaded.stages[-1].uid == model.uid
    _assert_same_features(before, _features(loaded.transform(text_df)))


def test_unfitted_pipeline_and_estimator_save_load(tmp_path):
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import Tokenizer

    from sparkw2v.ml import Word2Vec

    estimator = Word2Vec(inputCol="words", architecture="cbow", loss="hs", stepSize=0.04, **PARAMS)
    estimator.save(str(tmp_path / "w2v"))
    again = Word2Vec.load(str(tmp_path / "w2v"))
    assert again.uid == estimator.uid
    assert {p.name: v for p, v in again.extractParamMap().items()} == \
        {p.name: v for p, v in estimator.extractParamMap().items()}
    Pipeline(stages=[Tokenizer(inputCol="text", outputCol="words"), estimator]).save(str(tmp_path / "p"))
    stages = Pipeline.load(str(tmp_path / "p")).getStages()
    assert isinstance(stages[1], Word2Vec) and stages[1].getArchitecture() == "cbow"


def test_model_save_load_round_trip_is_exact(model, tmp_path):
    from sparkw2v.ml import Word2VecModel

    path = str(tmp_path / "model")
    model.save(path)
    with pytest.raises(Exception, match="already exists"):
        model.save(path)
    model.write().overwrite().save(path)
    loaded = Word2VecModel.load(path)
    assert loaded.uid == model.uid
    assert loaded.wordVectors.words == model.wordVectors.words
    np.testing.assert_array_equal(loaded.wordVectors.vectors, model.wordVectors.vectors)
    np.testing.assert_array_equal(loaded.wordVectors.counts, model.wordVectors.counts)
    assert {p.name: v for p, v in loaded.extractParamMap().items()} == \
        {p.name: v for p, v in model.extractParamMap().items()}

    metadata = json.loads(open(glob.glob(os.path.join(path, "metadata", "part-*"))[0]).readline())
    assert metadata["class"] == "sparkw2v.ml.Word2VecModel"
    assert metadata["format_version"] == 1 and "sparkw2v_version" in metadata
    assert metadata["defaultParamMap"]["vectorSize"] == 100 and metadata["paramMap"]["vectorSize"] == 16


def test_unknown_format_version_is_refused(model, tmp_path):
    from sparkw2v.ml import ModelFormatError, Word2VecModel

    path = str(tmp_path / "model")
    model.save(path)
    part = glob.glob(os.path.join(path, "metadata", "part-*"))[0]
    metadata = json.loads(open(part).readline())
    metadata["format_version"] = 99
    with open(part, "w") as handle:
        handle.write(json.dumps(metadata) + "\n")
    for crc in glob.glob(os.path.join(path, "metadata", ".*.crc")):
        os.remove(crc)
    with pytest.raises(ModelFormatError, match="format_version 99 is not supported"):
        Word2VecModel.load(path)


def test_transform_averages_known_words_only(spark, model):
    vectors = {row["word"]: row["vector"].toArray() for row in model.getVectors().collect()}
    known = model.wordVectors.words[:3]
    frame = spark.createDataFrame(
        [(1, known + ["no-such-word-1"]), (2, ["no-such-word-1", "no-such-word-2"]), (3, []), (4, None)],
        "id int, words array<string>")
    out = {row["id"]: row["features"] for row in model.transform(frame).collect()}
    expected = np.mean([vectors[w] for w in known], axis=0)
    np.testing.assert_allclose(out[1].toArray(), expected, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(out[2].toArray(), np.zeros(16))
    np.testing.assert_array_equal(out[3].toArray(), np.zeros(16))
    assert out[4] is None


def test_transform_rejects_a_string_column(spark, model):
    with pytest.raises(TypeError, match="array<string>"):
        model.transform(spark.createDataFrame([("a b",)], "words string"))


def test_find_synonyms_agree_with_word_vectors(model):
    word = model.wordVectors.words[10]
    expected = model.wordVectors.most_similar(word, topn=5)
    assert model.findSynonymsArray(word, 5) == expected
    frame = model.findSynonyms(word, 5)
    assert frame.schema.simpleString() == "struct<word:string,similarity:double>"
    assert [(r["word"], r["similarity"]) for r in frame.collect()] == expected
    by_vector = model.findSynonymsArray(model.wordVectors[word], 5)
    assert by_vector[0][0] == word and [w for w, _ in by_vector[1:]] == [w for w, _ in expected[:4]]


def test_get_vectors_schema_and_values(model):
    frame = model.getVectors()
    assert frame.schema.simpleString() == "struct<word:string,vector:vector>"
    rows = frame.collect()
    assert [r["word"] for r in rows] == model.wordVectors.words
    np.testing.assert_array_equal(np.array([r["vector"].toArray() for r in rows], dtype=np.float32),
                                  model.wordVectors.vectors)


def test_bad_param_raises_config_error_naming_it(spark):
    from sparkw2v.ml import Word2Vec

    frame = spark.createDataFrame([(["a", "b"],)], "words array<string>")
    with pytest.raises(ConfigError, match="vectorSize"):
        Word2Vec(inputCol="words", vectorSize=0).fit(frame)
    with pytest.raises(ConfigError, match="architecture"):
        Word2Vec(inputCol="words", architecture="glove").fit(frame)
    with pytest.raises(TypeError, match="unknown Word2Vec parameter"):
        Word2Vec(vectorsize=10)


def test_compute_loss_off_leaves_the_vectors_and_records_no_loss(text_df, model):
    from pyspark.ml.feature import Tokenizer

    from sparkw2v.ml import Word2Vec

    words = Tokenizer(inputCol="text", outputCol="words").transform(text_df)
    quiet = Word2Vec(inputCol="words", computeLoss=False, **PARAMS).fit(words)
    assert quiet.getOrDefault("computeLoss") is False and model.getOrDefault("computeLoss") is True
    np.testing.assert_array_equal(quiet.wordVectors.vectors, model.wordVectors.vectors)
    assert [r["loss"] for r in quiet.trainingMetrics] == [None] * len(model.trainingMetrics)
    assert all(isinstance(r["loss"], float) for r in model.trainingMetrics)


def test_every_param_doc_states_its_range():
    from sparkw2v.ml import Word2Vec, Word2VecModel

    for cls in (Word2Vec, Word2VecModel):
        for param in cls().params:
            assert re.search(r"\(.*(<|>|one of|true or false|array<string>|vector).*\)$", param.doc), \
                f"{cls.__name__}.{param.name}: {param.doc!r}"


def test_seed_default_is_constant():
    from sparkw2v.ml import Word2Vec, Word2VecModel

    assert Word2Vec().getSeed() == Word2Vec().getSeed() == Word2VecModel().getSeed() == 1


def test_package_exports():
    import sparkw2v
    from sparkw2v.ml import Word2Vec, Word2VecModel
    from sparkw2v.vectors import WordVectors

    assert sparkw2v.Word2Vec is Word2Vec and sparkw2v.Word2VecModel is Word2VecModel
    assert sparkw2v.WordVectors is WordVectors
