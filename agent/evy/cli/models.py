"""`evy models list|verify|prepare|add`: the model files pinned in models.lock."""

from __future__ import annotations

import argparse
from typing import Any

from evy.cli import add_config_option, print_json
from evy.config import load


def register(sub: argparse._SubParsersAction) -> None:
    models = sub.add_parser("models", help="list, verify, prepare or add the model files pinned in models.lock")
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, handler, helptext in (
        ("list", list_models, "the pinned models and whether their files are present"),
        ("verify", verify_models, "check every pinned file's size and sha256; exit 2 on any mismatch"),
        ("prepare", prepare_models, "derive converted model files (e.g. the GGUF embedder), then verify"),
    ):
        action = actions.add_parser(name, help=helptext)
        _common(action)
        if name != "list":
            action.add_argument("names", nargs="*", metavar="NAME", help="only these models (default: all)")
        action.set_defaults(func=handler)

    add = actions.add_parser("add", help="download a model file, hash it and pin it in models.lock")
    _common(add)
    add.add_argument("url", help="http(s):// or file:// URL of the model file")
    add.add_argument("--role", choices=("chat", "embed", "offload"), default="chat",
                     help="what the model is for (offload: a big node answering other kits)")
    add.add_argument("--name", help="name to pin it under (default: from the file name)")
    add.add_argument("--license", default="unknown", help="the model's licence, e.g. Apache-2.0")
    add.add_argument("--lockfile", metavar="FILE", help="lockfile to extend (default: llm.lockfile or models.lock)")
    add.add_argument("--models-dir", metavar="DIR", help="where to store the file (default: llm.models_dir)")
    add.set_defaults(func=add_model)


def _common(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="JSON output")


def _selected(entries: list, names: list[str]) -> list:
    from evy.llm import lockfile

    return [lockfile.find(entries, name) for name in names] if names else entries


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())


def list_models(args: argparse.Namespace) -> int:
    from evy.llm import LlmError, lockfile, models_dir

    config = load(args.config)
    directory = models_dir(config)
    rows = []
    for entry in lockfile.load(config["llm.lockfile"]):
        try:
            path = lockfile.resolve(entry, directory)
            state = "present" if path.is_file() else ("not prepared" if entry.convert else "missing")
        except LlmError:
            path, state = None, "missing"
        rows.append({"name": entry.name, "role": entry.role, "size_mb": round(entry.size / 1e6, 1),
                     "source": entry.source, "license": entry.license, "state": state,
                     "path": str(path) if path else None, "sha256": entry.sha256})
    if args.json:
        print_json(rows)
    elif rows:
        _table(rows, ["name", "role", "size_mb", "state", "license", "source"])
    return 0


def _check(args: argparse.Namespace, check) -> int:
    from evy.llm import LlmError, lockfile, models_dir
    from evy.llm.errors import ModelError

    config = load(args.config)
    directory = models_dir(config)
    results, failures = [], []
    for entry in _selected(lockfile.load(config["llm.lockfile"]), args.names):
        try:
            path = check(entry, directory)
            results.append({"name": entry.name, "ok": True, "path": str(path), "error": None})
        except LlmError as exc:
            results.append({"name": entry.name, "ok": False, "path": None, "error": str(exc)})
            failures.append(str(exc))
    if args.json:
        print_json(results)
    else:
        for result in results:
            print(f"ok: {result['name']} {result['path']}" if result["ok"] else f"FAILED: {result['error']}")
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise ModelError(failures[0] + more)
    return 0


def verify_models(args: argparse.Namespace) -> int:
    from evy.llm import lockfile

    return _check(args, lockfile.verify)


def prepare_models(args: argparse.Namespace) -> int:
    from evy.llm.convert import prepare

    return _check(args, prepare)


def add_model(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evy.llm import lockfile, models_dir

    config = load(args.config)
    lock = Path(args.lockfile) if args.lockfile else (config["llm.lockfile"] or lockfile.default_path())
    directory = Path(args.models_dir) if args.models_dir else models_dir(config)
    entry = lockfile.add_from_url(args.url, lock_path=lock, models_dir=directory, role=args.role, name=args.name,
                                  license=args.license)
    if args.json:
        print_json({**entry.__dict__, "lockfile": str(lock), "path": str(directory / entry.file)})
    else:
        print(f"ok: pinned {entry.name} ({entry.size} bytes, sha256 {entry.sha256[:12]}…) in {lock}; "
              f"file in {directory}")
    return 0
