"""Writing Whoosh segments: Whoosh 2.7.4's segment writer with its hot loops fused.

The writing process does all of a commit alone, and at the end of a run nothing else is
left to do: the other core waits. So the writer here (:class:`Writer`) writes exactly what
Whoosh's own writer writes (the segments record Whoosh's ``W3Codec``: an index stays readable
by plain Whoosh), with less work per posting and per term:

- the posting pool sorts field by field on the term bytes alone (:class:`_PostingPool`);
- the codec reads each field's lengths once, as bytes (:class:`_Fields`, ``schema.length_bytes``);
- the postings loop makes a term's blocks, term info and term-table row in one step
  (:class:`_FieldWriter`, :func:`_term_blocks`);
- ``commit(helper=True)`` (a run's last commit, when no enrichment worker is left) lets a
  forked helper process make the second half of the terms' blocks while this one makes the
  first half (:class:`_Forked`); the files are the same as without it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import warnings
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from hashlib import md5
from itertools import groupby, pairwise
from operator import itemgetter
from typing import Any

from whoosh.codec.whoosh3 import (
    WHOOSH3_HEADER_MAGIC,
    W3Codec,
    W3FieldWriter,
    W3Segment,
    W3TermInfo,
)
from whoosh.filedb import filetables
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.writing import PostingPool, SegmentWriter

from . import FastPathError
from .columns import length_bytes

#: Postings in a commit from which a helper process makes half of the terms (when allowed):
#: fewer are written before a fork and a transfer would pay off.
HELPER_MIN = 100_000
#: Posting blocks whose pickle is shorter than this are written uncompressed: zlib makes them
#: no smaller, while larger blocks already shrink (docs/performance.md).
RAW_BLOCK_BYTES = 128
#: The share of a helped commit's work (see _Sorted.split) that this process does itself; it also
#: writes the helper's terms to the files, the helper pickles them.
HELPER_SHARE = 0.5


class Writer(SegmentWriter):
    """Whoosh's segment writer with this module's codec and posting pool."""

    def __init__(self, ix, limitmb: int = 128, **kwargs) -> None:
        super().__init__(ix, limitmb=limitmb, codec=_WriterCodec(), **kwargs)
        self.pool = _PostingPool(self._tempstorage, self.newsegment, limitmb=limitmb)

    def commit(self, mergetype=None, optimize=None, merge=None, helper: bool = False) -> None:
        """Whoosh's commit; ``helper``: a forked process may write half of the postings (nothing
        else is running)."""
        self.codec.helper = helper
        try:
            super().commit(mergetype=mergetype, optimize=optimize, merge=merge)
        except (OSError, MemoryError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # the fused loops met something Whoosh 2.7.4 would not make
            # free the lock and temporary files; the commit never reached the table of contents
            with contextlib.suppress(Exception):
                self._close_segment()
            with contextlib.suppress(Exception):
                self._finish()
            raise FastPathError(f"{type(exc).__name__}: {exc}") from exc


class _Sorted(list):
    """A pool's postings in order, and where each field's start (name -> index, in order)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, int] = {}

    def split(self, share: float) -> int:
        """Where about ``share`` of the work of writing these postings ends (a term's start)."""
        # A posting with a value (the positions of title and body, most of the work) costs more
        # to write than one without; weighed here 9 : 4, as timed (docs/performance.md).
        bounds = [*self.fields.values(), len(self)]
        extents = [
            (start, end, (end - start) * (9 if self[start][4] else 4))
            for start, end in pairwise(bounds)
        ]
        left = share * sum(cost for _, _, cost in extents)
        for start, end, cost in extents:
            if left < cost:
                return _term_start(self, start + int((end - start) * left / cost))
            left -= cost
        return len(self)


_FIELD_AND_TERM = itemgetter(0, 1)
_TERM = itemgetter(1)


def _sorted(postings: list[tuple]) -> _Sorted:
    """``sorted(postings)``, field by field on the term bytes alone: cheaper than whole tuples.

    A stable sort keeps the order the postings came in within a term, which is ascending
    document number (the writer adds documents, and merged segments' postings, in that order),
    so this is the order of the whole (field, term, docnum, weight, value) tuples.
    """
    by_field: dict[str, list[tuple]] = {}
    for posting in postings:
        by_field.setdefault(posting[0], []).append(posting)
    out = _Sorted()
    for name in sorted(by_field):
        out.fields[name] = len(out)
        out.extend(sorted(by_field[name], key=_TERM))
    return out


