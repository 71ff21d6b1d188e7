"""The Gradio 6 page: Leaderboard, Submit, Explore and About tabs wired to the `Leaderboard` facade.

UI code only: each tab module lays out its components and wires them to plain functions of
`leaderboard/`, `space/render.py` and `space/board_view.py`, and to its views class (`BoardViews`, `SubmitViews`,
`ExploreViews`, `ModerationViews`: plain methods over the board, usable without a page). Events with API names for `gradio_client`: `submit`,
`status`, `leaderboard`, and Explore's `explore`, `explore_item`, `explore_image`,
`explore_details` and `explore_compare`. `CSS`, `HEAD` and `I18N` go to `launch()` (Gradio 6 takes them there).
"""
from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

import gradio as gr

from core.vocabulary import PAPER
from leaderboard.service import Leaderboard
from space import url_state
from space.about_tab import build_about_tab, live_sections
from space.explore_tab import build_explore_tab
from space.board_view import BOARD_CSS
from space.leaderboard_tab import PRIVATE, build_leaderboard_tab
from space.moderation_tab import build_moderation_tab
from space.submit_tab import build_submit_tab

PHONE_QUEUE_MODEL, PHONE_QUEUE_STATUS = 150, 120  # the queue's Model and Status: both on a phone's screen
# The agreement table on a phone: its headers name the models, so each column keeps room for whole words.
COMPARE_PHONE_WIDTHS = (104, 48, 64, 112, 112, 64, 96, 96, 80, 96)
FOCUS = "#1d4ed8"  # the keyboard's focus mark, 3 px: visible on white and on every control


def _width(index: int, px: int, table: str) -> str:
    """A fixed column width in one of Gradio 6.31's Dataframes: its header <table> and its rows of div cells
    (`.body-cell[data-col=i]`) are sized apart."""
    return (f"#{table} table.header-table tr > :nth-child({index + 1}), #{table} .body-cell[data-col='{index}'] "
            f"{{ width: {px}px !important; min-width: {px}px !important; max-width: {px}px !important; "
            f"flex: 0 0 {px}px !important; }}")


CSS = BOARD_CSS + f"""
#about pre, #about pre code {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
#build-banner {{ border-left: 4px solid #E69F00; padding: 2px 12px; }}
#build-banner p {{ margin: 0; }}
#board-notes {{ font-size: 0.85em; }}
#board .html-container, #board-legend .html-container, #interval-plot .html-container {{ padding: 0 !important; }}
#interval-plot {{ overflow-x: auto; }}
#submit-refusal:not(:empty) {{ color: var(--error-text-color, #b91c1c); }}
#receipt:not(:empty) {{ border-left: 4px solid #15803d; padding: 2px 12px; }}
#board-controls-toggle {{ display: none; }}
#board-toolbar {{ align-items: center; flex-wrap: wrap; gap: 8px; }}
#board-toolbar > button {{ flex: 0 0 auto !important; min-width: 0 !important; width: auto !important; }}
#explore-item.target, #explore-compare-view.target {{ outline: 3px solid #b45309; outline-offset: 4px;
  border-radius: 4px; }}
#explore-compare-table th, #explore-compare-table .header-content {{ word-break: normal; overflow-wrap: normal;
  white-space: nowrap; }}
#explore-pager {{ align-items: flex-end; flex-wrap: nowrap; }}
/* A focus mark a keyboard user can see on every control (Gradio's is a thin border, or none). */
:focus-visible, input[type=checkbox]:focus-visible, input[type=radio]:focus-visible {{
  outline: 3px solid {FOCUS} !important; outline-offset: 2px !important; }}
label:has(input[type=checkbox]:focus-visible), label:has(input[type=radio]:focus-visible) {{
  outline: 3px solid {FOCUS}; outline-offset: 2px; }}
/* Gradio's light greys fall short of WCAG AA contrast (4.5:1) on white: hints, footer, the chosen tab. */
.gradio-container {{ --block-info-text-color: #4b5563; --body-text-color-subdued: #4b5563;
  --input-placeholder-color: #6b7280; }}
.gradio-container [data-testid=block-info], .gradio-container .info-text, footer, footer a, footer button,
.gradio-container input::placeholder, .gradio-container textarea::placeholder {{ color: #4b5563 !important;
  opacity: 1 !important; }}
button[role=tab].selected {{ color: #c2410c !important; }}
.gradio-container {{ --button-primary-background-fill: #c2410c; --button-primary-background-fill-hover: #9a3412;
  --button-primary-border-color: #c2410c; --button-primary-text-color: #fff; }}
/* An image box with nothing in it yet says nothing: it is left out until it has an image. */
#explore-thumbnail:has(.empty), #explore-full-image:has(.empty) {{ display: none; }}
/* So is a table with no row yet (a box a keyboard could not scroll). */
#explore-table:has([role=grid][aria-rowcount="1"]), #explore-compare-table:has([role=grid][aria-rowcount="1"]),
#status:has([role=grid][aria-rowcount="1"]) {{ display: none; }}
.gradio-container .table-wrap, .gradio-container .table-wrap * {{ font-family: var(--font) !important;
  font-variant-numeric: tabular-nums; }}
@media (max-width: 640px) {{
  #board-controls-toggle {{ display: block; }}
  #board-controls:not(.open) {{ display: none !important; }}
  #board-controls .form > * {{ min-width: 100% !important; flex-basis: 100% !important; }}
  #page-title h1 {{ font-size: 1.6em !important; margin-bottom: 4px; }}
  {_width(0, PHONE_QUEUE_MODEL, "status")}
  {_width(1, PHONE_QUEUE_STATUS, "status")}
  #status .body-cell[data-col='0'] {{ overflow-wrap: anywhere; }}
  {" ".join(_width(i, px, "explore-compare-table") for i, px in enumerate(COMPARE_PHONE_WIDTHS))}
  #explore-pager {{ gap: 6px; }}
  #explore-pager > * {{ min-width: 0 !important; flex: 1 1 auto !important; }}
}}
"""

