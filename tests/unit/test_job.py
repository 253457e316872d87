"""The job's process-level helpers: Spark settings it adds, and its log handler."""
from __future__ import annotations

import io
import sys

import pytest

from sparkw2v.config import ConfigError
from sparkw2v.job import EXECUTOR_JAVA_OPTIONS, _configure_logging, log, session_settings


def test_session_settings_default_the_executor_collector_unless_the_user_set_it():
    key, value = EXECUTOR_JAVA_OPTIONS
    never = lambda _: False  # noqa: E731
    assert session_settings(["spark.a=1", "spark.a=2"], never) == {"spark.a": "2", key: value}
    assert session_settings([f"{key}=-Xss4m"], never) == {key: "-Xss4m"}
    assert key not in session_settings([], lambda k: k == key)  # spark-submit --conf or spark-defaults.conf
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        session_settings(["spark.a"], never)


def test_a_second_main_in_one_process_logs_to_the_stderr_of_now(monkeypatch):
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    _configure_logging("INFO")
    log.info("from the first run")
    monkeypatch.setattr(sys, "stderr", second)
    _configure_logging("INFO")
    log.info("from the second run")
    assert "from the first run" in first.getvalue() and "from the second run" in second.getvalue()
    assert "from the second run" not in first.getvalue()


def test_full_pace_flag_reaches_the_config():
    from sparkw2v.job import build_parser, config_from_args
    parser = build_parser()
    assert config_from_args(parser.parse_args(["--input", "in.txt", "--output", "out"])).full_pace is True
    off = parser.parse_args(["--input", "in.txt", "--output", "out", "--no-full-pace"])
    assert config_from_args(off).full_pace is False
