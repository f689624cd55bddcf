"""Enrichment (section classifier + entity tagger) spread over worker processes.

Indexing is a pipeline: the indexing process reads records, decides which need writing, and
writes them; the enrichment between those steps costs most of the CPU, so it runs in worker
processes, a chunk of articles per task, a bounded number of chunks in flight (memory stays
flat however big the corpus), results back in input order. The workers also make the title's
and body's index terms (``schema.analyze``), which takes that work off the one writing process.
Small runs never start workers: starting them and loading the models there costs more than it
saves.

The work is split by kind, not by article: "word" workers classify sections and make the index
terms (both from the same stemmed, decompounded words), "name" workers tag entities, and every
chunk goes to one of each. Most of the cost is a word's first sight (stemming, decompounding,
its classifier features and tagger scores, all cached per process), and two workers that split
the articles would each meet, and pay for, most of the same words; split by kind, each word is
paid for about once.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any, NamedTuple, TypeVar

from ..config import AnalysisConfig, EnrichConfig
from ..errors import EnrichmentError

T = TypeVar("T")


class Prepared(NamedTuple):
    """What the workers make of one article: its enrichment and, if asked, its terms."""

    section: str | None
    entities: tuple[tuple[str, str], ...]
    terms: tuple | None  # (title, body) as schema.analyze returns them
    #: the body's MinHash signature (stories.signature), when stories are on and there is a body
    signature: Any = None
    #: why enriching or analysing this article failed (it is rejected)
    error: str | None = None


class Failed(str):
    """In place of one article's result: why its enrichment or analysis raised."""


def _each(
    works: list[T], batch: Callable[[list[T]], list], failed: Callable[[str], object]
) -> list:
    """``batch(works)``; if it raises, each work alone, a failing one giving ``failed(reason)``."""
    try:
        return batch(works)
    except Exception:
        if len(works) == 1:
            raise
    results = []
    for work in works:
        try:
            results.extend(batch([work]))
        except Exception as exc:
            results.append(failed(f"{type(exc).__name__}: {str(exc)[:200]}"))
    return results


CHUNK = (
    64  # articles per task: large enough to amortise pickling, small enough to keep workers busy
)
POOL_MIN = 512  # fewer articles to enrich than this: enrich in the indexing process
# Tasks queued per worker: enough to keep the workers busy through a batch commit, during which
# the indexing process takes no results (fewer left the workers idle: docs/performance.md).
AHEAD = 128
# ... and at most this much article text in flight (characters), however long the articles
AHEAD_CHARS = 64_000_000


def full_text(title: str | None, body: str) -> str:
    """The text enrichment reads: title and body."""
    if not body:  # a headline-only record: the short text it is
        return title or ""
    return f"{title}\n\n{body}" if title else body


def _read_once(works: list[tuple[str | None, str]]) -> tuple[list[str], list[int]]:
    """The text enrichment reads of each (title, body), and how many times over: a body that
    repeats its title (a headline-only record) alone, twice; else :func:`full_text`, once."""
    once = [title == body for title, body in works]
    texts = [
        body if same else full_text(title, body)
        for same, (title, body) in zip(once, works, strict=False)
    ]
    return texts, [2 if same else 1 for same in once]


def prepare(
    works: list[tuple[str | None, str]], config: EnrichConfig, analysis: AnalysisConfig | None
) -> list[Prepared]:
    """Enrich (title, body) pairs and, when ``analysis`` is given, make their index terms."""
    words = prepare_words(works, config, analysis)
    names = prepare_names(works, config)
    signatures = prepare_signatures(works, config)
    return [
        _prepared(section, found, terms, sig)
        for (section, terms), found, sig in zip(words, names, signatures, strict=False)
    ]


def _prepared(
    section: str | None, found: tuple, terms: tuple | None, signature: Any = None
) -> Prepared:
    failed = [x for x in (section, found, terms) if isinstance(x, Failed)]
    if failed:
        return Prepared(None, (), None, error=str(failed[0]))
    return Prepared(section, found, terms, signature=signature)


def prepare_signatures(works: list[tuple[str | None, str]], config: EnrichConfig) -> list:
    """The bodies' MinHash signatures for story grouping (None without a body or stories off)."""
    from ..enrich.stories import signature

    if not config.stories:
        return [None] * len(works)
    return [signature(body) if body else None for _, body in works]


def prepare_words(
    works: list[tuple[str | None, str]], config: EnrichConfig, analysis: AnalysisConfig | None
) -> list[tuple[str | None, tuple | None]]:
    """The word work on (title, body) pairs: (section or None, index terms or None) of each.

    An article whose work raises gets a :class:`Failed` reason in place of its terms.
    """
    return _each(
        works, lambda some: _prepare_words(some, config, analysis), lambda r: (None, Failed(r))
    )


