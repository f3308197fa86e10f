"""Finding policies by words, Chinese or not, the same way on SQLite and PostgreSQL.

Chinese has no spaces, so a word index needs either a segmenter or n-grams. We index
n-grams: every character and every pair of adjacent characters of each run of Chinese
text, and each run of Latin letters or digits as one lower-cased token. Why not a segmenter
(jieba and kin): it decides once, at indexing, where words end, and a query for part of a
word then finds nothing when the segmenter kept the whole (稳岗返还 as one word hides it
from 稳岗); its dictionary is tens of megabytes and seconds to load in every process; and new
policy terms are exactly the words it does not know. Why not each database's own full-text
search: SQLite's FTS5 and PostgreSQL's tsvector/pg_trgm differ in tokenizing and ranking, and
the answers must be the same on both.

A query's grams narrow the candidates through a B-tree index on ``(gram, policy_id)`` (all of
them must be present); the candidates' text is then checked for the query itself, so a
policy whose grams are all there but apart (高龄 here, 津贴 there) is not a hit. Policies are
at most a few thousand, and a query's candidates a handful.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# A run of Chinese (CJK unified ideographs, extension A, compatibility) or of Latin/digits.
_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]+")
MAX_QUERY = 40  # characters of a query looked at (a title is rarely longer)
MAX_GRAM = 16  # the column's width: a longer Latin token is indexed by its first 16


def normalize(text: str) -> str:
    """Full-width letters and digits folded to ASCII (NFKC), lower-cased."""
    return unicodedata.normalize("NFKC", text).lower()


def grams(text: str) -> set[str]:
    """The grams a text is found by: each Chinese character and adjacent pair, each word."""
    found: set[str] = set()
    for run in _RUNS.findall(normalize(text)):
        if run.isascii():
            found.add(run[:MAX_GRAM])
            continue
        found.update(run)
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


def query_grams(query: str) -> set[str]:
    """The grams a query needs: the pairs of its Chinese runs (one character alone when a
    run is one character), its words. Fewer grams than :func:`grams` gives, all indexed."""
    needed: set[str] = set()
    for run in _RUNS.findall(normalize(query[:MAX_QUERY])):
        if run.isascii() or len(run) == 1:
            needed.add(run[:MAX_GRAM])
        else:
            needed.update(run[i : i + 2] for i in range(len(run) - 1))
    return needed


def terms(query: str) -> list[str]:
    """The query's runs, each of which a hit must contain as it is (after normalizing)."""
    return _RUNS.findall(normalize(query[:MAX_QUERY]))


def contains_all(text: str, wanted: Iterable[str]) -> bool:
    """Whether ``text`` contains every term (Latin words as a word's start, so "fund"
    finds "funds" and "Fund" but "und" does not)."""
    folded = normalize(text)
    for term in wanted:
        if term.isascii():
            if not re.search(rf"(?<![0-9a-z]){re.escape(term)}", folded):
                return False
        elif term not in folded:
            return False
    return True