class _PostingPool(PostingPool):
    """Whoosh's posting pool (same memory limit, same runs on disk), sorted by :func:`_sorted`."""

    current: list

    def add(self, item: tuple) -> None:
        """Add a (fieldname, term bytes, docnum, weight, value bytes) posting."""
        # Whoosh's estimate of the posting's size, in one expression
        self.currentsize += 150 + len(item[0]) + 2 * len(item[1]) + len(item[4] or b"")
        if self.currentsize > self.limit:
            self.save()
        self.current.append(item)

    def save(self) -> None:
        """Write the postings in memory to a sorted run on disk."""
        if self.current:
            path, f = self._new_run()
            self._write_run(f, _sorted(self.current))
            self._add_run(path)
            self.current = []
        self.currentsize = 0

    def items(self, maxfiles: int = 128):
        """All postings in order: a :class:`_Sorted` list when they never left memory."""
        if not self.runs:
            return _sorted(self.current)
        return super().items(maxfiles)


class _WriterCodec(W3Codec):
    """Whoosh's default codec, writing segments faster: field lengths read once, one loop per term.

    Writing a segment's postings, Whoosh looks up the document's field length for every posting
    (for the block statistics) through a column reader, and for a field without lengths it asks
    the file system whether the column exists, every time: a seventh of the indexing process's
    time; and its postings loop makes a dozen calls per term (see :class:`_FieldWriter`).
    The segments
    record Whoosh's own codec: indexes stay readable by plain Whoosh.
    """

    helper = False  # set by Writer.commit

    def new_segment(self, storage, indexname):
        return W3Segment(W3Codec(self._blocklimit, self._compression, self._inlinelimit), indexname)

    def field_writer(self, storage, segment):
        return _FieldWriter(self, storage, segment)


class _Fields(dict):
    """Field name -> (key prefix, fixed value size, length bytes), each field started on first use
    as Whoosh does."""

    def __init__(self, writer: _FieldWriter, schema, lengths) -> None:
        super().__init__()
        self._writer, self._schema, self._lengths = writer, schema, lengths

    def __missing__(self, name: str) -> tuple[bytes, int | None, bytes | None]:
        writer = self._writer
        # start_field numbers the fields in the order they come; finish_field only ends the field
        writer.start_field(name, self._schema[name])
        info = (
            pack_ushort(writer._fieldid),
            writer._format.fixed_value_size(),
            length_bytes(self._lengths, name) if self._lengths else None,
        )
        writer.finish_field()
        self[name] = info
        return info


class _FieldWriter(W3FieldWriter):
    """Whoosh 2.7.4's segment postings writer, its per-posting and per-term calls fused into one
    loop.

    Whoosh writes a segment's postings through a chain of small calls for every posting (field
    writer, posting writer, block) and every term (a term info, block statistics, two pickles,
    a term-table row): most of a segment commit, which runs in the writing process alone. Here
    each term's postings are gathered in one step and its blocks, term info and table row made
    as Whoosh makes them: the same files, byte for byte (tested), except that blocks under
    ``RAW_BLOCK_BYTES`` stay uncompressed, which Whoosh means to do but does not (it overwrites
    its own decision on the next line); its reader decompresses a block when the block's
    header says so.
    """

    def __init__(self, codec, storage, segment) -> None:
        super().__init__(codec, storage, segment)
        self._tindex.__class__ = (
            _TermTable  # made (and its header written) by Whoosh; only methods differ
        )

    def add_postings(self, schema, lengths, items):
        """Write (fieldname, btext, docnum, weight, value) postings, sorted, as Whoosh would."""
        fields = _Fields(self, schema, lengths)
        blocklimit, compression = self._codec._blocklimit, self._codec._compression
        split: int | None = None
        helper: _Forked | None = None
        if (
            self._codec.helper
            and isinstance(items, _Sorted)
            and len(items) >= HELPER_MIN
            and _may_fork()
        ):
            split = items.split(HELPER_SHARE)
            for name in items.fields:  # every field numbered and its lengths read before the fork
                fields[name]
            helper = _Forked(lambda: _helper_terms(items, split, fields, blocklimit, compression))
        try:
            head = items if split is None else items[:split]
            self._write(_terms(head, fields, blocklimit, compression))
            if helper is not None:
                made = helper.result()  # None: the helper failed; then its terms are made here
                self._write(
                    _terms(items[split:], fields, blocklimit, compression)
                    if made is None
                    else _made_terms(*made)
                )
        except BaseException:
            if helper is not None:
                helper.cancel()
            raise

    def _write(self, terms: Iterable[tuple[bytes, Any, bytes]]) -> None:
        """Write each (key, blocks, term info head): the blocks to the postings file, a row to the
        term table."""
        # Both files' positions are counted here rather than asked for at every write.
        postfile, tindex = self._postfile, self._tindex
        post_write, index_write = postfile.file.write, tindex.dbfile.file.write
        pos, index_pos = postfile.tell(), tindex.dbfile.tell()
        buckets, positions = tindex.buckets, []
        key = None
        for key, blocks, head in terms:
            post_write(blocks)
            info = head + pack_long(pos) + pack_int(len(blocks))  # the rest of W3TermInfo.to_bytes
            pos += len(blocks)
            # the term table's row (OrderedHashWriter.add: its position, then HashWriter.add)
            row = _ROW_LENGTHS.pack(len(key), len(info)) + key + info
            positions.append(index_pos)
            h = int.from_bytes(
                md5(key).digest()[-4:], "big"
            )  # filetables.md5_hash, without the hex string
            buckets[h & 255].append((h, index_pos))
            index_write(row)
            index_pos += len(row)
        if key is not None:
            tindex.lastkey = key
            _extend(tindex.index, positions)
        assert pos == postfile.tell() and index_pos == tindex.dbfile.tell(), (
            "postings writer lost count"
        )


