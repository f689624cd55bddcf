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
the articles would each meet, and pay for, most of the same words: 10,000 scale articles cost
15.5 s CPU in one process, 20.6 s as two halves, and about one process's worth split by kind.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any, NamedTuple, TypeVar

from ..config import AnalysisConfig, EnrichConfig
from ..errors import EnrichmentError

T = TypeVar("T")


class Prepared(NamedTuple):
    """What the workers make of one article: its enrichment and, if asked, its title and body terms."""

    section: str | None
    entities: tuple[tuple[str, str], ...]
    terms: tuple | None  # (title, body) as schema.analyze returns them
    #: the body's MinHash signature (stories.signature), when stories are on and there is a body
    signature: Any = None


CHUNK = (
    64  # articles per task: large enough to amortise pickling, small enough to keep workers busy
)
POOL_MIN = 512  # fewer articles to enrich than this: enrich in the indexing process
# Tasks queued per worker: enough to keep the workers busy through a batch commit (~10 s in
# which the indexing process takes no results: 128 tasks of two workers are ~16,000 articles);
# measured on 60k scale articles: 451 docs/s with 8 tasks, 579-604 with 64, 638 with 160.
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
    texts = [body if same else full_text(title, body) for same, (title, body) in zip(once, works)]
    return texts, [2 if same else 1 for same in once]


def prepare(
    works: list[tuple[str | None, str]], config: EnrichConfig, analysis: AnalysisConfig | None
) -> list[Prepared]:
    """Enrich (title, body) pairs and, when ``analysis`` is given, make their index terms."""
    words = prepare_words(works, config, analysis)
    names = prepare_names(works, config)
    signatures = prepare_signatures(works, config)
    return [
        Prepared(section, found, terms, sig)
        for (section, terms), found, sig in zip(words, names, signatures)
    ]


def prepare_signatures(works: list[tuple[str | None, str]], config: EnrichConfig) -> list:
    """The bodies' MinHash signatures for story grouping (None without a body or stories off)."""
    from .stories import signature

    if not config.stories:
        return [None] * len(works)
    return [signature(body) if body else None for _, body in works]


def prepare_words(
    works: list[tuple[str | None, str]], config: EnrichConfig, analysis: AnalysisConfig | None
) -> list[tuple[str | None, tuple | None]]:
    """The word work on (title, body) pairs: (section or None, index terms or None) of each."""
    from ..schema import analyze
    from .topics import section_classifier

    # the terms first: the classifier's word features are the same words' terms, which the
    # analysis then keeps (analysis.word_terms)
    terms = (
        [analyze(title, body, analysis) for title, body in works]
        if analysis
        else [None] * len(works)
    )
    if config.sections:
        # a headline-only record is read once and its counts doubled: the same as "title\n\nbody"
        sections = section_classifier().best_many(*_read_once(works))
    else:
        sections = [None] * len(works)
    return list(zip(sections, terms))


def prepare_names(
    works: list[tuple[str | None, str]], config: EnrichConfig
) -> list[tuple[tuple[str, str], ...]]:
    """The name work on (title, body) pairs: the distinct (label, name) entities of each."""
    from .entities import distinct, entity_extractor

    if not config.entities:
        return [() for _ in works]
    # A body that repeats its title (a headline-only record) has the same distinct names as
    # the two together (20,000 headlines: no difference), so the tagger reads it once.
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
    cyclic collector would still walk them at every full collection (60k scale articles, per
    worker: 1.2 s of full collections without this, 0.6 s with it).
    """
    from ..schema import _schema, analyze
    from .entities import entity_extractor
    from .topics import section_classifier

    try:
        if config.sections:
            section_classifier()
        if config.entities:
            entity_extractor()
        if analysis is not None:
            _schema(analysis)
            analyze(
                None, "Start", analysis
            )  # makes the stemmer (imports NLTK) before the freeze below
    except Exception:
        return  # (failing here would only break the pool: "a worker died")
    gc.collect()
    gc.freeze()


class Enricher:
    """Prepare (item, title, body) triples in order, in worker processes when there are enough of them.

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
                    items, futures, chars = inflight.popleft()
                    inflight_chars -= chars
                    yield from self._collect(items, futures)
            chunk = []
        for start in range(0, len(buffered), CHUNK):  # a small run: the pool never started
            yield from self._here(buffered[start : start + CHUNK])
        if chunk and not self._pools:
            yield from self._here(chunk)
        elif chunk:
            inflight.append(self._submit(chunk))
        while inflight:
            items, futures, _ = inflight.popleft()
            yield from self._collect(items, futures)
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
            words = (
                (self.workers + 1) // 2
            )  # the word work is the larger share (10,000 scale articles, py-spy samples: 8 : 7)
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
        yield from zip([item for item, _, _ in triples], prepare(works, self.config, None))

    def _submit(
        self, triples: list[tuple[T, str | None, str]]
    ) -> tuple[list[T], list[Future], int]:
        """Send a chunk to the workers: (its items, the futures of their results, its characters of text)."""
        works = [(title, body) for _, title, body in triples]
        chars = sum(len(body) + len(title or "") for title, body in works)
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
                "an enrichment worker process died (out of memory?): the index keeps its last commit; "
                "retry with indexing.workers: 1 in config.yaml"
            ) from None
        if len(results) == 3:
            words, names, signatures = results
            yield from zip(
                items,
                (
                    Prepared(section, found, terms, sig)
                    for (section, terms), found, sig in zip(words, names, signatures)
                ),
            )
        else:
            yield from zip(items, results[0])

    def close(self, cancel: bool = False) -> None:
        """Stop the workers (at once when ``cancel``: an error or Ctrl-C)."""
        for pool in self._pools:
            pool.shutdown(wait=not cancel, cancel_futures=cancel)
        self._pools = []
