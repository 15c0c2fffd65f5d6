"""`evy models list|verify` and `evy kb build|search` as a technician runs them."""

from __future__ import annotations

import json
import shutil

from evy.cli import main
from evy.llm import lockfile


def _config(tmp_path, **extra: str) -> str:
    path = tmp_path / "evy.toml"
    lines = [f'data_dir = "{tmp_path / "data"}"', "[llm]", *(f'{k} = "{v}"' for k, v in extra.items())]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_models_list_shows_every_pinned_model(tmp_path, capsys, pinned):
    assert main(["models", "list", "--config", _config(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [e.name for e in pinned]
    chat = rows[0]
    assert chat["state"] == "present" and chat["role"] == "chat" and chat["license"] == "Apache-2.0"
    assert main(["models", "list", "--config", _config(tmp_path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["NAME", "ROLE", "SIZE_MB"] and "smollm2-135m-instruct" in table[1]


def test_models_verify_passes_for_the_packaged_chat_model(tmp_path, capsys):
    assert main(["models", "verify", "--config", _config(tmp_path), "smollm2-135m-instruct"]) == 0
    assert capsys.readouterr().out.startswith("ok: smollm2-135m-instruct ")


def test_models_verify_exits_2_with_one_error_line_on_a_mismatch(tmp_path, capsys, chat_entry, chat_model_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copyfile(chat_model_path, models / chat_entry.file)
    with open(models / chat_entry.file, "r+b") as damaged:
        damaged.seek(1000)
        damaged.write(b"\x00\x01\x02\x03")
    entry = lockfile.ModelEntry(**{**chat_entry.__dict__, "source": "https://models.example/m.gguf"})
    lock = tmp_path / "models.lock"
    lock.write_text(lockfile.dumps([entry]))
    config = _config(tmp_path, lockfile=str(lock), models_dir=str(models))
    assert main(["models", "verify", "--config", config, "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["ok"] is False
    [line] = captured.err.splitlines()
    assert line.startswith("error: model smollm2-135m-instruct: ") and "corrupt or replaced" in line


def test_a_broken_lockfile_is_an_error_line(tmp_path, capsys):
    lock = tmp_path / "models.lock"
    lock.write_text("[[model]]\nname = 'x'\n")
    assert main(["models", "list", "--config", _config(tmp_path, lockfile=str(lock))]) == 2
    assert capsys.readouterr().err.strip().endswith("model[0].role: missing")


def test_kb_build_and_search_keyword_only(tmp_path, capsys):
    out = tmp_path / "kb.sqlite"
    assert main(["kb", "build", "--config", _config(tmp_path), "--out", str(out), "--no-embed", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passages"] > 100 and set(report["languages"]) >= {"en", "es", "fr", "pt"}
    assert report["embed_model"] is None
    assert main(["kb", "search", "--config", _config(tmp_path), "--index", str(out), "--json", "-k", "2",
                 "--lang", "fr", "brûlure", "main"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["key"] == "fr/first_aid#5" and hits[0]["source"]


def test_models_add_pins_a_file_url_into_the_given_lockfile(tmp_path, capsys):
    source = tmp_path / "Gemma-3-270M.Q4_K_M.gguf"
    source.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    lock = tmp_path / "models.lock"
    args = ["models", "add", "--config", _config(tmp_path), "--lockfile", str(lock), "--models-dir",
            str(tmp_path / "models"), "--license", "Gemma", "--json", source.as_uri()]
    assert main(args) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["name"] == "gemma-3-270m.q4-k-m" and added["size"] == 2052 and added["license"] == "Gemma"
    assert lockfile.load(lock)[0].sha256 == added["sha256"]
    assert main(args) == 2
    assert "already pinned" in capsys.readouterr().err
