"""The page's address as state: what a link may carry is read within bounds, and only known values count."""
from __future__ import annotations

from urllib.parse import parse_qs

from space import url_state


def test_a_link_is_read_within_bounds_and_unknown_tabs_are_ignored() -> None:
    assert url_state.chosen_tab("?tab=Submit") == "submit"
    assert url_state.chosen_tab("?tab=moderate") is None  # the owner's tab is never opened by a link
    assert url_state.chosen_tab("?tab=<script>alert(1)</script>") is None
    assert url_state.read("?search=%20qwen%20&search=gemma", "search") == "qwen"  # the first, stripped
    assert url_state.read("?search=" + "a" * 10_000, "search") == "a" * 200
    assert url_state.read("", "search") == url_state.read(None, "search") == ""
    assert url_state.read("?question=mcq-1%00", "question") == "mcq-1\x00"  # kept as text: Explore refuses it


def test_a_permanent_link_round_trips_any_text() -> None:
    model = 'A & B; "VL" <b>7B</b> ?tab=about'
    link = url_state.permalink(search=model, tab="", question=None)
    assert link.startswith("?") and parse_qs(link[1:]) == {"search": [model]}
    assert url_state.read(link, "search") == model and url_state.chosen_tab(link) is None
