"""What the page keeps in its address, so a reload or a shared link opens the same view.

`?tab=` (or `#tab`) picks the tab; `?search=`, `?weights=`, `?domain=`, `?size=`, `?source=`, `?columns=`
(lists: one key per value, or a comma list) and `?sort=` (`MCQ:desc`) the board's view, `?row=` a board row to
land on; `?submission=` with `?question=` an Explore question, with `?compare=` a compared pair, and Explore's
filters, order and page (`space.explore_tab.ADDRESS_NAMES`). When the page loads it sends its own address to the
server (`READ_ADDRESS`, into a hidden textbox: the request's headers may not carry it); the page writes the state
back as the visitor moves (`history.replaceState`, no reload).
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode

# A load event's client side: its one input becomes the address the page was opened with.
READ_ADDRESS = "() => (window.medcmrOpenedWith ?? location.search)"
# Once the tab the address names is shown, tab changes are the visitor's and are written to the address.
OPENED = "() => { window.medcmrOpening = false; }"

TABS = ("leaderboard", "submit", "explore", "about")

# In the page's head, before the app starts: `#submit` becomes `?tab=submit`, and the address is kept as
# opened (the first tab's select event fires as the tabs mount, before the server has read it).
HASH_TO_QUERY = """<script>
(() => {
  const tab = location.hash.slice(1);
  const url = new URL(location.href);
  if (%s.includes(tab) && !url.searchParams.has("tab")) {
    url.searchParams.set("tab", tab);
    url.hash = "";
    history.replaceState(null, "", url);
  }
  window.medcmrOpenedWith = url.search;
  window.medcmrOpening = true;
})();
</script>""" % json.dumps(list(TABS))


def remember(*names: str) -> str:
    """Client-side code for an event whose inputs are `names`' values: each is written to the address (a list as
    one `name=` per value, an empty one removed); the values pass through unchanged."""
    return ("(...values) => { const url = new URL(location.href); "
            f"{json.dumps(list(names))}.forEach((name, i) => {{ const value = values[i]; "
            "url.searchParams.delete(name); "
            "if (Array.isArray(value)) value.forEach((each) => url.searchParams.append(name, String(each))); "
            "else if (value !== null && value !== undefined && value !== '') url.searchParams.set(name, String(value)); "
            "}); history.replaceState(null, '', url); return values.length === 1 ? values[0] : values; }")


def keep_tab(tab: str) -> str:
    """Client-side code for a tab's select event: the address names the tab (the first one, none)."""
    value = "null" if tab == TABS[0] else json.dumps(tab)
    return (f"() => {{ if (window.medcmrOpening) return; const url = new URL(location.href); const tab = {value}; "
            "if (tab) url.searchParams.set('tab', tab); else url.searchParams.delete('tab'); "
            "history.replaceState(null, '', url); }")


MAX_QUERY = 4000  # characters of a query string read; the server refuses far longer ones (`space.routes`)


def read(query: str | None, name: str, limit: int = 200) -> str:
    """One value of a query string (`?a=1&b=2`), stripped and cut to `limit` characters ("" if absent)."""
    values = parse_qs(str(query or "").lstrip("?")[:MAX_QUERY]).get(name) or [""]
    return values[0].strip()[:limit]


def read_all(query: str | None, name: str, limit: int = 200, most: int = 50) -> list[str]:
    """Every value of a repeated key (`?outcome=wrong&outcome=missing`), each stripped and cut, at most `most`."""
    values = parse_qs(str(query or "").lstrip("?")[:MAX_QUERY]).get(name) or []
    return [value.strip()[:limit] for value in values[:most] if value.strip()]


def chosen_tab(query: str | None) -> str | None:
    """The tab the address asks for, if it is one of TABS."""
    tab = read(query, "tab").lower()
    return tab if tab in TABS else None


def permalink(**params: str) -> str:
    """A link (relative to the page) that opens this view."""
    return "?" + urlencode({name: value for name, value in params.items() if value})