class _TermTable(filetables.OrderedHashWriter):
    """Whoosh's term table writer; its 256 hash tables written one table per write, not one slot."""

    def _write_hashes(self) -> None:
        # HashWriter._write_hashes: the same open addressing, the same bytes
        dbfile = self.dbfile
        pos = dbfile.tell()
        for entries in self.buckets:
            slots = 2 * len(entries)
            self.directory.append((pos, slots))
            table = [_EMPTY_SLOT] * slots
            for hashval, position in entries:
                slot = (hashval >> 8) % slots
                while (
                    table[slot] is not _EMPTY_SLOT
                ):  # no entry is (0, 0): position 0 is the header's
                    slot = (slot + 1) % slots
                table[slot] = (hashval, position)
            data = b"".join([_POINTER.pack(*entry) for entry in table])
            dbfile.write(data)
            pos += len(data)


_EMPTY_SLOT = (0, 0)
_POINTER = filetables._pointer


def _extend(index, positions: list[int]) -> None:
    """``GrowableArray.extend`` of increasing positions: its type widened once, for the largest."""
    if positions and isinstance(index.array, array):
        try:
            array(index.array.typecode, (positions[-1],))
        except OverflowError:
            index._retype(positions[-1])
    if isinstance(index.array, array):
        index.array.extend(positions)
    else:
        index.array += positions


def _terms(
    items: Iterable[tuple], fields: _Fields, blocklimit: int, compression: int
) -> Iterator[tuple[bytes, bytes, bytes]]:
    """(term-table key, posting blocks, term info without its position) of each term of sorted
    postings."""
    for (name, btext), group in groupby(items, key=_FIELD_AND_TERM):
        prefix, fixed, field_lengths = fields[name]
        postings = [
            p for p in group if p[2] != -1
        ]  # docnum -1: Whoosh's spelling entries, not postings
        if postings:
            blocks, head = _term_blocks(postings, field_lengths, blocklimit, compression, fixed)
            yield prefix + btext, blocks, head


def _helper_terms(
    items: list, split: int, fields: _Fields, blocklimit: int, compression: int
) -> tuple:
    """In the helper: the terms from ``split`` on, as (all their blocks, [(key, blocks' size,
    head)])."""
    blocks, rows = [], []
    for key, made, head in _terms(items[split:], fields, blocklimit, compression):
        blocks.append(made)
        rows.append((key, len(made), head))
    return b"".join(blocks), rows


def _made_terms(
    blocks: bytes, rows: list[tuple[bytes, int, bytes]]
) -> Iterator[tuple[bytes, memoryview, bytes]]:
    """The helper's terms as :func:`_terms` yields them."""
    view, at = memoryview(blocks), 0
    for key, size, head in rows:
        yield key, view[at : at + size], head
        at += size


def _term_start(items: list[tuple], at: int) -> int:
    """The first index from ``at`` on where a new term starts (or the end)."""
    while (
        0 < at < len(items)
        and items[at][1] == items[at - 1][1]
        and items[at][0] == items[at - 1][0]
    ):
        at += 1
    return at


def _may_fork() -> bool:
    # Only where fork is the usual way to start a process (Linux; macOS system libraries are not
    # fork-safe).
    return sys.platform.startswith("linux")


class _Forked:
    """A function run in a forked child process; its result comes back pickled through a pipe.

    The child runs only the function (pure computation on data it shares with the parent),
    pickles the result and writes it to its pipe: no import, no other I/O, no garbage
    collection, so no lock that another thread of the parent held at the fork is ever needed,
    and it ends with ``os._exit``, running none of the parent's cleanup.
    """

    def __init__(self, function: Callable[[], Any]) -> None:
        read, write = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a process with threads; see the docstring
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.close(read)
                # short-lived: collections would only touch (and copy) the parent's pages
                gc.disable()
                view = memoryview(pickle.dumps(function(), protocol=pickle.HIGHEST_PROTOCOL))
                while view:
                    view = view[os.write(write, view) :]
                status = 0
            finally:
                os._exit(status)
        os.close(write)
        self._pid: int | None = pid
        self._read = read

    def result(self) -> Any:
        """The function's result, or None when the child failed."""
        try:
            with open(self._read, "rb") as pipe:
                data = pipe.read()
        finally:
            assert self._pid is not None
            _, status = os.waitpid(self._pid, 0)
            self._pid = None
        return pickle.loads(data) if status == 0 and data else None

    def cancel(self) -> None:
        """Stop the child (the parent failed or was interrupted)."""
        if self._pid is None:
            return
        try:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            os.close(self._read)
        except OSError:
            pass
        self._pid = None


