"""User topics: saved queries from ``config.yaml``'s ``topics:`` applied to the whole index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from whoosh.index import Index
from whoosh.writing import SegmentWriter

from ..config import Config
from ..enrich.stories import kept_fields
from ..errors import ConfigError, QueryError
from ..index.columns import column_lookup
from ..index.schema import from_stored, split_topics, stored_entities, to_document
from ..index.writer import merge_small
from ..models import IndexReport
from ..query.search import build_parser, parse

__all__ = ["apply_user_topics"]


def apply_user_topics(
    ix: Index, config: Config, report: IndexReport, new_writer: Callable[[], SegmentWriter]
) -> None:
    """Give every article exactly the user topics whose saved query matches it.

    Runs over the whole index, so new articles get tagged and a changed ``topics:`` section
    re-tags old ones; only articles whose topics change are rewritten (from their stored
    fields: the corpus is not read again), in one commit.
    """
    # Saved queries are precise by intent: plain words must all match.
    parser = build_parser(ix.schema, replace(config.search, operator="and"))
    queries = {}
    for name, text in config.topics.items():
        try:
            queries[name] = parse(parser, text)
        except QueryError as exc:
            raise ConfigError(f"topics.{name}: {exc}") from None
    with ix.searcher() as searcher:
        wanted: dict[int, list[str]] = {}
        for name, q in queries.items():
            docs = list(searcher.docs_for_query(q))
            report.topics[name] = len(docs)
            for docnum in docs:
                wanted.setdefault(docnum, []).append(name)
        reader = searcher.reader()
        if reader.doc_count() == 0:
            return
        column = column_lookup(reader, "topic_facet")
        changes = []
        for docnum in reader.all_doc_ids():
            section, current = split_topics(column(docnum) or b"")
            topics = wanted.get(docnum, [])
            if topics != current:
                changes.append((searcher.stored_fields(docnum), section, topics))
    if not changes:
        return
    writer = new_writer()
    try:
        for fields, section, topics in changes:
            writer.update_document(
                **to_document(
                    from_stored(fields),
                    fields["hash"],
                    section or None,
                    topics,
                    stored_entities(fields),
                    story=kept_fields(from_stored(fields), fields.get("story")),
                )
            )
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=merge_small)
    report.retagged = len(changes)