def _prepare_words(
    works: list[tuple[str | None, str]], config: EnrichConfig, analysis: AnalysisConfig | None
) -> list[tuple[str | None, tuple | None]]:
    from ..enrich.sections import sections_many
    from .schema import analyze

    # the terms first: the classifier's word features are the same words' terms, which the
    # analysis then keeps (analysis.word_terms)
    terms = (
        [analyze(title, body, analysis) for title, body in works]
        if analysis
        else [None] * len(works)
    )
    # a headline-only record is read once and its counts doubled: the same as "title\n\nbody";
    # short texts (headline-only records) get the short-text model's section where it is sure
    sections = sections_many(*_read_once(works)) if config.sections else [None] * len(works)
    return list(zip(sections, terms, strict=False))


def prepare_names(
    works: list[tuple[str | None, str]], config: EnrichConfig
) -> list[tuple[tuple[str, str], ...]]:
    """The name work on (title, body) pairs: the distinct (label, name) entities of each.

    An article whose work raises gets a :class:`Failed` reason in place of its entities.
    """
    return _each(works, lambda some: _prepare_names(some, config), Failed)


def _prepare_names(
    works: list[tuple[str | None, str]], config: EnrichConfig
) -> list[tuple[tuple[str, str], ...]]:
    from ..enrich.entities import distinct, entity_extractor

    if not config.entities:
        return [() for _ in works]
    # A body that repeats its title (a headline-only record) has the same distinct names as
    # the two together (checked on the shared headlines), so the tagger reads it once.
    return [
        tuple(distinct(found)) for found in entity_extractor().extract_many(_read_once(works)[0])
    ]


def _context() -> mp.context.BaseContext:
    # fork where there is one: "spawn" and "forkserver" re-run the caller's main module in
    # every worker, which breaks a plain script calling NewsSearch.index() without a
    # ``if __name__ == "__main__"`` guard. The workers run only enrichment code.
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def _worker_init(parent: int, config: EnrichConfig, analysis: AnalysisConfig | None) -> None:
    # Ctrl-C goes to the whole process group: the indexing process handles it and stops the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _load_models(
        config, analysis
    )  # a word worker gets a config without entities, a name worker the reverse

    def watch() -> None:
        # A killed indexing process cannot stop its workers; they notice the orphaning and exit.
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _load_models(config: EnrichConfig, analysis: AnalysisConfig | None) -> None:
    """Load what this worker's tasks use, then exempt it from garbage collection for good.

    The models and everything inherited from the indexing process never become garbage; the
    cyclic collector would still walk them at every full collection.
    """
    from ..enrich.entities import entity_extractor
    from ..enrich.sections import section_classifier, short_section_classifier
    from .schema import analyze, schema_for

    try:
        if config.sections:
            section_classifier()
            short_section_classifier()
        if config.entities:
            entity_extractor()
        if analysis is not None:
            schema_for(analysis)
            analyze(
                None, "Start", analysis
            )  # makes the stemmer (imports NLTK) before the freeze below
    except Exception:
        return  # (failing here would only break the pool: "a worker died")
    gc.collect()
    gc.freeze()


