"""Lesson Markdown to safe HTML: markdown-it-py for the syntax, nh3 (Ammonia) for the sanitising.

Rendering happens once, when a lesson version is saved; pages show the stored HTML.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin

CALLOUTS = {
    "activity": "Activity",
    "case-study": "Case study",
    "model-answer": "Model answer",
    "key-points": "Key points",
    "note": "Note",
}
WORDS_PER_MINUTE = 200
# Part of every lesson version's hash: raise it when the rendered HTML changes, and the next
# content load stores freshly rendered versions.
RENDERER_VERSION = 3

ALLOWED_TAGS = {
    "p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "a", "em", "strong", "code", "pre", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td", "img", "hr", "br", "sup", "sub", "section", "div", "span",
    "details", "summary", "dl", "dt", "dd", "s", "del",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id"},
    "img": {"src", "alt", "title"},
    "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
    "li": {"id"}, "th": {"scope"}, "ol": {"start"}, "td": set(),
}
ALLOWED_CLASSES = {
    "div": {"callout", "table-scroll", *(f"callout-{kind}" for kind in CALLOUTS)},
    "details": {"callout", "callout-model-answer"},
    "p": {"callout-title"},
    "span": {"callout-kind"},
    "section": {"footnotes"},
    "ol": {"footnotes-list"},
    "li": {"footnote-item"},
    "sup": {"footnote-ref"},
    "a": {"footnote-backref"},
    "hr": {"footnotes-sep"},
}

ImageResolver = Callable[[str], str | None]


def _slugify(text: str) -> str:
    slug = re.sub(r"[^\w\s-]", "", text.lower()).strip()
    return re.sub(r"[\s_-]+", "-", slug)[:80] or "section"


def _render_callout(kind: str):
    label = CALLOUTS[kind]

    def render(self, tokens, idx, _options, _env):
        token = tokens[idx]
        title = escapeHtml(token.info.strip()[len(kind):].strip())
        if kind == "model-answer":
            if token.nesting == 1:
                summary = f"{label}: {title}" if title else label
                return f'<details class="callout callout-model-answer"><summary>{summary}</summary>\n'
            return "</details>\n"
        if token.nesting == 1:
            heading = f'<span class="callout-kind">{label}</span>' + (f" {title}" if title else "")
            return f'<div class="callout callout-{kind}"><p class="callout-title">{heading}</p>\n'
        return "</div>\n"

    return render


def _parser(image_url: ImageResolver | None, *, html: bool = False) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": html, "typographer": True}).enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(anchors_plugin, min_level=2, max_level=4, slug_func=_slugify)
    for kind in CALLOUTS:
        md.use(container_plugin, name=kind, render=_render_callout(kind))

    def table_open(self, tokens, idx, options, env):
        env["tables"] = env.get("tables", 0) + 1
        return f'<div class="table-scroll" role="region" tabindex="0" aria-label="Table {env["tables"]}"><table>\n'

    def table_close(self, tokens, idx, options, env):
        return "</table></div>\n"

    def th_open(self, tokens, idx, options, env):
        return '<th scope="col">'

    md.add_render_rule("table_open", table_open)
    md.add_render_rule("table_close", table_close)
    md.add_render_rule("th_open", th_open)

    if image_url is not None:
        default_image = md.renderer.rules["image"]

        def image(self, tokens, idx, options, env):
            token = tokens[idx]
            resolved = image_url(token.attrGet("src") or "")
            token.attrSet("src", resolved or "")
            return default_image(tokens, idx, options, env)

        md.add_render_rule("image", image)
    return md


# The wrapper that lets a wide table scroll is a keyboard-reachable region; nothing else may set these.
ALLOWED_VALUES = {"div": {"role": {"region"}, "tabindex": {"0"},
                          "aria-label": {f"Table {n}" for n in range(1, 201)}}}


def sanitise(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, allowed_classes=ALLOWED_CLASSES,
                     tag_attribute_values=ALLOWED_VALUES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer")


def render_markdown(source: str, *, image_url: ImageResolver | None = None) -> str:
    """Safe HTML for a lesson's Markdown. Raw HTML in the source is shown as text or removed."""
    return sanitise(_parser(image_url).render(source))


_HEADING_TAG = re.compile(r"<(/?)h([1-6])\b")


def nest_headings(html: str, top: int) -> str:
    """Rendered Markdown shown inside a page's section: its highest heading becomes ``top``, the rest follow.

    A lesson or a learner's text uses headings from ``##`` down; shown under a page's own h3, say, its
    headings must start at h4 so that a screen reader's outline stays in order."""
    levels = [int(level) for _, level in _HEADING_TAG.findall(html)]
    if not levels:
        return html
    shift = top - min(levels)
    return _HEADING_TAG.sub(lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + shift)}", html)


_INLINE = MarkdownIt("commonmark", {"html": False, "typographer": True})


@lru_cache(maxsize=4096)
def render_inline(text: str) -> str:
    """One line of Markdown (emphasis, links) as safe inline HTML; one parser, and each line rendered once."""
    return sanitise(_INLINE.renderInline(text))


def word_count(source: str) -> int:
    text = re.sub(r"^:::.*$", "", source, flags=re.M)
    return len(re.findall(r"[A-Za-z0-9][\w'’-]*", text))


def reading_minutes(source: str) -> int:
    return max(1, math.ceil(word_count(source) / WORDS_PER_MINUTE))


_CALLOUT_LINE = re.compile(r"^\s*:{3,}\s*([\w-]*)")


def markdown_problems(source: str, *, image_exists: Callable[[str], bool] | None = None) -> list[tuple[int, str]]:
    """Problems an author should fix, as (line, message) with lines counted from 1 in ``source``."""
    problems: list[tuple[int, str]] = []
    for number, line in enumerate(source.splitlines(), start=1):
        match = _CALLOUT_LINE.match(line)
        if match and match.group(1) and match.group(1) not in CALLOUTS:
            problems.append((number, f"unknown callout '{match.group(1)}' "
                                     f"(use one of: {', '.join(CALLOUTS)})"))
    tokens = _parser(None, html=True).parse(source)
    for token in _walk(tokens):
        line = (token.map[0] + 1) if token.map else 0
        if token.type == "heading_open" and token.tag == "h1":
            problems.append((line, "lessons start at level-2 headings (##): the lesson title is the page's h1"))
        elif token.type in {"html_block", "html_inline"}:
            problems.append((line, "raw HTML is not allowed in lessons; use Markdown"))
        elif token.type == "image":
            src = token.attrGet("src") or ""
            if not token.content.strip():
                problems.append((line, f"the image {src} needs alt text: ![what it shows]({src})"))
            if image_exists is not None and not image_exists(src):
                problems.append((line, f"image not found: {src} (images live in the course's images/ folder)"))
    return problems


def _walk(tokens, line=None):
    for token in tokens:
        if token.map:
            line = token.map
        if token.children:
            for child in _walk(token.children, line):
                if child.map is None and line is not None:
                    child.map = line
                yield child
        yield token