# Sorting by a header button (or a dimension of the legend): the server sorts (ranked rows stay above unranked
# and reference rows whatever the key); a click writes "Column:desc" into the hidden #board-sort box, a second click
# on the same column reverses it. After the table is drawn again, the keyboard's focus returns to the button
# pressed and the sorted column is scrolled into view beside the pinned Rank and Model. What a link names (a row,
# a question, a comparison) is scrolled to and marked once.
HEAD = url_state.HASH_TO_QUERY + """<script>
(() => {
  let pending = false;
  let focusAfter = null;  // the sort button to focus again once the table is redrawn
  // What a link names is scrolled to and marked once it is on the page: a board row (`?row=`), an Explore
  // question (`?question=`) or a comparison (`?compare=`).
  const opened = new URLSearchParams(window.medcmrOpenedWith ?? location.search);
  let landing = opened.get("row") ? {selector: "#board tr.target", text: ""}
    : opened.get("question") ? {selector: "#explore-item", text: opened.get("question")}
    : opened.get("compare") ? {selector: "#explore-compare-view", text: "Link to this comparison"} : null;
  // The server writes times in UTC ("2026-11-28 05:31 UTC (4 min ago)"); the visitor reads them in
  // their own zone. Text nodes are rewritten in place (the observer does not watch text changes).
  const UTC_TIME = /^(\\d{4}-\\d{2}-\\d{2}) (\\d{2}:\\d{2}) UTC(.*)$/;
  const pad = (n) => String(n).padStart(2, "0");
  const localTime = (text) => {
    const found = UTC_TIME.exec(text.trim());
    if (!found) return null;
    const when = new Date(`${found[1]}T${found[2]}:00Z`);
    if (isNaN(when)) return null;
    const zone = new Intl.DateTimeFormat(undefined, {timeZoneName: "short"}).formatToParts(when)
      .find((part) => part.type === "timeZoneName");
    return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())} ` +
           `${pad(when.getHours())}:${pad(when.getMinutes())} ${zone ? zone.value : ""}${found[3]}`;
  };
  const sortedIntoView = () => {
    const th = document.querySelector("#board th[aria-sort]");
    const scroller = th && th.closest(".board-scroll");
    const pinned = scroller && scroller.querySelector("thead .pin1");
    if (!scroller || !pinned || th.classList.contains("pin0") || th.classList.contains("pin1")) return;
    const edge = pinned.getBoundingClientRect().right, cell = th.getBoundingClientRect();
    const right = scroller.getBoundingClientRect().right;
    if (cell.left < edge) scroller.scrollLeft -= edge - cell.left;
    else if (cell.right > right) scroller.scrollLeft += cell.right - right;
  };
  const decorate = () => {
    pending = false;
    if (focusAfter) {
      const again = document.querySelector(focusAfter);
      if (again && again.dataset.drawn !== "old") {
        focusAfter = null;
        sortedIntoView();
        if (document.activeElement !== again) again.focus({preventScroll: true});
      }
    }
    if (landing) {
      const named = document.querySelector(landing.selector);
      if (named && named.offsetParent && named.textContent.includes(landing.text)) {
        landing = null;
        named.classList.add("target");
        named.scrollIntoView({block: named.tagName === "TR" ? "center" : "start"});
      }
    }
    // Gradio's image preview is a button holding the image: it is named after the image box it is in.
    document.querySelectorAll(".image-container > button:not([aria-label])").forEach((button) => {
      const label = button.closest(".block")?.querySelector("[data-testid=block-label]");
      button.setAttribute("aria-label", `${label ? label.textContent.trim() : "Image"}: view`);
    });
    const queue = document.getElementById("status");
    if (!queue) return;
    const walker = document.createTreeWalker(queue, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const local = localTime(node.nodeValue);
      if (local) node.nodeValue = local;
    }
  };
  new MutationObserver(() => { if (!pending) { pending = true; requestAnimationFrame(decorate); } })
    .observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                        attributeFilter: ["aria-sort", "aria-pressed", "data-drawn"]});
  const sortBox = () => document.querySelector("#board-sort textarea, #board-sort input");
  document.addEventListener("click", (event) => {
    const button = event.target.closest("#board [data-sort], #board-legend [data-sort]");
    const box = sortBox();
    if (!button || !box) return;
    event.preventDefault();
    const name = button.dataset.sort;
    const text = box.value || "";
    const cut = text.lastIndexOf(":");
    const current = cut < 0 ? null : text.slice(0, cut);
    const descending = current === name ? text.slice(cut + 1) !== "desc" : button.dataset.first === "desc";
    const where = button.closest("#board") ? "#board" : "#board-legend";
    document.querySelectorAll(`${where} [data-sort]`).forEach((b) => { b.dataset.drawn = "old"; });
    focusAfter = `${where} [data-sort="${CSS.escape(name)}"]:not([data-drawn])`;
    box.value = `${name}:${descending ? "desc" : "asc"}`;
    box.dispatchEvent(new Event("input", {bubbles: true}));
  }, true);
})();
</script>"""
I18N = gr.I18n(en={"common.complete": "Done"})  # Gradio 6.31 announces "common.complete" to screen readers


