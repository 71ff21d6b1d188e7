"""The Gradio 6 page: Leaderboard, Submit, Explore and About tabs wired to the `Leaderboard` facade.

UI code only: each tab module lays out its components and wires them to plain functions of
`leaderboard/` and `space/render.py`. Events with API names for `gradio_client`: `submit`,
`status`, `leaderboard`, and Explore's `explore`, `explore_item`, `explore_image`,
`explore_details` and `explore_compare`. `CSS` and `HEAD` go to `launch()` (Gradio 6 takes them there).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr

from core.vocabulary import PAPER
from leaderboard.service import Leaderboard
from space import url_state
from space.about_tab import build_about_tab, live_sections
from space.explore_tab import build_explore_tab
from space.leaderboard_tab import HEADER_TIPS, PRIVATE, build_leaderboard_tab
from space.moderation_tab import build_moderation_tab, moderation_visible
from space.submit_tab import build_submit_tab

RANK_WIDTH = 64  # the board's Rank column width: the sticky Model column starts after it
PHONE_RANK, PHONE_MODEL, PHONE_SCORE, PHONE_OPEN = 44, 116, 92, 64  # 316 px: a 390 px phone
PHONE_QUEUE_MODEL, PHONE_QUEUE_STATUS = 150, 120  # the queue's Model and Status: both on a phone's screen

# Gradio 6.31's Dataframe draws a header <table> and absolutely placed rows of div cells
# (`th[data-heading=i]`, `.body-cell[data-col=i]`) inside `.virtual-table-viewport`, the element that
# scrolls sideways; `pinned_columns` has no sticky effect there, so Rank and Model are made sticky here.
_STICKY = ", ".join(f"#board th[data-heading='{i}'], #board .body-cell[data-col='{i}']" for i in (0, 1))
# The header table also holds a hidden sizing row of <td>s whose inline widths set the columns'.


def _width(index: int, px: int, table: str = "board") -> str:
    return (f"#{table} table.header-table tr > :nth-child({index + 1}), #{table} .body-cell[data-col='{index}'] "
            f"{{ width: {px}px !important; min-width: {px}px !important; max-width: {px}px !important; "
            f"flex: 0 0 {px}px !important; }}")


CSS = f"""
#about pre, #about pre code {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
#build-banner {{ border-left: 4px solid #E69F00; padding: 4px 12px; }}
{_STICKY} {{ position: sticky; z-index: 3; background: var(--background-fill-primary); }}
#board th[data-heading='0'], #board .body-cell[data-col='0'] {{ left: 0; }}
#board th[data-heading='1'], #board .body-cell[data-col='1'] {{ left: {RANK_WIDTH}px;
  box-shadow: 2px 0 0 var(--border-color-primary); }}
#board th[data-heading] {{ cursor: pointer; }}
#board .source-badge {{ display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 0.8em;
  border: 1px solid var(--border-color-primary); }}
