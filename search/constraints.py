"""The papers a parsed query allows: its field terms as filters, phrases and exclusions exact."""

from __future__ import annotations

import numpy as np

from indexer.derived import DerivedView
from indexer.filters import Filters
from indexer.keyword_index import is_stopword, stem_words
from indexer.store import Store
from models.errors import InvalidQueryError
from search.query_syntax import ParsedQuery, Term, words_of

# A prefix that expands to more index terms than this is refused rather than read.
MAX_PREFIX_TERMS = 20_000
# Candidates of one text term checked against their stored text per query. Past it a one-word
# term trusts the keyword index (the same stems, found through its postings) and a phrase is
# refused: a check that reads a million abstracts would take a minute.
MAX_CHECKED = 200_000
_NONE = np.zeros(0, dtype=np.int64)


def allowed_vids(
    store: Store, view: DerivedView, parsed: ParsedQuery, filters: Filters
) -> np.ndarray | None:
    """Sorted vids meeting the filters and every constraint of the query; None when nothing is
    constrained (every paper is allowed)."""
    allowed = store.select_vids(filters)
    # Field terms first: they are index lookups and narrow what the text checks must read.
    groups = sorted(parsed.must, key=lambda group: not all(t.field in _FILTERS for t in group))
    for group in groups:
        found = [term_vids(store, view, term, allowed) for term in group]
        allowed = np.unique(np.concatenate(found)) if found else _NONE
        if not len(allowed):
            return _NONE
    for term in parsed.must_not:
        everything = view.keywords.vids if allowed is None else allowed
        allowed = np.setdiff1d(everything, term_vids(store, view, term, allowed))
    return allowed


_FILTERS = {
    "year": lambda t: Filters(year_from=t.years[0], year_to=t.years[1]),
    "category": lambda t: Filters(category=t.value),
    "venue": lambda t: Filters(venue=t.value),
    "author": lambda t: Filters(author=t.value),
}


def term_vids(store: Store, view: DerivedView, term: Term, within: np.ndarray | None) -> np.ndarray:
    """Sorted vids among `within` (None: all) that meet `term`."""
    if term.field in _FILTERS:
        found = store.select_vids(_FILTERS[term.field](term))
        return found if within is None else np.intersect1d(found, within, assume_unique=True)
    candidates = _candidates(view, term)
    if within is not None:
        candidates = np.intersect1d(candidates, within, assume_unique=True)
    if len(candidates) > MAX_CHECKED:
        if len(term.words) == 1 and not term.prefix and term.field == "text":
            return candidates
        raise InvalidQueryError(
            f"{term.describe()} matches {len(candidates):,} papers, too many to check exactly: "
            "add a filter or a field (year:, category:) to narrow it"
        )
    matcher = TextMatcher(term)
    texts = store.texts_of(candidates.tolist())
    return np.array(
        sorted(vid for vid, title, abstract in texts if matcher(title, abstract)), dtype=np.int64
    )


def _candidates(view: DerivedView, term: Term) -> np.ndarray:
    """Vids that hold every indexed word of the term: a superset of its matches, from postings."""
    index = view.keywords
    words = list(term.words[:-1] if term.prefix else term.words)
    indexed = [w for w in words if not is_stopword(w)]
    found = index.containing_all(" ".join(indexed)) if indexed else None
    if term.prefix:
        prefix = term.words[-1]
        by_prefix = index.containing_prefix(_stem_safe_prefix(prefix), MAX_PREFIX_TERMS)
        if by_prefix is None:
            raise InvalidQueryError(
                f"{term.describe()} is too broad: more than {MAX_PREFIX_TERMS:,} words start with "
                f"{prefix!r}; give more letters"
            )
        found = by_prefix if found is None else np.intersect1d(found, by_prefix, assume_unique=True)
    if found is None:
        raise InvalidQueryError(
            f"{term.describe()} has only common words (stopwords), which the index does not keep: "
            "add a less common word"
        )
    return found


def _stem_safe_prefix(prefix: str) -> str:
    """A prefix of every stem the index holds for a word starting with `prefix`: stemming cuts
    endings ("generalizations" -> "general"), so the prefix is cut where its own stem departs."""
    (stem,) = stem_words([prefix])
    common = 0
    while common < min(len(stem), len(prefix)) and stem[common] == prefix[common]:
        common += 1
    return prefix[: max(2, min(common, len(prefix)) - 1)]


class TextMatcher:
    """Whether a title or abstract holds a term's words in order, adjacent, each compared by its
    stem (so "networks" meets "network") except a last prefix word, compared as written."""

    def __init__(self, term: Term) -> None:
        self.fields = {"text": (0, 1), "title": (0,), "abstract": (1,)}[term.field]
        exact = term.words[:-1] if term.prefix else term.words
        self.stems = stem_words(list(exact))
        self.prefix = term.words[-1] if term.prefix else None

    def __call__(self, title: str, abstract: str) -> bool:
        texts = (title, abstract)
        return any(self._holds(words_of(texts[i])) for i in self.fields)

    def _holds(self, words: tuple[str, ...]) -> bool:
        n = len(self.stems) + (self.prefix is not None)
        if len(words) < n:
            return False
        stems = stem_words(list(words)) if self.stems else list(words)
        for start in range(len(words) - n + 1):
            if stems[start : start + len(self.stems)] != self.stems:
                continue
            last = start + len(self.stems)
            if self.prefix is None or words[last].startswith(self.prefix):
                return True
        return False
