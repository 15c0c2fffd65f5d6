"""What `evy eval` does (its options are in :mod:`evy.cli.evaluate`): the eval set through EVY and through
the bare model, the scripted conversations the same way, the labelled corpus, or an earlier run scored
again.

One JSON object on stdout (both systems side by side), a short table on stderr; an ``EvalError`` (one line,
exit 2) when the eval set or the options are wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from evy.config import Config, load, parse
from evy.evaluate import conversation_run, conversation_score, conversation_set, corpus, evalset, report, runner
from evy.evaluate.errors import EvalError

Progress = Callable[[str], None]


def make_config(args: argparse.Namespace) -> Config:
    if args.config:
        config = load(args.config)
    else:
        data_dir = args.data_dir
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EvalError(f"--data-dir {data_dir}: cannot create it: {exc.strerror}") from None
        config = parse(f'country = {json.dumps(args.country)}\ndata_dir = {json.dumps(str(data_dir))}\n'
                       'responder = "brain"\n')
    return config.replace(llm__max_tokens=args.max_tokens, llm__timeout=args.timeout)


def side_by_side(args: argparse.Namespace, run_evy: Callable[[Progress], list],
                 run_bare: Callable[[Progress], list | str],
                 summarise: Callable[[list, bool], dict]) -> tuple[dict, dict]:
    """EVY's answers, then the bare model's (unless --no-llm or --no-baseline), each summarised and timed;
    the bare model's side says why it was skipped when it was."""
    def progress(line: str) -> None:
        if args.verbose or not line.startswith(("pipeline ", "bare model ")):
            print(line, file=sys.stderr, flush=True)

    started = time.perf_counter()
    pipeline = {**summarise(run_evy(progress), True), "wall_s": round(time.perf_counter() - started, 1)}
    if args.no_llm or args.no_baseline:
        return pipeline, {"skipped": "--no-llm" if args.no_llm else "--no-baseline"}
    started = time.perf_counter()
    found = run_bare(progress)
    if isinstance(found, str):  # no model to ask, and why
        return pipeline, {"skipped": found}
    return pipeline, {**summarise(found, False), "wall_s": round(time.perf_counter() - started, 1)}


def evaluate_corpus(args: argparse.Namespace) -> int:
    messages = corpus.load(args.corpus_dir, args.corpus.split(","))
    config = make_config(args)
    started = time.perf_counter()
    summary = {"split": args.corpus, **corpus.summarise(corpus.score(messages, config), details=not args.summary),
               "wall_s": round(time.perf_counter() - started, 1)}
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    print(corpus.table(summary), file=sys.stderr)
    return 0


def evaluate_conversations(args: argparse.Namespace) -> int:
    """The scripted conversations through a simulated kit and through the bare model, side by side."""
    if args.timeout <= 0 or args.max_tokens < 8:
        raise EvalError("--timeout must be positive and --max-tokens at least 8")
    the_set = conversation_set.load(args.conversations_dir)
    conversations = the_set.select(args.only.split(",")) if args.only else the_set.conversations
    config = make_config(args)
    number = config.emergency_number
    base = args.config.read_text(encoding="utf-8") if args.config else \
        f'country = {json.dumps(config["country"])}\nresponder = "brain"\n'
    data_dir = Path(config["data_dir"])
    # The kit keeps its store in a scratch folder; the index and the models stay where runs share them.
    overrides = {"country": config["country"], "llm__max_tokens": args.max_tokens, "llm__timeout": args.timeout,
                 "rag__index": str(config["rag.index"] or data_dir / "kb.sqlite"),
                 "llm__models_dir": str(config["llm.models_dir"] or data_dir / "models")}
    if args.no_llm:
        overrides["brain__followup"] = False

    pipeline, bare_model = side_by_side(
        args,
        lambda progress: conversation_run.run_pipeline(base, overrides, conversations, progress=progress),
        lambda progress: conversation_run.run_bare_model(config, conversations, timeout=args.timeout,
                                                         progress=progress),
        lambda found, evy: conversation_score.summarise(found, number, has_case=evy, details=not args.summary))
    result = {
        "conversation_set": str(args.conversations_dir),
        "conversations": len(conversations),
        "turns": sum(len(conversation.turns) for conversation in conversations),
        "config": {"country": config["country"], "emergency_number": number, "model": config["llm.model"],
                   "llm": not args.no_llm, "max_tokens": args.max_tokens, "timeout_s": args.timeout},
        "pipeline": pipeline,
        "bare_model": bare_model,
    }
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    print(conversation_score.table({"pipeline": pipeline, "bare model": bare_model.get("skipped", bare_model)}),
          file=sys.stderr)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    if args.corpus:
        return evaluate_corpus(args)
    if args.conversations:
        return evaluate_conversations(args)
    if not args.path.exists():
        raise EvalError(f"no eval set at {args.path}: pass --set FILE")
    if args.timeout <= 0 or args.max_tokens < 8:
        raise EvalError("--timeout must be positive and --max-tokens at least 8")
    the_set = evalset.load(args.path)
    if args.rescore:
        return rescore(args, the_set)
    cases = the_set.select(args.only.split(",")) if args.only else (the_set.quick() if args.quick
                                                                     else the_set.cases)
    config = make_config(args)
    number = config.emergency_number

    pipeline, bare_model = side_by_side(
        args,
        lambda progress: runner.run_pipeline(config, cases, llm=not args.no_llm, timeout=args.timeout,
                                             progress=progress),
        lambda progress: runner.run_baseline(config, cases, timeout=args.timeout, progress=progress),
        lambda found, evy: report.summarise(found, number, details=not args.summary))
    result = {
        "eval_set": str(args.path),
        "messages": len(cases),
        "subset": "quick" if args.quick else ("only" if args.only else "all"),
        "config": {"country": config["country"], "emergency_number": number, "model": config["llm.model"],
                   "llm": not args.no_llm, "max_tokens": config["llm.max_tokens"],
                   "timeout_s": config["llm.timeout"]},
        "pipeline": pipeline,
        "bare_model": bare_model,
    }
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    print(report.table({"pipeline": pipeline, "bare model": bare_model.get("skipped", bare_model)}), file=sys.stderr)
    return 0


def rescore(args: argparse.Namespace, the_set: evalset.EvalSet) -> int:
    try:
        earlier = json.loads(args.rescore.read_text(encoding="utf-8"))
        number = earlier["config"]["emergency_number"]
    except OSError as exc:
        raise EvalError(f"--rescore {args.rescore}: cannot read it: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise EvalError(f"--rescore {args.rescore}: not the JSON output of an eval run") from None
    cases = {case.id: case for case in the_set.cases}
    systems: dict[str, dict | str] = {}
    for key, name in (("pipeline", "pipeline"), ("bare_model", "bare model")):
        recorded = earlier.get(key) or {}
        if "per_message" not in recorded:
            systems[name] = recorded.get("skipped", "not recorded (run without --summary to keep replies)")
            continue
        answers = report.answers_from(recorded["per_message"], cases)
        systems[name] = {**report.summarise(answers, number, details=not args.summary),
                         "wall_s": recorded.get("wall_s")}
    result = {**earlier, "eval_set": str(args.path), "rescored_from": str(args.rescore),
              "pipeline": systems["pipeline"] if isinstance(systems["pipeline"], dict)
              else {"skipped": systems["pipeline"]},
              "bare_model": systems["bare model"] if isinstance(systems["bare model"], dict)
              else {"skipped": systems["bare model"]}}
    json.dump(result, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    print(report.table(systems), file=sys.stderr)
    return 0

