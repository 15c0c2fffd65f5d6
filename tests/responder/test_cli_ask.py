"""`evy ask` through a subprocess, as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AGENT = Path(__file__).resolve().parents[2] / "agent"


def evy(*args: str, config: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(AGENT)}
    extra = ["--config", str(config)] if config else []
    return subprocess.run([sys.executable, "-m", "evy", "ask", *extra, *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture
def config_file(tmp_path, kb_dir):
    def write(body: str = "") -> Path:
        path = tmp_path / "evy.toml"
        path.write_text(f'data_dir = "{kb_dir}"\n{body}\n[rag]\nembed_model = ""\n', encoding="utf-8")
        return path

    return write


def test_json_for_a_life_threat_in_portuguese(config_file):
    result = evy("--json", "--no-llm", "--from", "+5511999990000", "socorro meu filho nao respira",
                 config=config_file('country = "BR"'))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"emergency", "category", "priority", "reply", "followup", "segments", "encoding",
                           "sources"}
    assert answer["emergency"] is True and answer["category"] == "medical" and answer["priority"] == 0
    assert "192" in answer["reply"] and "peito" in answer["reply"]
    assert answer["followup"] is None and answer["encoding"] == "gsm7" and 1 <= answer["segments"] <= 3
    assert answer["sources"][0].startswith("EVY protocol pt/cpr")


def test_json_with_followup_from_the_knowledge_base(config_file):
    result = evy("--json", "my son fell through ice not breathing",
                 config=config_file('country = "KE"\n[llm]\nenabled = false'))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert "999" in answer["reply"] and answer["followup"] and "999" in answer["followup"]
    assert len(answer["sources"]) >= 2


def test_non_emergency_question(config_file):
    answer = json.loads(evy("--json", "--no-llm", "how do i purify water", config=config_file()).stdout)
    assert answer["emergency"] is False and answer["category"] == "water_food" and answer["priority"] == 3
    assert "112" in answer["reply"]


def test_human_readable_output(config_file):
    result = evy("--no-llm", "il y a le feu chez moi", config=config_file())
    assert result.returncode == 0
    assert "emergency: fire" in result.stdout and "reply (" in result.stdout and "112" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["   "], "error: the message text is empty"),
    (["--from", "not-a-number", "help"], "error: --from:"),
    ([], "error: evy ask: the following arguments are required"),
])
def test_errors_exit_2_with_one_line(args, message):
    result = evy(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_bad_config_is_an_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('country = "ZZ"\n', encoding="utf-8")
    result = evy("--no-llm", "help", config=bad)
    assert result.returncode == 2 and "no verified emergency number" in result.stderr
