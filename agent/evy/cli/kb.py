"""`evy kb build|search`: the emergency knowledge-base index."""

from __future__ import annotations

import argparse
import sys

from evy.cli import add_config_option, print_json
from evy.config import load


def register(sub: argparse._SubParsersAction) -> None:
    kb = sub.add_parser("kb", help="build or search the emergency knowledge-base index")
    actions = kb.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="(re)build the index from the shipped knowledge base")
    _common(build)
    build.add_argument("--out", metavar="FILE", help="index file (default: rag.index or <data_dir>/kb.sqlite)")
    build.add_argument("--no-embed", action="store_true", help="keyword (FTS5) index only, no vectors")
    build.set_defaults(func=kb_build)
    search = actions.add_parser("search", help="the passages the responder would retrieve for a message")
    _common(search)
    search.add_argument("-k", type=int, default=None, help="passages to return (default: rag.top_k)")
    search.add_argument("--lang", metavar="CODE", help="prefer passages in this language (en, es, fr, pt)")
    search.add_argument("--index", metavar="FILE", help="index file (default: the configured one)")
    search.add_argument("query", nargs="+", help="the message text")
    search.set_defaults(func=kb_search)


def _common(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument("--json", action="store_true", help="JSON output")


def kb_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evy.rag import build, corpus, index_path
    from evy.rag.embed import open_embedder

    config = load(args.config)
    embedder = None if args.no_embed else open_embedder(config)
    if embedder is None and not args.no_embed:
        sys.stderr.write("warning: embedding model unusable; building a keyword-only index\n")
    report = build(Path(args.out) if args.out else index_path(config), corpus.load(), embedder)
    figures = {"path": str(report.path), "passages": report.passages, "languages": list(report.languages),
               "embed_model": report.embed_model, "seconds": round(report.seconds, 2)}
    if args.json:
        print_json(figures)
    else:
        print(f"ok: {report.path}: {report.passages} passages ({', '.join(report.languages)}), "
              f"{'vectors by ' + report.embed_model if report.embed_model else 'keywords only'}, "
              f"{report.seconds:.1f} s")
    return 0


def kb_search(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evy.rag import Index, RagError, open_index
    from evy.rag.embed import open_embedder

    config = load(args.config)
    if args.index:
        index = Index.open(Path(args.index))
        if index.meta.get("embed_model"):  # query with the model the index was built with
            index.embedder = open_embedder(config.replace(rag__embed_model=index.meta["embed_model"]))
    else:
        index = open_index(config.replace(rag__enabled=True))
        if index is None:
            raise RagError("the knowledge-base index is unusable (see the warning above)")
    with index:
        passages = index.search(" ".join(args.query), k=args.k or config["rag.top_k"], language=args.lang)
    if args.json:
        print_json([{"key": p.key, "title": p.title, "language": p.language, "score": p.score,
                     "source": p.source, "text": p.text} for p in passages])
    else:
        for p in passages:
            print(f"[{p.score:.4f}] {p.key} {p.title}\n  {p.text}\n  source: {p.source}")
        if not passages:
            print("no matching passage")
    return 0
