"""The search box's query syntax: "phrases", -exclusions, NOT, OR, field:terms and prefix*.

Parsed by hand rather than with a Lucene parser (luqum, whoosh): the grammar is flat (no
parentheses), `year:2019..2023` is not Lucene syntax, and a plain query, a question or a pasted
abstract must come through unchanged, which a Lucene grammar does not promise (it reads `:`,
`+`, `(` and `~` in pasted text as operators).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.errors import InvalidQueryError

# Fields a term may name; `text` is title or abstract, the default for quoted and excluded words.
TEXT_FIELDS = ("title", "abstract")
FILTER_FIELDS = ("author", "venue", "category", "year")
FIELDS = TEXT_FIELDS + FILTER_FIELDS
# Words as constraints see them: runs of ASCII letters and digits after case folding, so
# punctuation and case never matter ("Graph-Neural" has the words graph, neural).
_WORD = re.compile(r"[a-z0-9]+")
_YEAR = re.compile(r"^(\d{1,4})?(\.\.)?(\d{1,4})?$")
# One token: optional "-", optional field name, then a quoted phrase or a bare run of non-space.
_TOKEN = re.compile(
    r'(?P<neg>-(?=[^\s\d-]))?(?:(?P<field>[A-Za-z]+):(?=\S))?(?:"(?P<phrase>[^"]*)"|(?P<bare>[^\s"]+))'
)
MIN_PREFIX = 2


@dataclass(frozen=True)
class Term:
    """One constraint. Text fields (`text`, `title`, `abstract`) hold `words` that must occur in
    that order with nothing but punctuation or spaces between them (the last one as a prefix
    when `prefix`); `author`, `venue` and `category` hold `value`; `year` holds `years`."""

    field: str
    words: tuple[str, ...] = ()
    prefix: bool = False
    value: str = ""
    years: tuple[int | None, int | None] = (None, None)

    def describe(self) -> str:
        if self.field == "year":
            lo, hi = self.years
            return f"year:{lo or ''}..{hi or ''}" if lo != hi else f"year:{lo}"
        if self.field in ("text",) + TEXT_FIELDS:
            body = " ".join(self.words) + ("*" if self.prefix else "")
            body = f'"{body}"' if len(self.words) > 1 else body
            return body if self.field == "text" else f"{self.field}:{body}"
        return f"{self.field}:{self.value}"


@dataclass(frozen=True)
class ParsedQuery:
    """`text` ranks (every mode); a paper must meet one term of every group in `must` and no
    term of `must_not`. A query without syntax keeps its text exactly as given."""

    text: str
    must: tuple[tuple[Term, ...], ...] = ()
    must_not: tuple[Term, ...] = ()

    @property
    def constrained(self) -> bool:
        return bool(self.must or self.must_not)

    def describe(self) -> list[str]:
        """Each constraint in words, for the page and the JSON answer."""
        out = [" OR ".join(t.describe() for t in group) for group in self.must]
        return out + ["NOT " + t.describe() for t in self.must_not]


class _Operator(str):
    """OR, NOT or AND, with the character (1-based) where it stands."""

    start: int


def _operator(word: str, start: int) -> _Operator:
    op = _Operator(word)
    op.start = start
    return op


@dataclass
class _Operand:
    term: Term | None  # None: a plain word, which only ranks
    text: str  # what it adds to the ranking text
    negated: bool
    start: int


def words_of(text: str) -> tuple[str, ...]:
    """The words of `text` as constraints compare them."""
    return tuple(_WORD.findall(text.casefold()))


def parse_query(query: str) -> ParsedQuery:
    """Parse the search box's text; raises InvalidQueryError saying where a query is malformed."""
    if not _has_syntax(query):
        return ParsedQuery(text=query)
    operands: list[_Operand | _Operator] = []
    pos = 0
    while pos < len(query):
        if query[pos].isspace():
            pos += 1
            continue
        match = _TOKEN.match(query, pos)
        if match is None:  # only an opening quote without its closing one fails every branch
            raise InvalidQueryError(
                f'the quote at character {pos + 1} is not closed: add the closing " (or remove it)'
            )
        bare = match["bare"]
        if bare in ("OR", "NOT", "AND") and not match["neg"] and not match["field"]:
            operands.append(_operator(bare, match.start() + 1))
        else:
            operands.append(_operand(match))
        pos = match.end()
    return _combine(operands)


