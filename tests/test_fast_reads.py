"""Reads made faster: every article at once, posting blocks for scoring (against Whoosh)."""

from __future__ import annotations

from whoosh import query as wq
from whoosh.fields import ID, Schema
from whoosh.filedb.filestore import RamStorage

from newssearch._whoosh_fast.columns import live_docnums
from newssearch.query.search import AllArticles


def _index_with_deletions():
    ix = RamStorage().create_index(Schema(id=ID(stored=True, unique=True)))
    for start in (0, 40, 90):  # three segments
        with ix.writer() as w:
            for i in range(start, start + 40 + start // 10):
                w.add_document(id=f"d{i}")
    with ix.writer() as w:  # deletions in the first and the last segment
        for i in (0, 3, 39, 95, 120):
            w.delete_by_term("id", f"d{i}")
    return ix


def test_live_docnums_equal_whooshs_all_doc_ids_with_deletions():
    ix = _index_with_deletions()
    with ix.searcher() as searcher:
        reader = searcher.reader()
        assert reader.has_deletions() and len(list(reader.leaf_readers())) == 3
        assert live_docnums(reader).tolist() == list(reader.all_doc_ids())
        for leaf, _ in reader.leaf_readers():
            assert live_docnums(leaf).tolist() == list(leaf.all_doc_ids())


def test_all_articles_matches_what_every_matches():
    ix = _index_with_deletions()
    with ix.searcher() as searcher:
        every = [hit["id"] for hit in searcher.search(wq.Every(), limit=None)]
        mine = [hit["id"] for hit in searcher.search(AllArticles(), limit=None)]
        assert sorted(mine) == sorted(every) and len(every) == 40 + 44 + 49 - 5
        assert "d3" not in mine and "d120" not in mine


def test_scoring_read_of_a_posting_block_keeps_ids_and_weights_and_refuses_other_code():
    import io
    import pickle

    import pytest

    from newssearch._whoosh_fast import vector

    def unpickled(data: bytes):
        return vector._ScoringUnpickler(io.BytesIO(data)).load()

    # a block as Whoosh writes it: (id deltas, weights, values), protocol 2 (bytes via _codecs)
    block = pickle.dumps(((3, 1, 4), (1.0, 2.0, 1.0), (b"\x01", b"\x02\x03", b"")), 2)
    deltas, weights, values = unpickled(block)
    assert deltas == (3, 1, 4) and weights == (1.0, 2.0, 1.0) and len(values) == 3

    class Evil:
        def __reduce__(self):
            return (eval, ("1 + 1",))

    with pytest.raises(pickle.UnpicklingError):
        unpickled(pickle.dumps(((1,), None, (Evil(),)), 2))
