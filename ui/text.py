"""Text from outside the app (prompts, titles, names, providers, messages) as Markdown that shows it as text.

Never as markup: no image that fetches a URL, no link, no raw HTML, no LaTeX, no Streamlit directive or icon.
Pure functions, and light: every page's chrome uses them.
"""

from __future__ import annotations

import re

__all__ = ["WORD_JOINER", "code_span", "markdown_text", "plain_markdown", "unlinked"]

_MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()<>#+-.!|~$:&")

WORD_JOINER = "\u2060"
# Streamlit's Markdown (GFM) links bare `http(s)://`, `www.` and e-mail addresses after escapes are resolved, so
# escaping cannot stop it: a word joiner (U+2060, invisible) inside the scheme, after `www` or before `@` does.
_BARE_URL = re.compile(r"(?i)(https?:)(//)|(www)(\.)")
_EMAIL_AT = re.compile(r"(?<=[-.\w+])@")
# Streamlit turns `:material/name:`, `:streamlit:` and emoji `:name:` in resolved text into icons or an image, so
# escapes cannot stop those either: a word joiner after the opening colon can.
_SHORTCODE = re.compile(r":(?=[\w+/-]+:)")
# What opens markup anywhere in a line: code, emphasis (`_` only off a word's inside, where it cannot), links and
# images, raw HTML and autolinks, tables, strikethrough, LaTeX, entities, and directives (`:red[…]`).
_INLINE_MARKUP = re.compile(r"[\\`*\[\]<|~$&]|:(?=[A-Za-z])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# What opens a block at a line's start: headings, lists, quotes, rules, setext underlines.
_LINE_MARKUP = re.compile(r"^([ \t]*\d*)([-+#>=.)])", re.MULTILINE)
_NEWLINE = re.compile(r"\r\n?|\n")


def unlinked(text: str) -> str:
    """`text` with every bare URL and e-mail address left as text: Markdown shows it as it is, never as a link."""
    text = _BARE_URL.sub(lambda m: WORD_JOINER.join(part for part in m.groups() if part is not None), text)
    return _EMAIL_AT.sub(WORD_JOINER + "@", text)


def _inert(text: str) -> str:
    """What escapes cannot reach, disarmed: links GFM finds in plain text, and Streamlit's shortcodes."""
    return _SHORTCODE.sub(":" + WORD_JOINER, unlinked(text))


def markdown_text(text: str) -> str:
    """`text` shown literally in Markdown, every markup character escaped: for a name, provider or message set
    inside the app's own Markdown (e.g. `**…**`), where it must not end or extend the markup around it."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIALS else c for c in _inert(text))


def plain_markdown(text: str) -> str:
    """`text` (a whole prompt, title or label) as Markdown that shows it as written, line breaks kept.

    Only what could open markup where it stands is escaped, so ordinary prose comes back as it was.
    """
    lines = _NEWLINE.sub("\n", _inert(text))  # a lone `\r` ends a line in Markdown too
    escaped = _LINE_MARKUP.sub(r"\1\\\2", _INLINE_MARKUP.sub(r"\\\g<0>", lines))
    return escaped.replace("\n", "  \n")  # two spaces: a hard break, where a bare newline would read as a space


def code_span(text: str) -> str:
    """`text` as inline code; a backtick inside would end the span early."""
    return "`" + text.replace("`", "'") + "`"