def opened_tab(query: str):
    """The tab the page's address names (`?tab=submit`, or `#submit`), else the first."""
    tab = url_state.chosen_tab(query)
    return gr.Tabs(selected=tab) if tab else gr.skip()


def build_app(board: Leaderboard, *, delete_cache: tuple[int, int] | None = None,
              workdir: Path | None = None) -> gr.Blocks:
    """The page over one running `Leaderboard` (its worker is started by the caller);
    `delete_cache` (every, older than; seconds) sweeps Gradio's files of this app by age; the files
    it writes (downloads, images) go under `workdir` (the caller removes it when it stops)."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="medcmr-space-"))
    with gr.Blocks(title="Med-CMR leaderboard", delete_cache=delete_cache) as demo:
        gr.Markdown(f"# Med-CMR leaderboard\nMedical complex multimodal reasoning "
                    f"([arXiv {PAPER.arxiv}]({PAPER.url})). *Research use only — not for clinical use.*",
                    elem_id="page-title")
        address = gr.Textbox(visible=False)  # the page's query string, sent by the page when it loads
        with gr.Tabs() as tabs:
            with gr.Tab("Leaderboard", id="leaderboard") as board_tab:
                ranked = build_leaderboard_tab(demo, board, workdir / "exports", address)
            with gr.Tab("Submit", id="submit") as submit_tab:
                submitted = build_submit_tab(board, workdir / "details")
            with gr.Tab("Explore", id="explore") as explore_tab:
                build_explore_tab(demo, board, workdir / "explore", address)
            with gr.Tab("About", id="about") as about_tab:
                agreement = build_about_tab(board)
            with gr.Tab("Moderate", id="moderate", visible=False) as moderate_tab:
                moderation = build_moderation_tab(board)
        for tab, name in zip((board_tab, submit_tab, explore_tab, about_tab), url_state.TABS):
            tab.select(None, js=url_state.keep_tab(name), **PRIVATE)
        about_tab.select(partial(live_sections, board), outputs=agreement, **PRIVATE)
        # The tab the address names is chosen after the Moderate tab's visibility is set (that resets the choice).
        demo.load(moderation.visible, outputs=moderate_tab, **PRIVATE).then(
            opened_tab, inputs=address, outputs=tabs, js=url_state.READ_ADDRESS, **PRIVATE).then(
            None, js=url_state.OPENED, **PRIVATE)
        board_tab.select(ranked.refresh, inputs=ranked.inputs, outputs=ranked.outputs, **PRIVATE)
        for opened in (demo.load, submit_tab.select):  # the queue is current whenever it is seen
            opened(submitted.refresh, inputs=submitted.inputs, outputs=submitted.outputs, **PRIVATE)
        submitted.submitted.then(ranked.refresh, inputs=ranked.inputs, outputs=ranked.outputs, **PRIVATE)
    return demo