def _term_blocks(
    postings: list,
    field_lengths: bytes | None,
    blocklimit: int,
    compression: int,
    fixed: int | None,
) -> tuple[bytes, bytes]:
    """One term's posting blocks (W3PostingsWriter's format) and its term info up to the blocks'
    position.

    ``postings``: the pool's (field, term, docnum, weight, value) tuples of one term, in docnum
    order; ``field_lengths``: the field's length byte per document. Lengths stay bytes
    throughout: Whoosh's length-to-byte coding is monotonic and gives back each byte's length's
    byte, so the minimum and maximum bytes are the ones Whoosh writes.
    """
    if (
        len(postings) == 1
    ):  # most terms of a segment have one posting: the same bytes, made directly
        _, _, docnum, weight, value = postings[0]
        weight32 = array("f", (weight,))[0]
        length = (
            field_lengths[docnum]
            if field_lengths is not None and docnum < len(field_lengths)
            else 0
        )
        max_weight = max(0, weight)
        values: Any
        if fixed is None or fixed < 0:
            values = (value,) if value else ()
        else:
            values = None if fixed == 0 else value or b""
        single = _block(
            (docnum,),
            None if weight32 == 1.0 else weight32,
            values,
            1,
            docnum,
            max_weight,
            length,
            length,
            compression,
            last=True,
        )
        return WHOOSH3_HEADER_MAGIC + single, _TERM_INFO.pack(
            False, weight32, 1, length, length, max_weight, docnum, docnum
        )
    out = []
    weight_sum = 0.0
    min_byte = max_byte = 0
    max_weight = 0
    n = len(postings)
    for first in range(0, n, blocklimit):
        block = postings if n <= blocklimit else postings[first : first + blocklimit]
        ids = [p[2] for p in block]
        raw = [p[3] for p in block]
        weights = array("f", raw)
        if field_lengths is not None:
            known = len(field_lengths)
            found = [b for b in [field_lengths[d] for d in ids if d < known] if b]
        else:
            found = None
        low, high = (min(found), max(found)) if found else (0, 0)
        block_max = max(0, max(raw))
        weight_sum += sum(weights)
        if low and (not min_byte or low < min_byte):
            min_byte = low
        max_byte = max(max_byte, high)
        max_weight = max(max_weight, block_max)
        if not first:
            out.append(WHOOSH3_HEADER_MAGIC)  # a term's postings start with it
        deltas = (ids[0], *(b - a for a, b in pairwise(ids)))
        count = len(weights)
        packed_weights: Any
        packed_values: Any
        if weights.count(1.0) == count:
            packed_weights = None
        elif weights.count(weights[0]) == count:
            packed_weights = weights[0]
        else:
            packed_weights = tuple(weights)
        if fixed is None or fixed < 0:
            packed_values = tuple([p[4] for p in block if p[4]])
        else:
            packed_values = None if fixed == 0 else b"".join([p[4] for p in block if p[4]])
        out.append(
            _block(
                deltas,
                packed_weights,
                packed_values,
                count,
                ids[-1],
                block_max,
                low,
                high,
                compression,
                last=first + blocklimit >= n,
            )
        )
    head = _TERM_INFO.pack(
        False, weight_sum, n, min_byte, max_byte, max_weight, postings[0][2], postings[-1][2]
    )
    return b"".join(out), head


def _block(
    deltas: tuple,
    weights,
    values,
    count: int,
    last_id: int,
    max_weight: float,
    low: int,
    high: int,
    compression: int,
    last: bool,
) -> bytes:
    """One posting block as W3PostingsWriter writes it: its size (negative for a term's last),
    header, data."""
    data = pickle.dumps((deltas, weights, values), 2)
    comp = compression if len(data) >= RAW_BLOCK_BYTES else 0
    if comp:
        data = zlib.compress(data, comp)
    header = pickle.dumps((count, last_id, max_weight, comp, low, high), 2)
    size = len(header) + len(data)
    return pack_int(-size if last else size) + header + data


_TERM_INFO = W3TermInfo._struct  # W3TermInfo.to_bytes: this, then the blocks' position and size
_ROW_LENGTHS = filetables._lengths  # HashWriter's (key length, value length) row header
