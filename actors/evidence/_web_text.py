"""What a page says: its main text, extracted with trafilatura, cut into evidence items.

A page's title, meta description and main text (trafilatura drops navigation, footers,
scripts and boilerplate) become items of 40 to 400 characters, each the page's own
wording with whitespace collapsed, so that a claim can quote it verbatim; a longer
paragraph is cut between sentences. The links worth following (about, customers,
news) are found with courlan, trafilatura's own URL library.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from actors.evidence._web_fetch import Page
from actors.runtime import lazy_module

if TYPE_CHECKING:
    import courlan
    import trafilatura
else:
    trafilatura = lazy_module("trafilatura")  # heavy: only for --sources web
    courlan = lazy_module("courlan")

MIN_CHARS = 40
MAX_CHARS = 400

LINKED_PAGES = (
    ("about", ("about", "company", "who-we-are", "our-story", "team")),
    ("customers", ("customers", "clients", "case-studies", "case-study", "success")),
    ("news", ("news", "press", "newsroom", "blog", "media")),
)
"""The kinds of page read after the home page, one of each at most, with the words their
paths use."""

_SENTENCE_GAP = re.compile(r"""(?:(?<=[.!?])|(?<=[.!?]["'”’)])) (?=\S)""")


def page_texts(page: Page, limit: int) -> list[str]:
    """The page's evidence texts, at most ``limit``; none if nothing can be read."""
    text = _decode(page)
    if page.media_type == "text/plain":
        blocks = re.split(r"\n\s*\n", text)
        if not page.complete:
            blocks = blocks[:-1]  # the last block was cut mid-way
        return _items(blocks, limit)
    document = trafilatura.bare_extraction(
        text,
        url=page.url,
        with_metadata=True,
        favor_recall=True,
        include_comments=False,
        include_tables=False,
        deduplicate=False,
    )
    if document is None or isinstance(document, dict):
        return []
    head = [t for t in (document.title, document.description) if t]
    return _items([*head, *(document.text or "").split("\n")], limit)


def linked_pages(page: Page, limit: int) -> list[str]:
    """Up to ``limit`` pages of the same origin the home page links to: an about page,
    a customers page and a news page, in that order, when it has them."""
    if page.media_type == "text/plain":
        return []
    links = courlan.extract_links(_decode(page), url=page.url, no_filter=True, with_nav=True)
    origin = _origin(page.url)
    same_site = sorted(link for link in links if _origin(link) == origin)
    chosen: list[str] = []
    for _, words in LINKED_PAGES:
        found = next((link for link in same_site if _names(link, words)), None)
        if found is not None and found not in chosen and found.rstrip("/") != page.url.rstrip("/"):
            chosen.append(found)
    return chosen[:limit]


def _names(link: str, words: tuple[str, ...]) -> bool:
    path = link.split("://", 1)[-1].partition("/")[2].split("?")[0].casefold()
    parts = path.strip("/").split("/")
    return bool(parts) and len(parts) <= 2 and any(word in parts[-1] for word in words)


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest.split('/', 1)[0].lower()}"


def _decode(page: Page) -> str:
    """The body as text: the declared charset, else what the page says, else UTF-8."""
    if page.charset:
        try:
            return page.body.decode(page.charset, errors="replace")
        except LookupError:
            pass
    return str(trafilatura.utils.decode_file(page.body))


def _items(blocks: Iterable[str], limit: int) -> list[str]:
    """Normalised, 40-400 characters, no U+FFFD, deduplicated ignoring case; the first ``limit``."""
    items: dict[str, str] = {}
    for block in blocks:
        for piece in _pieces(_normalise(block)):
            if len(piece) >= MIN_CHARS and "\ufffd" not in piece:
                items.setdefault(piece.casefold(), piece)
                if len(items) == limit:
                    return list(items.values())
    return list(items.values())


def _pieces(block: str) -> Iterator[str]:
    """The block, or if longer than 400 characters, runs of whole sentences up to 400.

    Each piece is a substring of the block; a sentence over 400 characters is dropped.
    """
    if len(block) <= MAX_CHARS:
        yield block
        return
    run = ""
    for sentence in _SENTENCE_GAP.split(block):
        joined = f"{run} {sentence}" if run else sentence
        if len(joined) <= MAX_CHARS:
            run = joined
            continue
        yield run
        run = sentence if len(sentence) <= MAX_CHARS else ""
    yield run


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split()))
