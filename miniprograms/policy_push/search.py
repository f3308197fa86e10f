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
them must be present); the candidates' text is then checked for each space-separated part of
the query as written, so a policy whose grams are all there but apart (高龄 here, 津贴 there;
12 here, 号 there) is not a hit. Policies are
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
    """The grams a text is found by: each Chinese character and adjacent pair, and each
    start of each word (2026 is found by 2, 20, 202 and 2026: Latin and digits match from
    a word's beginning)."""
    found: set[str] = set()
    for run in _RUNS.findall(normalize(text)):
        if run.isascii():
            found.update(run[:end] for end in range(1, min(len(run), MAX_GRAM) + 1))
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


def chunks(query: str) -> list[str]:
    """The query's space-separated parts, each of which a hit must contain as it is."""
    return normalize(query[:MAX_QUERY]).split()


def contains_all(text: str, wanted: Iterable[str]) -> bool:
    """Whether ``text`` contains every part, as written (after normalizing); a part that
    starts with a Latin letter or digit must start a word there ("fund" finds "funds" and
    "Fund", "und" does not)."""
    folded = normalize(text)
    for part in wanted:
        start = "(?<![0-9a-z])" if part[:1].isascii() and part[:1].isalnum() else ""
        if not re.search(start + re.escape(part), folded):
            return False
    return True
