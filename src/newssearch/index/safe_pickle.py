"""No code from index files: every pickle Whoosh reads goes through a restricted unpickler.

Whoosh 2.7 stores the schema and the segment list (the TOC), each compound segment's directory,
posting blocks, inlined postings and stored fields as pickles, and reads them with
``pickle.load``/``pickle.loads`` bound at import in four modules. A pickle can call any
importable function, so a crafted index folder could run code when opened, queried or checked.
:func:`install` rebinds those module-level references, in this one place, to :func:`loads` and
:func:`load`, which build only the classes an index legitimately holds: Whoosh's and
newssearch's schema, field, format, column, analysis and codec classes, plain containers, dates.
Anything else raises :class:`UnsafePickleError` (a ``pickle.UnpicklingError``) before it is
created. Whoosh's legacy TOC loaders (another unpickler, for pre-2.5 indexes) are removed.

:mod:`newssearch.index.writer`, through which every path that opens an index goes, calls
:func:`install` when it is imported.
"""

from __future__ import annotations

import copyreg
import datetime as dt
import importlib
import inspect
import io
import pickle
import types
from typing import IO, Any

import whoosh.codec.whoosh3
import whoosh.columns
import whoosh.externalsort
import whoosh.filedb.structfile
import whoosh.index
from whoosh.analysis import Composable
from whoosh.codec.base import Codec, Segment
from whoosh.columns import Column
from whoosh.fields import FieldType, Schema
from whoosh.formats import Format

__all__ = ["UnsafePickleError", "install", "load", "loads"]


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle in an index file names something an index never holds."""


#: Base classes whose subclasses (in Whoosh's and newssearch's own modules) may be built.
_SAFE_BASES: tuple[type, ...] = (FieldType, Schema, Format, Column, Composable, Codec, Segment)
_OWN_PACKAGES = ("whoosh.", "newssearch.")

_reconstructor = copyreg._reconstructor  # type: ignore[attr-defined]  # (not in the stubs)

#: Plain names Whoosh's pickles use: containers, numbers, dates, bytes (protocol 2), regexes.
_PLAIN: dict[tuple[str, str], Any] = {
    ("builtins", "int"): int,
    ("builtins", "float"): float,
    ("builtins", "complex"): complex,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "bytes"): bytes,
    ("builtins", "object"): object,
    ("collections", "defaultdict"): __import__("collections").defaultdict,
    ("collections", "OrderedDict"): __import__("collections").OrderedDict,
    ("datetime", "datetime"): dt.datetime,
    ("datetime", "date"): dt.date,
    ("datetime", "timedelta"): dt.timedelta,
    ("datetime", "timezone"): dt.timezone,
    ("_codecs", "encode"): __import__("_codecs").encode,  # how protocol 2 writes bytes
    ("copyreg", "_reconstructor"): _reconstructor,  # its classes pass through here too
    ("re", "_compile"): __import__("re")._compile,  # a tokenizer's pattern
    ("array", "array"): __import__("array").array,
    ("array", "_array_reconstructor"): __import__("array")._array_reconstructor,
}
# protocol 2 pickles name Python 2's modules; the same objects
_PLAIN.update(
    {
        ("__builtin__", name): value
        for (module, name), value in list(_PLAIN.items())
        if module == "builtins"
    }
)
_PLAIN[("__builtin__", "long")] = int
_PLAIN[("copy_reg", "_reconstructor")] = _reconstructor


def allowed(module: str, name: str) -> Any:
    """The object ``module.name`` if an index may hold it, else raise UnsafePickleError."""
    plain = _PLAIN.get((module, name))
    if plain is not None:
        return plain
    if module.startswith(_OWN_PACKAGES) and "." not in name and not name.startswith("__"):
        try:
            obj = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise UnsafePickleError(
                f"the index names {module}.{name}, which is not here: {exc}"
            ) from None
        if isinstance(obj, type) and issubclass(obj, _SAFE_BASES):
            return obj
        # a stemming function a plain Whoosh analyzer names (StemFilter pickles it)
        if module.startswith("whoosh.lang.") and inspect.isfunction(obj):
            return obj
    raise UnsafePickleError(
        f"the index holds a pickle that would call {module}.{name}, which an index never holds"
    )


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only what :func:`allowed` allows."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a global the pickle names, refusing all but the allowed ones."""
        return allowed(module, name)


def loads(data: bytes | bytearray | memoryview, **kwargs: Any) -> Any:
    """``pickle.loads`` restricted to what an index may hold."""
    # A stream with peek(): the C unpickler then reads ahead in one buffer; from a bare BytesIO
    # it calls read() for every opcode (over twice the time on posting blocks)
    stream = io.BufferedReader(io.BytesIO(data), buffer_size=max(len(data), 1))
    return RestrictedUnpickler(stream, **kwargs).load()


def load(file: IO[bytes], **kwargs: Any) -> Any:
    """``pickle.load`` restricted to what an index may hold."""
    return RestrictedUnpickler(file, **kwargs).load()


#: Stands in for the ``pickle`` module in whoosh.index, which reads the TOC's schema with it.
_PICKLE_FOR_WHOOSH_INDEX = types.SimpleNamespace(
    loads=loads, load=load, dumps=pickle.dumps, dump=pickle.dump, PicklingError=pickle.PicklingError
)


def install() -> None:
    """Rebind Whoosh's module-level pickle readers to the restricted ones (idempotent)."""
    whoosh.index.pickle = _PICKLE_FOR_WHOOSH_INDEX  # TOC: schema
    whoosh.filedb.structfile.load_pickle = load  # TOC: segments; compound directories; extras
    whoosh.codec.whoosh3.loads = loads  # posting blocks, inlined postings
    whoosh.columns.loads = loads  # stored fields (a pickle column)
    whoosh.externalsort.load = load  # a writer's spill files
    whoosh.index.toc_loaders.clear()  # pre-2.5 TOCs: read with an unrestricted unpickler


def installed() -> bool:
    """True when every reference points at the restricted readers."""
    return (
        whoosh.index.pickle is _PICKLE_FOR_WHOOSH_INDEX
        and whoosh.filedb.structfile.load_pickle is load
        and whoosh.codec.whoosh3.loads is loads
        and whoosh.columns.loads is loads
        and whoosh.externalsort.load is load
        and not whoosh.index.toc_loaders
    )
