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


def test_the_boards_filters_columns_and_sort_are_read_from_a_link_and_only_known_values_count() -> None:
    import gradio as gr

    from space.leaderboard_tab import state_in_address

    search, weights, domain, size, source, reproduced, columns, sort = state_in_address(
        "?search=qwen&weights=open,secret,closed&domain=medical&size=%3C10B&source=scored%20here"
        "&reproduced=reproduced,forged&columns=Overview,Beyond%20accuracy,DROP%20TABLE&sort=MCQ:asc")
    assert (search, weights, domain, size, source) == ("qwen", ["open", "closed"], ["medical"], ["<10B"],
                                                        ["scored here"])
    assert reproduced == ["reproduced"] and columns == ["Overview", "Beyond accuracy"] and sort == "MCQ:asc"
    skip = type(gr.skip())
    untouched = state_in_address("?sort=Nope:desc&weights=" + "x," * 5_000)
    assert untouched[1] == []  # a filter naming nothing known filters nothing
    assert isinstance(untouched[0], skip) and isinstance(untouched[7], skip)  # an unknown sort: left as it is
    assert all(isinstance(value, skip) for value in state_in_address(""))


def test_each_active_filter_is_a_chip_and_unticking_one_removes_only_that_filter() -> None:
    from space.leaderboard_tab import active_filters, filters_kept

    chosen = (" gemma ", ["open"], ["medical", "general"], [], ["paper"])
    chips = active_filters(*chosen)
    assert chips == ["Search: gemma", "Weights: open", "Domain: medical", "Domain: general", "Source: paper"]
    assert filters_kept([c for c in chips if c != "Domain: medical"], *chosen) == (
        " gemma ", ["open"], ["general"], [], ["paper"])
    assert filters_kept([], *chosen) == ("", [], [], [], [])
    assert filters_kept(chips, *chosen)[1:] == chosen[1:]
    assert active_filters("", None, None, None, None) == []


def test_explores_filters_order_and_page_are_read_from_a_link_and_only_known_values_count() -> None:
    import gradio as gr

    from space.explore_tab import state_in_address, suspect_reason

    facets = {"dimension": ["causal", "spatial"], "medical_intelligence": [], "modality": ["CT, contrast"],
              "organ_system": []}
    dimension, _, modality, _, outcome, text, disagree, suspect, order, page = state_in_address(
        "?dimension=causal&dimension=nope&modality=CT%2C%20contrast&outcome=wrong&outcome=missing&text=%20lung%20"
        "&disagree=sub-1&suspect=true&order=difficulty&page=3", facets)
    assert (dimension, modality, outcome) == (["causal"], ["CT, contrast"], ["wrong", "missing"])  # commas kept
    assert (text, disagree, suspect, order, page) == ("lung", "sub-1", True, "difficulty", 3)
    skip = type(gr.skip())
    for hostile in ("?order=DROP&page=-1", "?page=1e9", "?page=0&order=" + "x" * 10_000):
        values = state_in_address(hostile, facets)
        assert isinstance(values[-2], skip) and isinstance(values[-1], skip), hostile
    assert state_in_address("?page=99999999999", facets)[-1] == 999_999  # read within bounds (Explore clamps it)
    assert all(isinstance(value, skip) for value in state_in_address("", facets))
    assert "needs 20 submissions" in suspect_reason([3, 5]) and "5 answered" in suspect_reason([3, 5])
    assert suspect_reason([25]).startswith("No question is marked suspect:") and "false-discovery rate of 5%" in \
        suspect_reason([25]) and "25 submissions" in suspect_reason([25])
