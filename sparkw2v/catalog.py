"""Publishing the vectors as a table of the Spark catalog: (word string, vector array<float>, count bigint).

The table is written under a staging name next to the target and renamed into place only after it is
complete, so a run that fails before or while writing leaves the earlier table as it was:

    NAME__sparkw2v_new_<id>   written from the output folder's vectors.parquet
    NAME -> NAME__sparkw2v_old_<id>, NAME__sparkw2v_new_<id> -> NAME, then the old one is dropped

Readers see the old table or the new one; between the two renames (metadata operations) the name is
briefly missing. Where the second rename fails the first is undone. The catalog is whatever the session
uses: the in-memory catalog forgets its tables when the session ends, so a job run day after day needs
a persistent one (`spark.sql.catalogImplementation=hive`: the platform's metastore, or an embedded Derby
one; README, "Scheduled retraining").
"""
from __future__ import annotations

import logging
import re
import uuid

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

_PART = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TableNameError(ValueError):
    """A table name we cannot stage next to: not [catalog.][database.]table of plain identifiers."""


def table_parts(name: str) -> list[str]:
    parts = name.split(".")
    if not 1 <= len(parts) <= 3 or not all(_PART.match(p) for p in parts):
        raise TableNameError(f"table name {name!r}: expected [catalog.][database.]table, each a letter or _ "
                             "followed by letters, digits or _")
    return parts


def _quoted(parts: list[str]) -> str:
    return ".".join(f"`{p}`" for p in parts)


def _sibling(parts: list[str], suffix: str) -> list[str]:
    return parts[:-1] + [f"{parts[-1]}__sparkw2v_{suffix}"]


def table_exists(spark: SparkSession, name: str) -> bool:
    table_parts(name)
    return bool(spark.catalog.tableExists(name))


def publish_vectors(spark: SparkSession, name: str, vectors_parquet: str) -> None:
    """Copy `vectors_parquet` (the output folder's Parquet vectors) into table `name`, replacing it whole."""
    parts = table_parts(name)
    tag = uuid.uuid4().hex[:12]
    staging, previous = _sibling(parts, f"new_{tag}"), _sibling(parts, f"old_{tag}")
    spark.sparkContext.setJobDescription(f"sparkw2v: write table {name}")
    frame = spark.read.parquet(vectors_parquet).select("word", "vector", "count")
    try:
        frame.write.format("parquet").saveAsTable(_quoted(staging))
        had_table = bool(spark.catalog.tableExists(name))
        if had_table:
            _rename(spark, parts, previous)
        try:
            _rename(spark, staging, parts)
        except Exception:
            if had_table:
                _rename(spark, previous, parts)  # put yesterday's table back under its name
            raise
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {_quoted(staging)}")
    if had_table:
        spark.sql(f"DROP TABLE IF EXISTS {_quoted(previous)}")
    log.info("table %s: %d words", name, spark.table(_quoted(parts)).count())


def _rename(spark: SparkSession, source: list[str], target: list[str]) -> None:
    # ALTER TABLE ... RENAME TO takes the new name in the same catalog and database as the old one.
    spark.sql(f"ALTER TABLE {_quoted(source)} RENAME TO {_quoted(target[-2:] if len(target) > 1 else target)}")