#board .source-scored {{ border-color: #0072B2; color: #0072B2; }}
#board .source-reference {{ border-style: dashed; font-style: italic; }}
#board .unranked-mark {{ font-size: 0.8em; color: #b45309; white-space: nowrap; }}
#board sup {{ font-size: 0.7em; }}
#board a {{ color: var(--link-text-color, #2563eb); text-decoration: underline; text-underline-offset: 2px; }}
#board-notes {{ font-size: 0.85em; }}
#interval-plot {{ overflow-x: auto; }}
#submit-refusal:not(:empty) {{ color: var(--error-text-color, #b91c1c); }}
#board .cell-menu-button {{ display: none !important; }}
#board th[aria-sort='descending'] .header-content::after {{ content: " ▼"; font-size: 0.8em; }}
#board th[aria-sort='ascending'] .header-content::after {{ content: " ▲"; font-size: 0.8em; }}
#board-controls-toggle {{ display: none; }}
@media (max-width: 640px) {{
  #board-controls-toggle {{ display: block; }}
  #board-controls:not(.open) {{ display: none !important; }}
  {_width(0, PHONE_RANK)}
  {_width(1, PHONE_MODEL)}
  {_width(2, PHONE_SCORE)}
  {_width(3, PHONE_OPEN)}
  {_width(0, PHONE_QUEUE_MODEL, "status")}
  {_width(1, PHONE_QUEUE_STATUS, "status")}
  #status .body-cell[data-col='0'] {{ overflow-wrap: anywhere; }}
  #board .body-cell[data-col='1'] {{ overflow-wrap: anywhere; }}
  #board .cell-wrap {{ padding: 4px !important; font-size: 13px; }}
  #board th[data-heading='1'], #board .body-cell[data-col='1'] {{ left: {PHONE_RANK}px; }}
  #board .unranked-mark {{ display: block; }}
}}
"""

# Header tooltips (Gradio sets each header's title to its own text) and sorting on a header click (by the
# server: Gradio 6.31's own sort, from a column's ⋮ menu, would mix ranked and unranked rows; that menu is hidden).
HEAD = url_state.HASH_TO_QUERY + """<script>
(() => {
  const TIPS = %s;
  const ASCENDING_FIRST = new Set(["Rank", "Model"]);
  const headerName = (th) => (th.querySelector(".header-content span") || th).textContent.trim();
  let pending = false;
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
  const decorate = () => {
    pending = false;
    const sorted = currentSort();
    document.querySelectorAll("#board th[data-heading]").forEach((th) => {
      const name = headerName(th);
      const tip = TIPS[name];
      if (tip && th.title !== tip) th.title = tip;
      const order = name === sorted.name ? (sorted.descending ? "descending" : "ascending") : null;
      if (order && th.getAttribute("aria-sort") !== order) th.setAttribute("aria-sort", order);
      else if (!order && th.hasAttribute("aria-sort")) th.removeAttribute("aria-sort");
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
    .observe(document.documentElement, {childList: true, subtree: true});
  // The server sorts (ranked rows stay above unranked and reference rows whatever the key): a header click
  // writes "Column:desc" into the hidden #board-sort box; a second click on the same header reverses it.
  const sortBox = () => document.querySelector("#board-sort textarea, #board-sort input");
  const currentSort = () => {
    const text = (sortBox() || {}).value || "";
    const cut = text.lastIndexOf(":");
    return cut < 0 ? {name: null, descending: false} : {name: text.slice(0, cut), descending: text.slice(cut + 1) === "desc"};
  };
  document.addEventListener("click", (event) => {
    const th = event.target.closest("#board th[data-heading]");
    const box = sortBox();
    if (!th || !box) return;
    event.preventDefault();
    event.stopPropagation();
    const name = headerName(th);
    const sorted = currentSort();
    const descending = sorted.name === name ? !sorted.descending : !ASCENDING_FIRST.has(name);
    box.value = `${name}:${descending ? "desc" : "asc"}`;
    box.dispatchEvent(new Event("input", {bubbles: true}));
  }, true);
})();
</script>""" % json.dumps(HEADER_TIPS)


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
                    f"([arXiv {PAPER.arxiv}]({PAPER.url})). *Research use only — not for clinical use.*")
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
                build_moderation_tab(board)
        for tab, name in zip((board_tab, submit_tab, explore_tab, about_tab), url_state.TABS):
            tab.select(None, js=url_state.keep_tab(name), **PRIVATE)
        about_tab.select(lambda: live_sections(board), outputs=agreement, **PRIVATE)
        # The tab the address names is chosen after the Moderate tab's visibility is set (that resets the choice).
        demo.load(moderation_visible(board), outputs=moderate_tab, **PRIVATE).then(
            opened_tab, inputs=address, outputs=tabs, js=url_state.READ_ADDRESS, **PRIVATE).then(
            None, js=url_state.OPENED, **PRIVATE)
        board_tab.select(ranked.refresh, inputs=ranked.inputs, outputs=ranked.outputs, **PRIVATE)
        for opened in (demo.load, submit_tab.select):  # the queue is current whenever it is seen
            opened(submitted.refresh, inputs=submitted.inputs, outputs=submitted.outputs, **PRIVATE)
        submitted.submitted.then(ranked.refresh, inputs=ranked.inputs, outputs=ranked.outputs, **PRIVATE)
    return demo
