"""Every per-process cache's bound, in one place.

newssearch keeps a few caches so that repeated work is done once per process: news vocabulary
repeats, and an index's segments rarely change. Each cache is owned by the module named below
and bounded by the number here; all are per process (index workers each have their own) and
hold nothing an index change could make wrong (keys are words, or segments by id and size).

- name keys: ``text.names.name_key``, name -> key, ``WORDS``;
- decompounding, stems, plain words' terms: the ``text.analysis`` filters (one set per
  analyzer), word -> parts/stem/terms, ``WORDS`` each;
- analyzers: ``text.analysis.shared_analyzer``, settings -> analyzer, ``ANALYZERS``;
- the classifier's word terms and ids: ``enrich.sections``, ``WORDS`` / ``CLASSIFIER_WORDS``;
- the tagger's word features and score rows: ``enrich.entities``, ``TAGGER_FEATURES`` /
  ``TAGGER_WORDS``;
- snippet terms: ``query.search.Snippeter``, word -> term, ``SNIPPET_TERMS``;
- facet columns per segment: ``query.facets.segment_values``, (segment id, size) -> arrays,
  ``SEGMENTS``;
- field lengths per open segment: ``_whoosh_fast.vector``, open reader -> arrays (dropped with
  the reader);
- date buckets: ``query.facets``, (interval, day) -> label ("2016-03"), ``DAY_BUCKETS``.

Thread safety: the caches are plain dicts filled with setdefault-style writes of values that
are the same whichever thread makes them, so concurrent readers at worst repeat work.
"""

from __future__ import annotations

#: Words per word cache (analysis filters, name keys, the classifier's word terms).
WORDS = 200_000
#: Analyzers kept by settings (one per index settings in use; more is unusual).
ANALYZERS = 4
#: Words whose feature ids the section classifier keeps.
CLASSIFIER_WORDS = 100_000
#: Words whose CRF feature strings the tagger keeps (large values: a smaller bound).
TAGGER_FEATURES = 60_000
#: Words whose CRF score rows the tagger keeps.
TAGGER_WORDS = 100_000
#: Words whose index term the snippet highlighter keeps.
SNIPPET_TERMS = 100_000
#: Segments whose facet columns stay decoded (least recently used dropped first).
SEGMENTS = 256
#: (interval, day) pairs whose date-histogram label is kept (five intervals x 80 years of days).
DAY_BUCKETS = 150_000
