"""Forgiving reading of typed queries: slips become plain text, and the reader says what it did.

A search box gets questions ("Wer taufte George?"), pasted sentences, half-closed quotes and
brackets. :func:`tidy` rewrites such text into query syntax that Whoosh's parser accepts and
returns notes on every change a user might not expect. The rules (documented in
docs/usage.md, "Querying"):

- punctuation ending a word (``? ! . , ; :``) is punctuation, never an operator or wildcard;
  ``*`` is the wildcard (``Trump*``); ``?`` stands for one letter only between letters (``Me?er``);
- an unpaired quote or bracket is dropped;
- AND / OR / ANDNOT / ANDMAYBE without a word on both sides, and NOT without one after it, are
  dropped;
- a field name followed by a space or nothing (``title: Wien``) is joined to its value or read as
  a word; ``date:`` values the index cannot read are dropped;
- control characters become spaces, and overlong text is cut at ``max_chars``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

_TYPOGRAPHIC_QUOTES = str.maketrans({"„": '"', "“": '"', "”": '"', "»": '"', "«": '"'})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff]")
# a phrase (with optional slop), a bracket, a run of spaces, or anything else up to those
_PIECES = re.compile(r'"[^"]*"(?:~\d+)?|[()\[\]{}]|\s+|[^\s"()\[\]{}]+')
_OPEN, _CLOSE = "([{", ")]}"
_BINARY = frozenset({"AND", "OR", "ANDNOT", "ANDMAYBE"})
#: Letters a wildcard needs before it (one letter expands to a large part of the vocabulary).
MIN_PREFIX = 2
#: Brackets nested deeper than this are dropped (Whoosh's parser recurses once per level).
MAX_DEPTH = 20
_DATE_CLAUSE = re.compile(r'(?<![\w:])date:(\[[^\]]*\]|\{[^}]*\}|"[^"]*"|\([^)]*\)|[^\s()]*)')


def tidy(
    text: str,
    fields: Collection[str] = (),
    is_date: Callable[[str], bool] | None = None,
    max_chars: int = 10_000,
) -> tuple[str, list[str]]:
    """``text`` as valid query syntax, and notes on the slips that were read leniently.

    ``fields`` are the field names of the schema; ``is_date(clause)`` says whether a whole
    ``date:...`` clause can be read (clauses it rejects are dropped).
    """
    notes: list[str] = []
    if re.fullmatch(r"[\s()]*\*[\s()*]*", text):
        return "*", notes  # every article: *, **, (*), * *
    text = _CONTROL.sub(" ", text.translate(_TYPOGRAPHIC_QUOTES))
    if len(text) > max_chars:
        text = text[:max_chars]
        notes.append(f"only the first {max_chars:,} characters were searched")
    if text.count('"') % 2:
        at = text.rindex('"')
        text = text[:at] + " " + text[at + 1 :]
        notes.append('the unpaired quote (") was ignored')
    pieces = [_clean_word(p, fields, notes) if _is_word(p) else p for p in _PIECES.findall(text)]
    pieces = [p for p in pieces if p]
    pieces = _join_fields(_balance(pieces, notes), fields)
    text = "".join(pieces)
    if is_date is not None:
        text = _drop_bad_dates(text, is_date, notes)
    pieces = _drop_dangling([p for p in _PIECES.findall(text) if p], notes)
    return " ".join("".join(pieces).split()), list(dict.fromkeys(notes))


def plain_words(text: str) -> str:
    """Only the words and numbers of ``text`` (the last resort when syntax cannot be read)."""
    words = re.findall(r"\w+(?:[-‐‑.,:/]\w+)*", text)
    return " ".join(w for w in words if w not in _BINARY and w != "NOT")


def _is_word(piece: str) -> bool:
    return bool(piece) and not piece.isspace() and piece[0] != '"' and piece not in "()[]{}"


def _clean_word(word: str, fields: Collection[str], notes: list[str]) -> str:
    """One word without the punctuation around it that Whoosh would read as syntax."""
    if _field_prefix(word, fields):
        return word  # "date:", "title:" waiting for the value after them
    head, sep, rest = word.partition(":")
    if sep and head in fields and rest:
        compare = re.match(r"[<>]=?", rest)  # date:>2015
        cut = compare.end() if compare else 0
        return head + sep + rest[:cut] + _clean_value(rest[cut:], notes)  # date:2015, source:X
    return _clean_value(word, notes)


def _clean_value(word: str, notes: list[str]) -> str:
    word = re.sub(r"[՞؟፧]", "", word)
    word = re.sub(r"(?<!\w)\?+|\?+(?!\w)", "", word)  # ? only between letters is a wildcard
    word = re.sub(r"^[!¡¿.,;:]+|[!.,;:]+$", "", word)
    word = re.sub(r"\^(?!\d+(?:\.\d+)?$)", "", word)  # a boost is ^ and a number at the end
    word = re.sub(r"[<>]=?", " ", word)  # only date:>2015 compares
    if word.strip("*") == "":
        return ""  # a lone * would match every article
    if word.startswith("*"):
        # a leading wildcard walks every word of the index (seconds on a large one)
        notes.append(f"the leading * of {word!r} was ignored: wildcards go at the end (Trump*)")
        word = word.lstrip("*")
    wild = re.search(r"[*?]", word)
    if wild and len(re.findall(r"\w", word[: wild.start()])) < MIN_PREFIX:
        notes.append(f"{word!r}: a wildcard needs {MIN_PREFIX} letters before it; it was ignored")
        word = re.sub(r"[*?]", "", word)
    return word


def _field_prefix(word: str, fields: Collection[str]) -> bool:
    return word.endswith(":") and word[:-1] in fields


def _join_fields(pieces: list[str], fields: Collection[str]) -> list[str]:
    """ "title: Wien" -> "title:Wien"; a field name with nothing after it is a word."""
    out: list[str] = []
    for i, piece in enumerate(pieces):
        if _field_prefix(piece, fields):
            rest = [p for p in pieces[i + 1 :] if p.strip()]
            if not rest or rest[0] in _CLOSE or rest[0] in _BINARY or rest[0] == "NOT":
                out.append(piece[:-1])
                continue
            out.append(piece)
            while i + 1 < len(pieces) and pieces[i + 1].isspace():
                pieces[i + 1] = ""
                i += 1
        elif piece:
            out.append(piece)
    return [p for p in out if p]


def _balance(pieces: list[str], notes: list[str]) -> list[str]:
    """Drop brackets without a partner (and all of them when nested too deeply)."""
    stack: list[int] = []
    unpaired: set[int] = set()
    depth = 0
    for i, piece in enumerate(pieces):
        if piece in _OPEN:
            stack.append(i)
            depth = max(depth, len(stack))
        elif piece in _CLOSE:
            if stack and pieces[stack[-1]] == _OPEN[_CLOSE.index(piece)]:
                stack.pop()
            else:
                unpaired.add(i)
    unpaired.update(stack)
    if depth > MAX_DEPTH:
        notes.append(f"brackets nested more than {MAX_DEPTH} deep were ignored")
        return [" " if p in _OPEN or p in _CLOSE else p for p in pieces]
    for i in sorted(unpaired):
        notes.append(f"the unpaired '{pieces[i]}' was ignored")
    return [" " if i in unpaired else p for i, p in enumerate(pieces)]


def _drop_bad_dates(text: str, is_date: Callable[[str], bool], notes: list[str]) -> str:
    def check(m: re.Match) -> str:
        if is_date(m.group(0)):
            return m.group(0)
        notes.append(
            f"{m.group(0)!r} is not a date the index can read (try date:2015, date:2015-06, "
            "date:[2015-01-01 to 2015-12-31] or date:>2015-06): it was ignored"
        )
        return " "

    return _DATE_CLAUSE.sub(check, text)


def _drop_dangling(pieces: list[str], notes: list[str]) -> list[str]:
    """Drop operators without the words they join, and brackets left empty."""
    kinds = [_kind(p) for p in pieces]
    keep = [True] * len(pieces)
    significant = [i for i, k in enumerate(kinds) if k != "space"]
    changed = True
    while changed:
        changed = False
        live = [i for i in significant if keep[i]]
        for n, i in enumerate(live):
            before = kinds[live[n - 1]] if n else None
            after = kinds[live[n + 1]] if n + 1 < len(live) else None
            kind = kinds[i]
            bad = (
                (kind == "binary" and (before not in ("word", "close") or after in _NOT_START))
                or (kind == "not" and after in _NOT_START)
                or (kind == "open" and after == "close")
            )
            if bad:
                keep[i] = False
                if kind == "open":  # "()" : the pair goes
                    keep[live[n + 1]] = False
                else:
                    where = "at the end" if after is None else "without a word to join"
                    if kind == "binary" and before not in ("word", "close"):
                        where = "at the start" if before is None else "without a word before it"
                    notes.append(f"'{pieces[i]}' {where} was ignored")
                changed = True
                break
    return [p if keep[i] else " " for i, p in enumerate(pieces)]


_NOT_START = (None, "close", "binary")


def _kind(piece: str) -> str:
    if piece.isspace():
        return "space"
    if piece in _OPEN:
        return "open"
    if piece in _CLOSE:
        return "close"
    if piece in _BINARY:
        return "binary"
    if piece == "NOT":
        return "not"
    return "word"
