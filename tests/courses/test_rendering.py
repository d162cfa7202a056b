"""Lesson Markdown renders to the HTML we expect, and nothing unsafe survives."""
from __future__ import annotations

from lms.courses.rendering import markdown_problems, reading_minutes, render_markdown, word_count


def test_headings_get_anchors_and_tables_get_scope():
    html = render_markdown("## Who to invite\n\n| Role | Why |\n| --- | --- |\n| Police | Tension data |\n")
    assert '<h2 id="who-to-invite">Who to invite</h2>' in html
    assert '<th scope="col">Role</th>' in html
    assert 'role="region" tabindex="0" aria-label="Table 1"' in html


def test_callouts_render_with_titles_and_model_answers_fold():
    html = render_markdown("::: activity Map your ward\nDo it.\n:::\n\n::: model-answer\nNotes.\n:::\n\n"
                           "::: key-points\n- One\n:::\n")
    assert '<div class="callout callout-activity"><p class="callout-title"><span class="callout-kind">Activity'\
           '</span> Map your ward</p>' in html
    assert '<details class="callout callout-model-answer"><summary>Model answer</summary>' in html
    assert 'callout-key-points' in html


def test_footnotes():
    html = render_markdown("A claim.[^1]\n\n[^1]: The source.\n")
    assert 'href="#fn1"' in html and 'id="fn1"' in html and "The source." in html


def test_nothing_unsafe_survives():
    source = ("<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1))\n\n"
              "[ok](https://example.org)\n\n::: activity <b onclick=x>Title</b>\nText\n:::\n")
    html = render_markdown(source)
    assert "<script" not in html and "<img src=\"x\"" not in html and "<b " not in html
    assert 'href="javascript' not in html
    assert '<a href="https://example.org" rel="noopener noreferrer">ok</a>' in html


def test_problems_are_reported_with_lines():
    problems = markdown_problems("Intro\n\n# Big\n\n<div>raw</div>\n\n::: exercise\nx\n:::\n\n![](images/a.png)\n",
                                 image_exists=lambda src: False)
    messages = {line: message for line, message in problems}
    assert "level-2 headings" in messages[3]
    assert "raw HTML" in messages[5]
    assert "unknown callout 'exercise'" in messages[7]
    assert any(line == 11 and "alt text" in message for line, message in problems)
    assert any(line == 11 and "image not found" in message for line, message in problems)


def test_word_count_and_reading_time():
    text = "word " * 450
    assert word_count(text) == 450
    assert reading_minutes(text) == 3
    assert reading_minutes("short") == 1


def test_nest_headings_starts_embedded_text_at_the_given_level():
    from lms.courses.rendering import nest_headings

    html = render_markdown("## Context\n\ntext\n\n### Detail\n\nmore\n\n## Plan\n")
    nested = nest_headings(html, 5)
    assert '<h5 id="context">Context</h5>' in nested and '<h6 id="detail">Detail</h6>' in nested
    assert '<h5 id="plan">Plan</h5>' in nested
    assert "<h2" not in nested and "<h3" not in nested
    assert nest_headings("<p>no headings</p>", 4) == "<p>no headings</p>"
    assert '<h6>Deep</h6>' in nest_headings(render_markdown("## Top\n\n###### Deep\n"), 4)