def _has_syntax(query: str) -> bool:
    if '"' in query or re.search(r"(?:^|\s)(?:OR|NOT|AND)(?:\s|$)", query):
        return True
    if re.search(r"(?:^|\s)-[^\s\d-]", query) or re.search(r"\S\*(?:\s|$)", query):
        return True
    return any(re.search(rf"(?:^|\s){f}:\S", query, re.IGNORECASE) for f in FIELDS)


def _operand(match: re.Match) -> _Operand:
    start = match.start() + 1
    field = (match["field"] or "").lower()
    phrase, bare = match["phrase"], match["bare"]
    negated = bool(match["neg"])
    raw = phrase if phrase is not None else bare
    if field and field not in FIELDS:  # "ratio 3:1" or "e.g:" is text, not a field
        raw = match.group(0)[1:] if negated else match.group(0)
        field, phrase, bare = "", None, raw
    if field in FILTER_FIELDS:
        return _Operand(_filter_term(field, raw.strip(), start), "", negated, start)
    prefix = phrase is None and bare.endswith("*")
    words = words_of(raw)
    if not words:
        if field or phrase is not None or negated:
            raise InvalidQueryError(f"the term at character {start} has no letters or digits")
        return _Operand(None, bare, False, start)
    if prefix and len(words[-1]) < MIN_PREFIX:
        raise InvalidQueryError(
            f"the prefix at character {start} is too short: give at least {MIN_PREFIX} letters "
            "before *"
        )
    is_constraint = bool(field) or phrase is not None or prefix or negated
    term = Term(field or "text", words, prefix) if is_constraint else None
    return _Operand(term, " ".join(words) if term else bare, negated, start)


def _filter_term(field: str, raw: str, start: int) -> Term:
    if not raw:
        raise InvalidQueryError(f"{field}: at character {start} has no value")
    if field != "year":
        return Term(field, value=raw)
    found = _YEAR.match(raw)
    if not found or not (found[1] or found[3]) or (found[1] and found[3] and not found[2]):
        raise InvalidQueryError(
            f"year:{raw} at character {start} is not a year or range: write year:2019, "
            "year:2019..2023, year:2019.. or year:..2023"
        )
    lo = int(found[1]) if found[1] else None
    hi = int(found[3]) if found[3] else None
    if not found[2]:
        hi = lo
    if lo is not None and hi is not None and lo > hi:
        raise InvalidQueryError(f"year:{raw} at character {start} ends before it starts")
    return Term("year", years=(lo, hi))


def _combine(items: list[_Operand | _Operator]) -> ParsedQuery:
    """Apply NOT (to the next operand) and OR (joining its neighbours into one group)."""
    resolved: list[_Operand | _Operator] = []
    negate_next: _Operator | None = None
    for item in items:
        if item == "NOT":
            negate_next = item
            continue
        if item == "AND":
            continue
        if isinstance(item, _Operand) and negate_next:
            item.negated = True
            negate_next = None
        elif item == "OR" and negate_next:
            raise InvalidQueryError(
                f"NOT at character {negate_next.start} is followed by OR: NOT needs a word or "
                "phrase after it"
            )
        resolved.append(item)
    if negate_next:
        raise InvalidQueryError(
            f"the query ends with NOT (character {negate_next.start}): give the word or phrase "
            "to exclude"
        )
    groups: list[list[_Operand]] = []
    joining: _Operator | None = None
    for item in resolved:
        if item == "OR":
            if not groups or joining:
                raise InvalidQueryError(
                    f"OR at character {item.start} needs a word or phrase on each side"
                )
            joining = item
            continue
        if joining:
            groups[-1].append(item)
        else:
            groups.append([item])
        joining = None
    if joining:
        raise InvalidQueryError(
            f"the query ends with OR (character {joining.start}): give the word or phrase after it"
        )
    text_parts: list[str] = []
    must: list[tuple[Term, ...]] = []
    must_not: list[Term] = []
    for group in groups:
        if len(group) > 1 and any(op.negated for op in group):
            raise InvalidQueryError(
                f"OR joins an excluded term at character {group[0].start}: exclude each term on "
                "its own (-a -b)"
            )
        if len(group) == 1 and group[0].negated:
            op = group[0]
            must_not.append(op.term or _word_term(op))
            continue
        text_parts += [op.text for op in group if op.text]
        if len(group) == 1:
            if group[0].term is not None:
                must.append((group[0].term,))
            continue
        must.append(tuple(op.term or _word_term(op) for op in group))
    return ParsedQuery(" ".join(text_parts), tuple(must), tuple(must_not))


def _word_term(op: _Operand) -> Term:
    words = words_of(op.text)
    if not words:
        raise InvalidQueryError(f"the term at character {op.start} has no letters or digits")
    return Term("text", words)