class Enricher:
    """Prepare (item, title, body) triples in order, in worker processes when there are enough of
    them.

    ``analysis``: the index's analysis settings, for the workers to make the title's and body's
    terms too (not done when the articles are enriched in the indexing process: no gain there).
    """

    def __init__(
        self, config: EnrichConfig, workers: int, analysis: AnalysisConfig | None = None
    ) -> None:
        self.config = config
        self.workers = workers
        self.analysis = analysis
        self._pools: list[
            ProcessPoolExecutor
        ] = []  # started: the word and the name workers, or one pool
        self.used_workers = 0  # for the report: 0 = enriched in the indexing process
        self.read = 0  # items read from the input of run() so far
        self.exhausted = False  # run() has read its whole input

    def run(self, items: Iterable[tuple[T, str | None, str]]) -> Iterator[tuple[T, Prepared]]:
        """Yield (item, prepared) for every (item, title, body), in input order.

        An exception raised by ``items`` (a strict stop at a bad record) is re-raised only
        after every item read before it has been yielded, so those can still be written.
        """
        if not (self.config.sections or self.config.entities):
            for item, _, _ in items:
                yield item, Prepared(None, (), None)
            return
        source = iter(items)
        buffered: list[tuple[T, str | None, str]] = []
        error: BaseException | None = None
        inflight: deque[tuple[list[T], list[Future], int]] = deque()
        inflight_chars = 0
        chunk: list[tuple[T, str | None, str]] = []
        while True:
            try:
                triple = next(source)
            except StopIteration:
                self.exhausted = True
                break
            except Exception as exc:
                error = exc
                break
            self.read += 1
            if not self._pools and self.workers > 1 and len(buffered) < POOL_MIN:
                buffered.append(triple)
                if len(buffered) < POOL_MIN:
                    continue
                self._start()
                for start in range(0, len(buffered), CHUNK):
                    inflight.append(self._submit(buffered[start : start + CHUNK]))
                    inflight_chars += inflight[-1][2]
                buffered = []
                continue
            chunk.append(triple)
            if len(chunk) < CHUNK:
                continue
            if not self._pools:
                yield from self._here(chunk)
            else:
                inflight.append(self._submit(chunk))
                inflight_chars += inflight[-1][2]
                while len(inflight) > AHEAD * self.workers or inflight_chars > AHEAD_CHARS:
                    done, futures, chars = inflight.popleft()
                    inflight_chars -= chars
                    yield from self._collect(done, futures)
            chunk = []
        for start in range(0, len(buffered), CHUNK):  # a small run: the pool never started
            yield from self._here(buffered[start : start + CHUNK])
        if chunk and not self._pools:
            yield from self._here(chunk)
        elif chunk:
            inflight.append(self._submit(chunk))
        while inflight:
            done, futures, _ = inflight.popleft()
            yield from self._collect(done, futures)
        if error is not None:
            raise error

    def _start(self) -> None:
        def pool(
            workers: int, config: EnrichConfig, analysis: AnalysisConfig | None
        ) -> ProcessPoolExecutor:
            return ProcessPoolExecutor(
                max_workers=workers,
                mp_context=_context(),
                initializer=_worker_init,
                initargs=(os.getpid(), config, analysis),
            )

        if self._split():
            # the word work is the larger share (profiled), so an odd worker does word work
            words = (self.workers + 1) // 2
            self._pools = [
                pool(words, replace(self.config, entities=False), self.analysis),
                pool(self.workers - words, replace(self.config, sections=False), None),
            ]
        else:
            self._pools = [pool(self.workers, self.config, self.analysis)]
        self.used_workers = self.workers

    def _split(self) -> bool:
        """Word and name workers apart: there is work of both kinds and a worker for each."""
        return (
            self.workers > 1
            and self.config.entities
            and (self.config.sections or self.analysis is not None)
        )

    def _here(self, triples: list[tuple[T, str | None, str]]) -> Iterator[tuple[T, Prepared]]:
        works = [(title, body) for _, title, body in triples]
        yield from zip(
            [item for item, _, _ in triples], prepare(works, self.config, None), strict=False
        )

    def _submit(
        self, triples: list[tuple[T, str | None, str]]
    ) -> tuple[list[T], list[Future], int]:
        """Send a chunk to the workers: (its items, the futures of their results, its characters of
        text)."""
        works = [(title, body) for _, title, body in triples]
        chars = sum(len(body) + len(title or "") for title, body in works)
        futures: list[Future]
        if len(self._pools) == 2:
            words, names = self._pools
            futures = [
                words.submit(prepare_words, works, self.config, self.analysis),
                names.submit(prepare_names, works, self.config),
                # the signatures go to the name workers: the word work is the larger share
                names.submit(prepare_signatures, works, self.config),
            ]
        else:
            futures = [self._pools[0].submit(prepare, works, self.config, self.analysis)]
        return [item for item, _, _ in triples], futures, chars

    def _collect(self, items: list[T], futures: list[Future]) -> Iterator[tuple[T, Prepared]]:
        try:
            results = [future.result() for future in futures]
        except BrokenProcessPool:
            raise EnrichmentError(
                "an enrichment worker process died (out of memory?): the index keeps its last "
                "commit; "
                "retry with indexing.workers: 1 in config.yaml"
            ) from None
        if len(results) == 3:
            words, names, signatures = results
            yield from zip(
                items,
                (
                    _prepared(section, found, terms, sig)
                    for (section, terms), found, sig in zip(words, names, signatures, strict=False)
                ),
                strict=False,
            )
        else:
            yield from zip(items, results[0], strict=False)

    def close(self, cancel: bool = False) -> None:
        """Stop the workers (at once when ``cancel``: an error or Ctrl-C)."""
        for pool in self._pools:
            pool.shutdown(wait=not cancel, cancel_futures=cancel)
        self._pools = []
