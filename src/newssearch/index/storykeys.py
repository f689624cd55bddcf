"""The story band keys of an index, in an array file beside it (``<indexname>_STORYKEYS.npz``).

A new article finds the wire copies indexed in earlier runs through its LSH band keys
(:mod:`newssearch.enrich.stories`). The keys are not index terms: 32 unique terms per article
would be most of the index's size and of its writing time, and nobody searches for them. The
file holds every key with the id of an article holding it, sorted by key, so a new article's
keys are checked in one array lookup; Whoosh is asked only for the articles behind a key that
is there (by id, so merges and rewrites do not matter). It is saved at the end of a run (it
is rewritten whole, so not at every checkpoint); when it does not match the index (a killed
run, an index from before the file) it is made again from the index's ``minhash`` column
and, for headline-only records, the stored title and date.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path

import numpy as np
from whoosh.index import Index
from whoosh.reading import IndexReader, TermNotFound

from ..config import Config
from ..enrich.stories import StoryGrouper, band_keys, headline_key
from .columns import column_lookup
from .schema import from_stored

__all__ = ["CANDIDATES", "CANDIDATES_PER_KEY", "StoryKeys"]

#: Indexed articles read per band key a new article shares with them, and in all per article
CANDIDATES_PER_KEY = 8
CANDIDATES = 32

_EMPTY_KEYS = np.zeros(0, dtype=np.uint64)


class StoryKeys:
    """The run's story grouper, with the band keys of the index it writes to."""

    def __init__(self, index_dir: Path, ix: Index, config: Config) -> None:
        # upper case: Whoosh's clean-up takes a lower-case ``ns1_name.ext`` for a stale segment
        self.path = index_dir / f"{ix.indexname}_STORYKEYS.npz"
        self._old_path = index_dir / f"{ix.indexname}_lsh.npz"  # the file before this one
        self.grouper: StoryGrouper | None = None
        self._reader: IndexReader | None = None
        self._keys = _EMPTY_KEYS
        self._owners = np.zeros(0, dtype=np.uint32)
        self._ids: list[str] = []
        if not config.enrich.stories:
            return
        reader = ix.reader()
        if reader.doc_count() == 0:
            reader.close()
            self.grouper = StoryGrouper()
            return
        self._reader = reader
        self._load(reader)
        self._id_of = column_lookup(reader, "id")
        self._stories = column_lookup(reader, "story")
        self._signatures = column_lookup(reader, "minhash")
        self._holding: dict[int, list[int]] = {}
        self._candidates: dict[int, tuple[str, str, bytes | None]] = {}
        self.grouper = StoryGrouper(self._lookup)

    # -- the file --------------------------------------------------------------------------

    def _load(self, reader: IndexReader) -> None:
        try:
            with np.load(self.path) as data:
                if int(data["documents"]) == reader.doc_count():
                    blob, offsets = data["ids"].tobytes(), data["offsets"].tolist()
                    self._keys, self._owners = data["keys"], data["owners"]
                    self._ids = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
                    return
        except (OSError, ValueError, KeyError, UnicodeDecodeError):
            pass
        self._rebuild(reader)

    def _rebuild(self, reader: IndexReader) -> None:
        """The keys of every live article, from its signature or its title and day."""
        ids = column_lookup(reader, "id")
        signatures = column_lookup(reader, "minhash")
        keys: list[list[int]] = []
        for docnum in reader.all_doc_ids():
            raw = signatures(docnum)
            if raw:
                keys.append(band_keys(np.frombuffer(raw, dtype=np.uint32)))
                self._ids.append(ids(docnum))
                continue
            fields = reader.stored_fields(docnum)
            if fields.get("body"):
                continue  # a body without words: no signature, no keys
            key = headline_key(from_stored(fields))
            if key is not None:
                keys.append([key])
                self._ids.append(fields["id"])
        self._keys, self._owners = _sorted(
            np.fromiter((k for ks in keys for k in ks), dtype=np.uint64),
            np.repeat(np.arange(len(keys), dtype=np.uint32), [len(ks) for ks in keys]),
        )

    def save(self, documents: int) -> None:
        """Record the index's band keys after a run (``documents``: its live articles then)."""
        if self.grouper is None:
            return
        owner_of = {article_id: i for i, article_id in enumerate(self._ids)}
        known = len(self._ids)
        new_keys, new_owners = [], []
        for key, article_id in self.grouper.pairs():
            owner = owner_of.get(article_id)
            if owner is None:
                owner = owner_of[article_id] = len(self._ids)
                self._ids.append(article_id)
            elif owner < known and self._holds(key, owner):
                continue  # an article written again with its text unchanged
            new_keys.append(key)
            new_owners.append(owner)
        self._keys, self._owners = _sorted(
            np.concatenate([self._keys, np.asarray(new_keys, dtype=np.uint64)]),
            np.concatenate([self._owners, np.asarray(new_owners, dtype=np.uint32)]),
        )
        encoded = [i.encode("utf-8") for i in self._ids]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                keys=self._keys,
                owners=self._owners,
                ids=np.frombuffer(b"".join(encoded), dtype=np.uint8),
                offsets=offsets,
                documents=np.int64(documents),
            )
        os.replace(tmp, self.path)
        with contextlib.suppress(OSError):
            self._old_path.unlink()

    def _holds(self, key: int, owner: int) -> bool:
        """Does the file already pair ``key`` with article ``owner``?"""
        return bool((self._owners[self._span(key)] == owner).any())

    def _span(self, key: int) -> slice:
        """Where ``key``'s pairs sit in the sorted arrays (empty when it has none)."""
        keys, at = self._keys, np.uint64(key)
        return slice(int(keys.searchsorted(at, "left")), int(keys.searchsorted(at, "right")))

    # -- lookups during the run ------------------------------------------------------------

    def _lookup(self, keys: list[int]) -> list[tuple[str, str, bytes | None]]:
        known = self._keys
        if not len(known):
            return []
        wanted = np.asarray(keys, dtype=np.uint64)
        at = np.minimum(np.searchsorted(known, wanted), len(known) - 1)
        docnums: dict[int, None] = {}
        for key in wanted[known[at] == wanted].tolist():
            docnums.update(dict.fromkeys(self._holders(key)))
            if len(docnums) >= CANDIDATES:
                break
        return [self._candidate(d) for d in docnums]

    def _holders(self, key: int) -> list[int]:
        """The first live articles holding a band key (remembered: copies share their keys)."""
        found = self._holding.get(key)
        if found is None:
            found = []
            # the first few articles holding a key speak for its story: boilerplate shared by
            # thousands of articles must not make every new one read them all
            for owner in self._owners[self._span(key)].tolist():
                docnum = self._docnum(self._ids[owner])
                if docnum is not None and docnum not in found:
                    found.append(docnum)
                    if len(found) >= CANDIDATES_PER_KEY:
                        break
            if len(self._holding) < 100_000:
                self._holding[key] = found
        return found

    def _docnum(self, article_id: str) -> int | None:
        """The live document of an article id (None: deleted since)."""
        reader = self._reader
        assert reader is not None  # lookups only run with an index to look in
        try:
            postings = reader.postings("id", article_id).all_ids()
        except TermNotFound:
            return None
        return next((d for d in postings if not reader.is_deleted(d)), None)

    def _candidate(self, docnum: int) -> tuple[str, str, bytes | None]:
        found = self._candidates.get(docnum)
        if found is None:
            article_id = self._id_of(docnum)
            found = (article_id, self._stories(docnum) or article_id, self._signatures(docnum))
            if len(self._candidates) < 100_000:
                self._candidates[docnum] = found
        return found

    def close(self) -> None:
        """Release the reader of the index as it was before the run."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def _sorted(keys: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    return keys[order], owners[order]
