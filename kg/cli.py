"""`polyrel kg`: load relation triples into an RDF store (Oxigraph), query it, dump it.

    polyrel kg load OUT_OR_TRIPLES… --store DIR    catch up with an incremental output's manifest,
                                                   or replace the documents in triples Parquet
    polyrel kg query --store DIR --sparql '…' | --entity NAME | --strongest LABEL [--limit N]
    polyrel kg dump --store DIR --format nquads|ntriples|csv [--output PATH]
    polyrel kg stats --store DIR
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

STORE_ENV = "POLYREL_KG_STORE"


def _store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=os.environ.get(STORE_ENV),
                        help=f"the store directory (created if missing; default: ${STORE_ENV})")


def add_parser(subparsers: Any) -> None:
    kg = subparsers.add_parser("kg", help="knowledge graph: load triples into an RDF store, query, dump",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = kg.add_subparsers(dest="kg_command", required=True, help="what to do with the store")

    load = commands.add_parser(
        "load", help="load triples into the store (idempotent; replaces reprocessed documents)",
        description="Load polyrel triples. A SOURCE with a _manifest.parquet (an incremental `polyrel run`"
        " output) is synchronised: documents whose current run differs from the store's are reloaded,"
        " deleted documents retracted. Any other SOURCE is triples Parquet (a file, a directory of parts,"
        " or a run output holding triples/): each document in it replaces its graph.")
    load.add_argument("sources", nargs="+", metavar="SOURCE", help="output directory/URL or triples Parquet")
    _store_argument(load)
    load.add_argument("--force", action="store_true", help="reload every document even if the store has it")
    load.set_defaults(func=load_command)

    query = commands.add_parser("query", help="SPARQL or canned queries over the union of all document graphs")
    _store_argument(query)
    what = query.add_mutually_exclusive_group(required=True)
    what.add_argument("--sparql", help="a SPARQL 1.1 query (prefixes pr:, rel:, ent:, doc:, rdf:, rdfs:, xsd:"
                      " predeclared); '-' reads it from stdin")
    what.add_argument("--entity", metavar="NAME", help="every relation of the entity NAME (case and spacing"
                      " insensitive) across documents and languages")
    what.add_argument("--strongest", metavar="LABEL", help="the highest-scoring statements of relation LABEL")
    query.add_argument("--type", dest="entity_type", help="with --entity: only entities of this type")
    query.add_argument("--limit", type=int, default=10, help="with --strongest: how many (default: %(default)s)")
    query.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default: %(default)s)")
    query.set_defaults(func=query_command)

    dump = commands.add_parser("dump", help="export the graph: N-Quads, N-Triples, or CSV for Neo4j import")
    _store_argument(dump)
    dump.add_argument("--format", choices=("nquads", "ntriples", "csv"), default="nquads",
                      help="nquads: every document graph; ntriples: their union; csv: nodes.csv + edges.csv"
                      " (default: %(default)s)")
    dump.add_argument("--output", "-o", help="file to write (default: stdout); a directory for csv (required)")
    dump.set_defaults(func=dump_command)

    stats = commands.add_parser("stats", help="counts of documents, statements, mentions, entities, relations")
    _store_argument(stats)
    stats.set_defaults(func=stats_command)


def _open(args: argparse.Namespace, must_exist: bool = True) -> Any:
    from polyrel.kg.store import GraphStore

    if not args.store:
        raise SystemExit(f"polyrel kg {args.kg_command}: --store is required (or set ${STORE_ENV})")
    if must_exist and not os.path.isdir(args.store):
        raise SystemExit(f"polyrel kg {args.kg_command}: no store at {args.store} (load something first)")
    try:
        return GraphStore(args.store)
    except OSError as exc:
        raise SystemExit(f"polyrel kg {args.kg_command}: {exc}") from exc


def _is_incremental(source: str) -> bool:
    import fsspec

    from polyrel.schemas.manifest import manifest_path

    fs, path = fsspec.core.url_to_fs(manifest_path(source))
    return fs.exists(path)


def load_command(args: argparse.Namespace) -> int:
    store = _open(args, must_exist=False)
    try:
        return _load(store, args)
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"polyrel kg load: {exc}") from exc


def _load(store: Any, args: argparse.Namespace) -> int:
    from polyrel.kg.store import LoadReport

    total = LoadReport()
    plain_sources = []
    for source in args.sources:
        if _is_incremental(source):
            report = store.sync(source, force=args.force)
            print(f"{source}: {report.summary()}")
            for name in ("added", "replaced", "unchanged", "retracted"):
                getattr(total, name).extend(getattr(report, name))
            total.quads += report.quads
        else:
            plain_sources.append(source)
    if plain_sources:
        report = store.load_triples(plain_sources, force=args.force)
        print(f"{', '.join(plain_sources)}: {report.summary()}")
    print(f"store {args.store}: {_stats_line(store)}")
    return 0


def _stats_line(store: Any) -> str:
    from polyrel.kg.queries import STATS, run

    _, rows = run(store, STATS)
    counts = rows[0]
    return ", ".join(f"{counts[k]} {k}" for k in ("documents", "statements", "mentions", "entities"))


def query_command(args: argparse.Namespace) -> int:
    from polyrel.kg import queries

    if args.sparql is not None:
        text = sys.stdin.read() if args.sparql == "-" else args.sparql
    elif args.entity is not None:
        text = queries.entity_relations_query(args.entity, args.entity_type)
    else:
        text = queries.strongest_query(args.strongest, args.limit)
    store = _open(args)
    try:
        result = queries.run(store, text)
    except SyntaxError as exc:
        raise SystemExit(f"polyrel kg query: {exc}") from exc
    if isinstance(result, bool):
        print("true" if result else "false")
    elif isinstance(result, tuple):
        sys.stdout.write(queries.render(*result, fmt=args.format))
    else:
        sys.stdout.write("".join(f"{s} {p} {o} .\n" for s, p, o in result))
    return 0


def dump_command(args: argparse.Namespace) -> int:
    store = _open(args)
    if args.format == "csv":
        from polyrel.kg.export import export_csv

        if not args.output:
            raise SystemExit("polyrel kg dump --format csv: --output DIRECTORY is required")
        for path in export_csv(store, args.output):
            print(path)
        return 0
    if args.output:
        store.dump(args.output, args.format)
        return 0
    try:
        store.dump(sys.stdout.buffer, args.format)
        sys.stdout.flush()
    except BrokenPipeError:  # `polyrel kg dump | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def stats_command(args: argparse.Namespace) -> int:
    from polyrel.kg import queries

    store = _open(args)
    print(_stats_line(store))
    sys.stdout.write(queries.render(*queries.run(store, queries.BY_RELATION)))
    return 0
