"""`evy eval [--quick] [--no-llm] [--conversations] ...`: the eval set (or the scripted conversations)
through EVY and through the bare model (a developer's tool, run from the source tree: its defaults are the
checkout's eval/ and build/eval folders).

One JSON object on stdout (both systems side by side), a short table on stderr; exit 2 with one line
`error: ...` when the eval set or the options are wrong. The work is in :mod:`evy.evaluate.command`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from evy.cli import add_config_option

REPO = Path(__file__).resolve().parents[3]
DEFAULT_COUNTRY = "KE"  # 999: a number no model says by habit, so naming it is a real check


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="the eval set through EVY and through the bare model (JSON on stdout)")
    parser.add_argument("--set", dest="path", type=Path, default=REPO / "eval" / "messages.toml",
                        help="eval set (TOML)")
    parser.add_argument("--quick", action="store_true", help="only the messages marked quick (12)")
    parser.add_argument("--only", metavar="ID,ID", help="only these message (or conversation) ids")
    parser.add_argument("--no-llm", action="store_true",
                        help="protocol replies only (no knowledge base or model); the bare model is skipped")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare-model baseline")
    add_config_option(parser, "agent config to evaluate (default: country KE, everything else default)")
    parser.add_argument("--country", default=DEFAULT_COUNTRY,
                        help="country when no --config (default KE)")
    parser.add_argument("--data-dir", type=Path, default=REPO / "build" / "eval",
                        help="where the index and derived models are kept between runs (default build/eval in the "
                        "source tree); ignored with --config")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds for a follow-up or a model answer (default 10)")
    parser.add_argument("--max-tokens", type=int, default=96, help="model answer cap (96)")
    parser.add_argument("--summary", action="store_true", help="leave the per-message details out of the JSON")
    parser.add_argument("--rescore", metavar="JSON", type=Path,
                        help="score the replies recorded in an earlier run's JSON again (after editing the "
                        "set); no responder or model runs")
    parser.add_argument("--corpus", metavar="SPLIT[,SPLIT]",
                        help="score first replies on the labelled corpus instead (eval/corpus; splits train, dev, "
                        "test: tune on train and dev, report test); protocols only, no model")
    parser.add_argument("--corpus-dir", type=Path, default=REPO / "eval" / "corpus", help="the corpus folder")
    parser.add_argument("--conversations", action="store_true",
                        help="play the scripted multi-turn conversations instead (eval/conversations) to a simulated "
                        "kit and to the bare model; --only takes conversation ids")
    parser.add_argument("--conversations-dir", type=Path, default=REPO / "eval" / "conversations",
                        help="the conversation set (a folder of TOML files, or one file)")
    parser.add_argument("-v", "--verbose", action="store_true", help="a progress line per message on stderr")
    parser.set_defaults(func=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from evy.evaluate.command import evaluate

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return evaluate(args)
