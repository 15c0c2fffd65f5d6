"""The runner on real messages of the shipped set, with the real responder (protocol replies, no model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evy.config import parse
from evy.evaluate import load
from evy.evaluate.runner import run_pipeline

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = load(ROOT / "eval" / "messages.toml")


def test_pipeline_answers_three_real_messages(tmp_path):
    config = parse(f'country = "KE"\ndata_dir = "{tmp_path}"\nresponder = "brain"\n')
    cases = SHIPPED.select(["en-cpr", "es-flood", "fr-hazmat"])
    answers = run_pipeline(config, cases, llm=False, timeout=5.0)
    assert [a.case.id for a in answers] == ["en-cpr", "es-flood", "fr-hazmat"]
    for answer in answers:
        assert len(answer.sms) == 1 and "999" in answer.sms[0]
        assert 1 <= answer.segments[0] <= 3 and answer.encodings == ["gsm7"]
        assert answer.first_ms is not None and answer.first_ms < 1000
        assert answer.followup_s is None  # no model: no follow-up attempted
    assert [a.category for a in answers] == ["medical", "flood", "hazmat"]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evy", "eval", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "agent"), "PATH": "/usr/bin:/bin"})


def test_no_llm_quick_run(tmp_path):
    done = run_cli("--no-llm", "--quick", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["messages"] == 12 and result["subset"] == "quick"
    assert result["config"]["emergency_number"] == "999"
    assert result["bare_model"] == {"skipped": "--no-llm"}
    pipeline = result["pipeline"]
    assert len(pipeline["per_message"]) == 12
    assert pipeline["number_named_rate"] == 1.0 and pipeline["forbidden_advice"] == 0
    assert pipeline["foreign_number_echoed"] == 0
    assert pipeline["fact_recall"] >= 0.9 and pipeline["ucs2_rate"] == 0.0
    assert "fact recall (all facts)" in done.stderr and "bare model skipped: --no-llm" in done.stderr


def test_rescore_reproduces_a_run(tmp_path, capsys):
    from evy.cli import main

    assert main(["eval", "--no-llm", "--only", "en-cpr,es-flood,fr-hazmat", "--data-dir", str(tmp_path)]) == 0
    recorded = tmp_path / "run.json"
    recorded.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["eval", "--rescore", str(recorded)]) == 0
    first, second = json.loads(recorded.read_text(encoding="utf-8")), json.loads(capsys.readouterr().out)
    assert second["rescored_from"] == str(recorded)
    assert second["pipeline"] == first["pipeline"]
    assert second["bare_model"] == {"skipped": "--no-llm"}
    (tmp_path / "junk.json").write_text("[1]", encoding="utf-8")
    assert main(["eval", "--rescore", str(tmp_path / "junk.json")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: --rescore ") and "not the JSON output" in error


def test_malformed_set_is_one_error_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[message]]\nid = 'x'\nlang = 'de'\ncategory = 'fire'\nemergency = true\ntext = 'fire'\n"
                   "must = [['out']]\n", encoding="utf-8")
    done = run_cli("--no-llm", "--set", str(bad), "--data-dir", str(tmp_path))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [f"error: {bad}: message 'x': lang: expected one of en, es, fr, pt, "
                                                "got 'de'"]


def test_unknown_id_is_one_error_line(tmp_path):
    done = run_cli("--no-llm", "--only", "en-cpr,nope", "--data-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == "error: no message with id 'nope' in the eval set"
