"""A CRFsuite linear-chain model (CRF1d) evaluated with numpy, many sentences at a time.

CRFsuite's own tagger takes one sentence at a time as lists of feature strings, turns every
string into an id and decodes in C; for news (the same words over and over, short sentences) the
string handling and the per-sentence calls cost most of the tagging time. Here the model's
weights are read once into two arrays: a word's feature strings become a score vector per label
once per process (see ``entities.Tagger``), and Viterbi decoding and the marginals run over a
whole batch of sentences at once, a numpy step per token position. The results are CRFsuite's:
the same weights (read exactly from the model file), the same max-product path (ties to the
lower label id, as CRFsuite) and the same forward-backward marginals.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

# CRFsuite's CRF1d model file (crf1d_model.c): a header of little-endian uint32s, then chunks; the
# "FEAT" chunk holds every feature as (type, source, destination, weight): type 0 is a state
# feature (attribute id -> label id), type 1 a transition (label id -> label id).
_HEADER = struct.Struct("<4sI4sIIIIIIIII")
_FEATURE = np.dtype([("type", "<u4"), ("src", "<u4"), ("dst", "<u4"), ("weight", "<f8")])


# Label and attribute names sit in CQDB chunks (cqdb.c): "CQDB", chunk size, flag, byte order,
# the number of names and the offset of the "backward" array, which points at each name's record:
# (id, size of the name with its terminating NUL, the name). Offsets count from the chunk start.
_CQDB = struct.Struct("<4sIIIII")


def _names(data: bytes, offset: int) -> list[str]:
    """The names of a CQDB chunk, by id."""
    magic, _, _, _, count, backward = _CQDB.unpack_from(data, offset)
    if magic != b"CQDB":
        raise ValueError("not a CRFsuite model: no name table where the header says")
    names = [""] * count
    for record in struct.unpack_from(f"<{count}I", data, offset + backward):
        ident, size = struct.unpack_from("<II", data, offset + record)
        start = offset + record + 8
        names[ident] = data[start : start + size - 1].decode("utf-8")
    return names


class LinearChainCRF:
    """Label scores and decoding of a trained CRF1d model."""

    def __init__(
        self,
        labels: Sequence[str],
        attributes: dict[str, int],
        state: np.ndarray,
        transition: np.ndarray,
    ):
        self.labels = tuple(labels)
        #: attribute name -> row of ``state``
        self.attributes = attributes
        #: (attributes + 1, labels): the weight of each attribute for each label; the last row
        #: is zeros, the row of an unknown attribute (see :meth:`group_scores`)
        if len(state) == len(attributes):
            state = np.vstack([state, np.zeros((1, len(self.labels)))])
        self.state = state
        #: (labels, labels): the weight of label i followed by label j
        self.transition = transition
        self._exp_transition = np.exp(transition)

    @classmethod
    def load(cls, path: str | Path) -> LinearChainCRF:
        """Read a model file written by CRFsuite (python-crfsuite's Trainer)."""
        data = Path(path).read_bytes()
        magic, _, kind, _, _, n_labels, n_attrs, off_features, off_labels, off_attrs, *_ = (
            _HEADER.unpack_from(data, 0)
        )
        if magic != b"lCRF" or kind != b"FOMC" or data[off_features : off_features + 4] != b"FEAT":
            raise ValueError(f"{path}: not a CRFsuite CRF1d model")
        (count,) = struct.unpack_from("<I", data, off_features + 8)
        features = np.frombuffer(data, dtype=_FEATURE, count=count, offset=off_features + 12)
        labels = _names(data, off_labels)
        attributes = {name: i for i, name in enumerate(_names(data, off_attrs))}
        if len(labels) != n_labels or len(attributes) != n_attrs:
            raise ValueError(
                f"{path}: damaged CRFsuite model (name tables do not match the header)"
            )
        state = np.zeros((n_attrs + 1, n_labels))  # + the unknown attributes' row of zeros
        transition = np.zeros((n_labels, n_labels))
        kept = features[features["type"] == 0]
        state[kept["src"], kept["dst"]] = kept["weight"]
        moves = features[features["type"] == 1]
        transition[moves["src"], moves["dst"]] = moves["weight"]
        return cls(labels, attributes, state, transition)

    def scores(self, names: Iterable[str]) -> np.ndarray:
        """The summed weights of the attributes ``names`` for each label (unknown names count 0)."""
        ids = [i for i in map(self.attributes.get, names) if i is not None]
        return self.state[ids].sum(axis=0)

    def group_scores(self, groups: Sequence[Sequence[str]]) -> np.ndarray:
        """:meth:`scores` of each group of names at once: a (groups, labels) array."""
        unknown, get = len(self.attributes), self.attributes.get
        return self.id_scores([[get(name, unknown) for name in names] for names in groups])

    def id_scores(self, ids: list[list[int]]) -> np.ndarray:
        """:meth:`group_scores` of groups given as attribute ids (``len(attributes)``: unknown);
        pads ``ids``."""
        unknown = len(self.attributes)
        width = max(map(len, ids), default=0)
        for row in ids:
            row.extend([unknown] * (width - len(row)))
        # unknown names and the padding take the row of zeros: adding 0.0 changes no sum, and
        # each group is summed in order, as scores() does: the same numbers to the last bit
        return self.state[ids].sum(axis=1) if width else np.zeros((len(ids), len(self.labels)))

    def decode(self, emissions: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each sentence's (tokens, labels) score matrix: (best label ids, their marginal
        probabilities)."""
        out: list[tuple[np.ndarray, np.ndarray]] = [(np.empty(0, np.intp), np.empty(0))] * len(
            emissions
        )
        lengths = np.array([len(e) for e in emissions], dtype=np.intp)
        # longest first: the sentences still running at position t are then the first active[t]
        order = np.argsort(-lengths, kind="stable")
        order = order[lengths[order] > 0]
        if not len(order):
            return out
        lengths = lengths[order]
        batch, width, k = len(order), int(lengths[0]), len(self.labels)
        scores = np.zeros((batch, width, k))
        for row, i in enumerate(order):
            scores[row, : lengths[row]] = emissions[i]
        active = (lengths[None, :] > np.arange(width)[:, None]).sum(axis=1)
        tags = self._viterbi(scores, lengths, active)
        marginals = self._marginals(scores, lengths, active)
        picked = np.take_along_axis(marginals, tags[:, :, None], axis=2)[:, :, 0]
        for row, i in enumerate(order):
            n = lengths[row]
            out[i] = (tags[row, :n], picked[row, :n])
        return out

    def _viterbi(self, scores: np.ndarray, lengths: np.ndarray, active: np.ndarray) -> np.ndarray:
        batch, width, _ = scores.shape
        delta = scores[:, 0].copy()
        back = np.zeros(scores.shape, dtype=np.intp)
        for t in range(1, width):
            n = active[t]
            step = delta[:n, :, None] + self.transition[None]
            best = step.argmax(axis=1)  # the first best previous label, as CRFsuite's strict '<'
            back[:n, t] = best
            delta[:n] = np.take_along_axis(step, best[:, None, :], axis=1)[:, 0] + scores[:n, t]
        tags = np.zeros((batch, width), dtype=np.intp)
        last = delta.argmax(axis=1)  # finished sentences kept their final delta
        rows = np.arange(batch)
        for t in range(width - 1, -1, -1):
            n = active[t]
            ending = lengths[:n] == t + 1
            tags[:n, t] = np.where(ending, last[:n], tags[:n, t])
            if t:
                tags[:n, t - 1] = back[rows[:n], t, tags[:n, t]]
        return tags

    def _marginals(self, scores: np.ndarray, lengths: np.ndarray, active: np.ndarray) -> np.ndarray:
        width = scores.shape[1]
        # each position's scores shifted by their maximum: a constant factor per position, which
        # the normalisation of the marginals removes (and exp cannot overflow)
        potential = np.exp(scores - scores.max(axis=2, keepdims=True))
        trans = self._exp_transition
        alpha = np.ones_like(potential)  # positions past a sentence's end stay finite
        alpha[:, 0] = potential[:, 0]
        alpha[:, 0] /= alpha[:, 0].sum(axis=1, keepdims=True)
        for t in range(1, width):
            n = active[t]
            a = (alpha[:n, t - 1] @ trans) * potential[:n, t]
            alpha[:n, t] = a / a.sum(axis=1, keepdims=True)
        beta = np.ones_like(potential)
        for t in range(width - 2, -1, -1):
            n = active[
                t + 1
            ]  # sentences going on after t; for the others t is the last token (beta 1)
            b = (beta[:n, t + 1] * potential[:n, t + 1]) @ trans.T
            beta[:n, t] = b / b.sum(axis=1, keepdims=True)
        joint = alpha * beta
        return joint / joint.sum(axis=2, keepdims=True)
