"""`make run` installs no Spark: asking for the Spark engine without it says how to install it."""

import sys

import pytest

from insight.core.errors import UsageError
from insight.derive._engines import spark_session, spark_sql


def test_the_spark_engine_without_pyspark_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(UsageError, match="requirements-spark.txt"):
        spark_session("local[1]")


def test_the_translation_without_sqlglot_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sqlglot", None)
    with pytest.raises(UsageError, match="requirements-spark.txt"):
        spark_sql("SELECT 1")
