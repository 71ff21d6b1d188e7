"""The board's table logic and plots: paper rows, submission rows, ranking, filters, export."""
from __future__ import annotations

import csv
import html
import io
import json
import math
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from core.results import DatasetInfo, Results
from core.vocabulary import CRITERION_KEYS, DIMENSIONS
from judge import Endpoint, score_submission
from leaderboard import board, intervals, plots, stats
from leaderboard.service import PAPER_CSV
from tests.judge_responders import fixed_judge
from tests.openai_server import OpenAIServer


@pytest.fixture(scope="module")
def paper() -> pd.DataFrame:
    return board.paper_frame(PAPER_CSV)


PER_DIMENSION = 20
CLASSES = ["Diagnosis", "clinical decision support", "Something Else"]


def synthetic_questions() -> list[dict]:
    """20 MCQs per dimension (classes cycling through two paper classes and an unknown one) + 3 open."""
    rows = []
    for d, dimension in enumerate(DIMENSIONS):
        for k in range(PER_DIMENSION):
            rows.append({"id": f"mcq-{d * 100 + k}", "question_type": "mcq", "question": "q", "answer": "A",
                         "options": ["a", "b", "c", "d", "e"], "visual_description": "",
                         "dimension": dimension.slug, "medical_intelligence": CLASSES[k % 3],
                         "modality": "CT", "organ_system": "chest"})
    rows += [{"id": f"open-{k}", "question_type": "open", "question": "q", "answer": "effusion", "options": [],
              "visual_description": "fluid", "dimension": DIMENSIONS[k].slug, "medical_intelligence": "Diagnosis",
              "modality": "CT", "organ_system": "chest"} for k in range(3)]
    return rows


@pytest.fixture(scope="module")
def judge_server():
    with OpenAIServer(fixed_judge({name: 0 for name in CRITERION_KEYS})) as server:
        yield server


OFFICIAL = DatasetInfo(fingerprint="f-official", questions=20_654, official=True)
SAMPLE = DatasetInfo(fingerprint="f-sample", questions=35, official=False)


@pytest.fixture(scope="module")
def results_doc(judge_server):
    """Results documents produced by the judge itself (`score_submission`) for chosen outcomes."""
    def make(mcq: float, grades: dict | int | None, *, spread: bool = False, answered: int = PER_DIMENSION,
             dataset: DatasetInfo = OFFICIAL, judge_model: str = "judge-x") -> Results:
        """`mcq`% right in every dimension (plus 5 points per dimension with `spread`), the first
        `answered` MCQs of each dimension answered; open answers judged with `grades` (one grade
        0-10 for all four criteria, or a dict), or awaiting a judge (None); scored on `dataset`."""
        predictions = []
        for d, _ in enumerate(DIMENSIONS):
            right = round((mcq + (5 * d if spread else 0)) * PER_DIMENSION / 100)
            predictions += [{"id": f"mcq-{d * 100 + k}", "prediction": "A" if k < right else "B"}
                            for k in range(answered)]
        predictions += [{"id": f"open-{k}", "prediction": "Reasoning: fluid. Answer: effusion"} for k in range(3)]
        endpoint = None
        if grades is not None:
            judge_server.responder = fixed_judge(grades if isinstance(grades, dict)
                                                 else dict.fromkeys(CRITERION_KEYS, grades))
            endpoint = Endpoint(base_url=judge_server.base_url, model=judge_model, api_key="k", max_retries=0)
        return score_submission(predictions, synthetic_questions(), endpoint=endpoint, dataset=dataset)
    return make


def meta(model: str, **extra) -> dict:
    return {"id": f"sub-{model}", "model": model, "link": "", "weights": "open", "medical": 0, "params_b": None,
            "created_at": "2026-11-25T08:00:00Z", **extra}


def test_paper_rows_carry_all_18_models_with_their_notes(paper):
    assert len(paper) == 18
    assert set(paper["Source"]) == {"paper"}
    gpt5 = paper.set_index("Model").loc["GPT-5"]
    assert gpt5["MCQ"] == 57.81 and gpt5["Open"] == 48.70 and gpt5["LTG"] == 55.19
    assert gpt5["CDS"] == 65.42 and gpt5["GT"] == 34.65
    assert math.isnan(gpt5["Params (B)"]) and gpt5["Weights"] == "closed"
    gemini_note = paper.set_index("Model").loc["Gemini-2.5-Pro", "Note"]
    assert "gives 45.88" in gemini_note
    # the SU/MSI label note concerns every row alike: the page says it once, not in each row
    assert not any("SU/MSI" in note for note in paper["Note"])
    assert (paper["Note"] == "").sum() == 16  # two rows carry their own note
    assert paper.set_index("Model").loc["MedGemma-4B", "Domain"] == "medical"
    assert gpt5["Id"] == "paper:GPT-5" and paper["Id"].is_unique
    low, high = stats.wilson_interval(57.81, stats.PAPER_MCQ_N)
    assert (gpt5["MCQ low"], gpt5["MCQ high"]) == (round(low, 2), round(high, 2)) == (57.06, 58.56)


def test_a_paper_csv_without_a_figure_shows_it_empty_and_without_a_score_says_which_column(tmp_path, paper):
    table = list(csv.DictReader(PAPER_CSV.open(encoding="utf-8")))
    dropped = DIMENSIONS[-1].abbr  # as if the vocabulary had a dimension the paper never reported
    written = tmp_path / "paper_results.csv"
    with written.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, [c for c in table[0] if c != dropped])
        writer.writeheader()
        writer.writerows({k: v for k, v in row.items() if k != dropped} for row in table)
    shown = board.paper_frame(written)
    assert shown[dropped].isna().all() and list(shown["MCQ"]) == list(paper["MCQ"])
    with written.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, [c for c in table[0] if c != "mcq_all"])
        writer.writeheader()
        writer.writerows({k: v for k, v in row.items() if k != "mcq_all"} for row in table)
    with pytest.raises(ValueError, match=r"paper_results\.csv: no column mcq_all \(its header: model, group"):
        board.paper_frame(written)


def test_submission_record_maps_slugs_and_paper_classes(results_doc):
    grades = {"consistency": 9, "coherence": 8, "visual_accuracy": 3, "ground_truth": 2}
    results = results_doc(50.0, grades, spread=True)
    row = board.submission_record(meta("M", params_b=7.0, medical=1, link="https://x.org"), results)
    assert row["Source"] == "scored here" and row["Model"] == "M"
    assert row["MCQ"] == 65.0 and row["Open"] == 37.0  # (90 + 80 + 4*30 + 4*20) / 10
    assert [row[a] for a in board.COLUMN_GROUPS["Dimensions"]] == [50.0 + 5 * i for i in range(7)]
    classes = results.mcq.by_medical_intelligence
    assert row["DX"] == round(classes["Diagnosis"].accuracy, 2)
    assert row["CDS"] == round(classes["clinical decision support"].accuracy, 2)
    shown = [c for c in board.COLUMN_GROUPS["Medical intelligence"] if not math.isnan(row[c])]
    assert shown == ["CDS", "DX"]  # "Something Else" stays in the results document only
    assert (row["Con"], row["Coh"], row["VA"], row["GT"]) == (90.0, 80.0, 30.0, 20.0)
    assert row["Domain"] == "medical" and row["Params (B)"] == 7.0 and row["Link"] == "https://x.org"
    assert row["Submitted"] == "2026-11-25" and row["Judge"] == "judge-x"
    assert row["Id"] == "sub-M" and row["Build"] == "f-official" and row["Coverage (%)"] == 100.0
    assert (row["MCQ low"], row["MCQ high"]) == tuple(round(v, 2) for v in results.mcq.ci95)
    assert row["Judge prompt"] == results.judge.prompt_version != ""


def test_awaiting_submission_has_no_open_score_and_says_so(results_doc):
    row = board.submission_record(meta("M"), results_doc(50.0, None))
    assert math.isnan(row["Open"]) and row["Judge"] == board.AWAITING_JUDGE
    assert "3 open answers awaiting judge" in row["Note"]


def test_rank_orders_by_mcq_then_open_and_equal_mcq_shares_a_rank(paper, results_doc):
    rows = [board.submission_record(meta(name), results_doc(mcq, grade))
            for name, mcq, grade in [("tie-low", 60.0, 1), ("tie-high", 60.0, 3),
                                     ("same", 60.0, 3), ("best", 90.0, None)]]
    ranked = board.rank(pd.concat([paper, board.frame(rows)], ignore_index=True), OFFICIAL)
    assert list(ranked["Model"][:4]) == ["best", "tie-high", "same", "tie-low"]  # Open orders equal MCQ
    # Open (judged by different judges on other rows) breaks no tie: equal MCQ is one rank
    assert list(ranked["Rank"][:5]) == [1, 2, 2, 2, 5]
    assert ranked.loc[4, "Model"] == "GPT-5"
    assert list(ranked.columns) == board.COLUMNS
    assert (ranked["Unranked"] == "").all()


def test_rank_bands_join_rows_whose_mcq_intervals_overlap(paper, results_doc):
    # 140 MCQs: 60% has a Wilson interval of about ±8 points, so it overlaps GPT-5's 57.81%
    rows = [board.submission_record(meta("close"), results_doc(60.0, 3)),
            board.submission_record(meta("far"), results_doc(95.0, 3))]
    ranked = board.rank(pd.concat([paper, board.frame(rows)], ignore_index=True), OFFICIAL).set_index("Model")
    assert ranked.loc["far", "Band"] == "1"
    assert ranked.loc["close", "Band"] == ranked.loc["GPT-5", "Band"] == "2–3"
    assert ranked.loc["Gemini-2.5-Pro", "Band"] == "4–5"  # still tied with Qwen3-VL-235B only
    assert ranked.loc["MedGemma-4B", "Band"] == "20"


def test_open_is_ranked_only_among_rows_of_the_same_judge_and_prompt(paper, results_doc):
    rows = [board.submission_record(meta("judge-a-high"), results_doc(50.0, 9, judge_model="judge-a")),
            board.submission_record(meta("judge-a-low"), results_doc(50.0, 1, judge_model="judge-a")),
            board.submission_record(meta("judge-b"), results_doc(50.0, 5, judge_model="judge-b"))]
    ranked = board.rank(pd.concat([paper, board.frame(rows)], ignore_index=True), OFFICIAL).set_index("Model")
    assert ranked.loc["judge-a-high", "Open band"] == "1" and ranked.loc["judge-a-low", "Open band"] == "2"
    assert ranked.loc["judge-b", "Open band"] == "1"  # alone with its judge, whatever the paper's scores
    assert ranked.loc["InternVL3.5-241B-A28B", "Open band"] == "2"  # 47.88: second among the paper's rows
    assert ranked.loc["GPT-5", "Judge"] == board.PAPER_JUDGE


def test_rows_on_another_build_or_partial_are_unranked_below_the_ranked_rows(paper, results_doc):
    rows = [board.submission_record(meta("other-build"), results_doc(99.0, None, dataset=SAMPLE)),
            board.submission_record(meta("partial"), results_doc(99.0, None, answered=PER_DIMENSION - 2)),
            board.submission_record(meta("full"), results_doc(80.0, None))]
    ranked = board.rank(pd.concat([paper, board.frame(rows)], ignore_index=True), OFFICIAL)
    assert list(ranked["Model"][:2]) == ["full", "GPT-5"] and list(ranked["Rank"][:2]) == [1, 2]
    tail = ranked.iloc[-2:].set_index("Model")
    assert set(tail.index) == {"other-build", "partial"}
    assert tail["Rank"].isna().all() and (tail["Band"] == "—").all()
    assert tail.loc["other-build", "Unranked"] == board.UNRANKED_OTHER_BUILD
    assert tail.loc["partial", "Unranked"] == "partial: 90% of the MCQs answered (< 95%)"
    assert ranked["Rank"].max() == 19  # 18 paper rows and one comparable submission


def test_on_a_sample_build_submissions_are_never_ranked_among_the_papers_rows(paper, results_doc):
    rows = [board.submission_record(meta("sample-best"), results_doc(100.0, None, dataset=SAMPLE))]
    ranked = board.rank(pd.concat([paper, board.frame(rows)], ignore_index=True), SAMPLE)
    last = ranked.iloc[-1]
    assert last["Model"] == "sample-best" and math.isnan(last["Rank"]) and last["Band"] == "—"
    assert last["Unranked"] == board.UNRANKED_SAMPLE_BUILD
    assert list(ranked["Rank"][:18]) == list(range(1, 19))  # the paper's own ranking, untouched


def test_filters_and_search(paper, results_doc):
    ranked = board.rank(pd.concat([paper, board.frame([board.submission_record(
        meta("My-Qwen=1", params_b=40.0, weights="closed"), results_doc(10.0, None))])],
        ignore_index=True))
    assert set(board.filter_board(ranked, search="qwen3-vl")["Model"]) == {
        "Qwen3-VL-8B", "Qwen3-VL-30B-A3B", "Qwen3-VL-32B", "Qwen3-VL-235B-A22B"}
    assert set(board.filter_board(ranked, search="gpt; lingshu")["Model"]) == {
        "GPT-5", "Lingshu-7B", "Lingshu-32B"}
    assert board.filter_board(ranked, search="(").empty  # plain text, not a regex
    assert set(board.filter_board(ranked, groups=["closed"])["Model"]) == {
        "GPT-5", "Gemini-2.5-Pro", "My-Qwen=1"}
    medical = board.filter_board(ranked, kinds=["medical"])
    assert set(medical["Model"]) == {"MedGemma-4B", "MedGemma-27B", "Lingshu-7B", "Lingshu-32B"}
    assert set(board.filter_board(ranked, sizes=["unknown"])["Model"]) == {"GPT-5", "Gemini-2.5-Pro"}
    assert set(board.filter_board(ranked, sizes=[">40B"])["Model"]) == {
        "Qwen2.5-VL-72B", "InternVL3.5-241B-A28B", "Qwen3-VL-235B-A22B"}
    assert "My-Qwen=1" in set(board.filter_board(ranked, sizes=["10-40B"])["Model"])
    assert list(board.filter_board(ranked, sources=["scored here"])["Model"]) == ["My-Qwen=1"]
    both = board.filter_board(ranked, search="qwen", sources=["paper"], sizes=["<10B"])
    assert list(both["Model"]) == ["Qwen3-VL-8B", "Qwen2.5-VL-7B"]
    assert len(board.filter_board(ranked)) == 19


def test_visible_columns_keep_rank_and_model(paper):
    shown = board.visible_columns(board.rank(paper), ["Dimensions"])
    assert list(board.visible_columns(board.rank(paper), ["Overview"]).columns) == [
        "Rank", "Model", "MCQ", "Open", "Source"]
    assert list(shown.columns) == ["Rank", "Model", *board.COLUMN_GROUPS["Dimensions"]]
    assert list(board.visible_columns(board.rank(paper), board.COLUMN_GROUPS).columns) == board.COLUMNS


def test_export_csv_neutralises_formulas_and_keeps_numbers(paper, results_doc):
    evil = [board.submission_record(meta(name, link=""), results_doc(10.0, None))
            for name in ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tTab", "\rCR", "ok"]]
    df = board.rank(board.frame(evil))
    rows = list(csv.DictReader(io.StringIO(board.export_csv(df).decode("utf-8"), newline="")))
    models = [r["Model"] for r in rows]
    assert len(rows) == 7 and all(m == "ok" or m.startswith("'") for m in models)
    assert {"'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tTab", "'\rCR"} <= set(models)
    assert {r["MCQ"] for r in rows} == {"10.0"}


def test_export_json_round_trips_with_nulls(paper):
    data = json.loads(board.export_json(board.rank(paper)))
    assert len(data) == 18 and data[0]["Model"] == "GPT-5" and data[0]["Rank"] == 1
    assert data[0]["Params (B)"] is None and data[0]["MCQ"] == 57.81


def test_plots_build_and_call_out_the_weakest_dimension(paper):
    ranked = board.rank(paper)
    radar = plots.dimension_chart(ranked, ["paper:GPT-5", "paper:MedGemma-4B", "paper:GPT-5", "nope",
                                           "paper:Lingshu-7B", "paper:Gemma3-4B", "paper:Qwen3-VL-8B",
                                           "paper:Lingshu-32B"])
    names = [trace.name for trace in radar.data]
    assert len(names) == 4  # five asked for after de-duplication, one unknown
    assert names[0] == "GPT-5 · paper (weakest: LTG 55.2)"
    assert names[1] == "MedGemma-4B · paper (weakest: SU 13.1)"
    # the radial axis spans the shown scores: MedGemma-4B's 13.1 to GPT-5's 71.5, in steps of ten
    assert tuple(radar.layout.polar.radialaxis.range) == (0, 80)
    assert radar.layout.paper_bgcolor == "rgba(0,0,0,0)"  # follows the page in dark mode
    scatter = plots.score_vs_size(ranked)
    points = sum(len(t.x) for t in scatter.data)
    assert points == 16 and "2 with unknown size" in scatter.layout.title.text
    by_name = {t.name: t for t in scatter.data}
    assert {"medical · open weights", "general · open weights"} <= set(by_name)
    assert by_name["medical · open weights"].marker.color != by_name["general · open weights"].marker.color


def test_scatter_labels_never_overlap_and_stay_inside(paper):
    scatter = plots.score_vs_size(board.rank(paper))
    labels = [(math.log10(x), y, text, position) for t in scatter.data
              for x, y, text, position in zip(t.x, t.y, t.text, t.textposition) if text]
    assert 2 <= len(labels) <= plots.MAX_LABELS
    assert "Qwen3-VL-235B-A22B" in [text for *_, text, _ in labels]  # the best sized model is named
    for i, (x, y, *_) in enumerate(labels):
        for x2, y2, *_ in labels[i + 1:]:
            assert abs(x - x2) >= 0.8 or abs(y - y2) >= 3.5
    middle = sum(scatter.layout.xaxis.range) / 2
    # a label grows towards the middle of the plot, never past its edge
    assert all((position == "middle left") == (x > middle) for x, _, _, position in labels)


def test_empty_views_say_so_instead_of_drawing_empty_axes(paper):
    empty = plots.score_vs_size(board.rank(paper).iloc[0:0])
    assert empty.data == () and empty.layout.annotations[0].text == "No models match the filters"
    assert empty.layout.xaxis.visible is False
    radar = plots.dimension_chart(board.rank(paper), [])
    assert radar.data == () and "Choose up to five models" in radar.layout.annotations[0].text


def test_plots_pick_rows_by_id_never_by_display_name(paper, results_doc):
    hostile = "<b>Bold</b> %{x} VL"
    records = [board.submission_record(meta(hostile, params_b=7.0), results_doc(50.0, None)),
               board.submission_record({**meta("GPT-5"), "id": "sub-impostor"}, results_doc(10.0, None))]
    ranked = board.rank(pd.concat([paper, board.frame(records)], ignore_index=True), OFFICIAL)
    radar = plots.dimension_chart(ranked, [f"sub-{hostile}"])
    assert radar.data[0].name.startswith("&lt;b&gt;Bold&lt;/b&gt; %{x} VL · scored here (weakest:")
    assert hostile not in radar.data[0].hovertemplate
    impostor = plots.dimension_chart(ranked, ["sub-impostor"]).data[0]
    assert impostor.name.startswith("GPT-5 · scored here") and list(impostor.r[:7]) == [10.0] * 7
    paper_row = plots.dimension_chart(ranked, ["paper:GPT-5"]).data[0]
    assert paper_row.name.startswith("GPT-5 · paper") and paper_row.r[0] == 66.08
    scatter = plots.score_vs_size(ranked)
    scored = next(t for t in scatter.data if t.name == "general · open weights · scored here")
    assert [c[0] for c in scored.customdata] == ["&lt;b&gt;Bold&lt;/b&gt; %{x} VL"]


def test_paper_rows_link_to_each_models_own_page(paper, tmp_path):
    rows = paper.set_index("Model")
    for model, row in rows.iterrows():
        if row["Weights"] == "open":  # the Hub card of an open model
            assert row["Link"].startswith("https://huggingface.co/") and row["Link"].count("/") == 4, model
        else:  # the vendor's page of a closed one
            assert row["Link"].startswith("https://") and "huggingface.co" not in row["Link"], model
    assert rows.loc["Lingshu-7B", "Link"] == "https://huggingface.co/lingshu-medical-mllm/Lingshu-7B"
    assert rows["Link"].is_unique
    table = list(csv.DictReader(PAPER_CSV.open(encoding="utf-8")))
    for field, value, said in (("hub_id", "javascript:alert(1)", "not a Hub id"), ("hub_id", "a/../b", "not a Hub id"),
                               ("vendor_url", "http://example.com/gpt", "not an https address")):
        written = tmp_path / "paper_results.csv"
        with written.open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, list(table[0]))
            writer.writeheader()
            writer.writerows([{**table[0], "hub_id": "", "vendor_url": "", field: value}, *table[1:]])
        with pytest.raises(ValueError, match=rf"model GPT-5: {field} .* {said}"):
            board.paper_frame(written)
    with written.open("w", encoding="utf-8", newline="") as out:  # neither: the paper is the row's page
        writer = csv.DictWriter(out, list(table[0]))
        writer.writeheader()
        writer.writerows([{**table[0], "hub_id": "", "vendor_url": ""}, *table[1:]])
    assert board.paper_frame(written).set_index("Model").loc["GPT-5", "Link"] == board.PAPER_URL


def test_sorting_keeps_ranked_rows_above_unranked_and_reference_rows_whatever_the_key(paper, results_doc):
    rows = [board.submission_record(meta("sample-best"), results_doc(100.0, None, dataset=SAMPLE)),
            board.submission_record(meta("Aardvark"), results_doc(90.0, None, dataset=SAMPLE)),
            board.reference_record("random", "Random letter", "chance", results_doc(20.0, None, dataset=OFFICIAL))]
    ranked = board.rank(pd.concat([paper, board.frame(rows)], ignore_index=True), OFFICIAL)

    def groups(view: pd.DataFrame) -> list[int]:
        return [2 if source == board.REFERENCE else 0 if not math.isnan(rank) else 1
                for source, rank in zip(view["Source"], view["Rank"])]

    for sort in ("MCQ:desc", "MCQ:asc", "Model:asc", "Model:desc", "Rank:desc", "Rank:asc", "Params (B):desc",
                 "Note:asc", "Link:desc"):
        view = board.sort_board(ranked, sort)
        assert groups(view) == sorted(groups(view)), sort  # ranked, then unranked, then reference
        assert sorted(view["Id"]) == sorted(ranked["Id"]), sort
    by_mcq = board.sort_board(ranked, "MCQ:desc")
    assert by_mcq.iloc[0]["Model"] == "GPT-5" and list(by_mcq["Model"][18:20]) == ["sample-best", "Aardvark"]
    assert list(board.sort_board(ranked, "MCQ:asc")["Model"][:1]) == ["MedGemma-4B"]
    by_name = board.sort_board(ranked, "Model:asc")
    assert list(by_name["Model"][:18]) == sorted(paper["Model"], key=board.natural_key)
    assert by_name["Model"].tolist().index("Qwen3-VL-8B") < by_name["Model"].tolist().index("Qwen3-VL-32B")
    assert list(by_name["Model"][18:20]) == ["Aardvark", "sample-best"]
    by_size = board.sort_board(ranked, "Params (B):desc")  # unknown sizes last among the ranked rows
    assert by_size.iloc[0]["Model"] == "InternVL3.5-241B-A28B"
    assert by_size.iloc[:18]["Params (B)"].isna().tolist()[-2:] == [True, True]
    for unknown in (None, "", "MCQ", "MCQ:sideways", "Nope:desc", "x" * 10_000, ":desc"):
        assert board.sort_board(ranked, unknown).equals(ranked), unknown


SVG = "{http://www.w3.org/2000/svg}"


def interval_rows(svg: str) -> list[dict]:
    """Every drawn row of the interval chart, top first: its hover text, shown band and name, the interval's
    ends and the marker's place on the x axis, and its colour (parsing it also proves the text was escaped)."""
    rows = []
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        texts = [t.text for t in group.findall(f"{SVG}text")]
        line = group.find(f"{SVG}line")
        marker = group.find(f"{SVG}circle")
        x = float(marker.get("cx")) if marker is not None else float(group.findall(f"{SVG}rect")[1].get("x")) + 4
        rows.append({"hover": group.find(f"{SVG}title").text, "band": texts[0], "name": texts[1],
                     "low": float(line.get("x1")), "high": float(line.get("x2")), "x": x,
                     "colour": line.get("stroke"), "square": marker is None})
    return rows


def test_interval_chart_draws_the_ranked_rows_best_first_with_the_boards_intervals(paper, results_doc):
    records = [board.submission_record(meta("full", params_b=7.0), results_doc(55.0, None)),
               board.submission_record(meta("other-build"), results_doc(99.0, None, dataset=SAMPLE)),
               board.reference_record("random", "Random letter", "chance", results_doc(20.0, None))]
    ranked = board.rank(pd.concat([paper, board.frame(records)], ignore_index=True), OFFICIAL)
    svg = intervals.mcq_interval_svg(board.sort_board(ranked, "Model:asc"))  # any order in, best first out
    drawn = interval_rows(svg)
    comparable = ranked[ranked["Rank"].notna()].sort_values("MCQ", ascending=False)
    assert len(drawn) == len(comparable) == 19  # 18 paper rows and the comparable submission
    assert [row["name"] for row in drawn] == list(comparable["Model"])
    assert {"other-build", "Random letter"}.isdisjoint(row["name"] for row in drawn)
    assert "2 unranked or reference rows not drawn: not comparable" in svg
    for row, (_, expected) in zip(drawn, comparable.iterrows()):
        assert (f"MCQ {expected['MCQ']:.2f}% (95% interval {expected['MCQ low']:.2f}–{expected['MCQ high']:.2f}), "
                f"rank {expected['Band']}") in row["hover"]
        assert row["band"] == expected["Band"] and row["low"] < row["x"] < row["high"]
    assert [row["x"] for row in drawn] == sorted((row["x"] for row in drawn), reverse=True)  # one axis for all
    full = next(row for row in drawn if row["name"] == "full")
    assert full["hover"].startswith("full · scored here") and full["colour"] == plots.DOMAIN_COLOURS["general"]
    assert next(row for row in drawn if row["name"] == "GPT-5")["square"]  # closed weights: a square
    fewer = intervals.mcq_interval_svg(ranked.iloc[:10])  # more rows, a taller chart: labels keep their room
    height = [float(ET.fromstring(chart).get("viewBox").split()[3]) for chart in (svg, fewer)]
    assert height[0] - height[1] == 9 * intervals.ROW_HEIGHT + 18  # and the note under it


def test_interval_chart_escapes_names_and_draws_namesakes_apart(paper, results_doc):
    hostile = "<b>Bold</b> & <img src=x onerror=alert(1)> ]]> and a name far too long to fit beside the axis"
    records = [board.submission_record(meta(hostile), results_doc(50.0, None)),
               board.submission_record({**meta("GPT-5"), "id": "sub-twin"}, results_doc(50.0, None))]
    ranked = board.rank(pd.concat([paper, board.frame(records)], ignore_index=True), OFFICIAL)
    svg = intervals.mcq_interval_svg(ranked)
    drawn = interval_rows(svg)  # it parses: no name broke out of its text
    shown = next(row for row in drawn if row["name"].startswith("<b>Bold"))
    assert shown["hover"].startswith(hostile + " · scored here")  # whole on hover
    assert shown["name"].endswith("…") and len(shown["name"]) == intervals.NAME_CHARS
    assert not any(element.tag in (f"{SVG}b", f"{SVG}img") for element in ET.fromstring(svg).iter())
    assert [row["name"] for row in drawn].count("GPT-5") == 2 and len(drawn) == 20  # the paper's and its namesake


def test_an_interval_chart_without_ranked_rows_says_so(paper, results_doc):
    empty = intervals.mcq_interval_svg(board.rank(paper).iloc[0:0])
    assert interval_rows(empty) == [] and "No ranked model matches the filters" in empty
    unranked = board.rank(board.frame([board.submission_record(meta("sample"), results_doc(50.0, None,
                                                                                          dataset=SAMPLE))]),
                          OFFICIAL)
    only = intervals.mcq_interval_svg(unranked)
    assert interval_rows(only) == [] and "(1 unranked or reference row not drawn: not comparable)" in only


def test_a_radar_pick_past_the_limit_is_undone_and_said_so():
    picks = [f"paper:{n}" for n in range(plots.MAX_MODELS + 1)]
    assert plots.radar_picks(picks[:plots.MAX_MODELS]) == (picks[:plots.MAX_MODELS], "")
    kept, message = plots.radar_picks(picks)
    assert kept == picks[:plots.MAX_MODELS]  # the sixth, picked last, goes; the five before it stay
    assert message == "The radar compares at most 5 models: remove one to add another."
    assert plots.radar_picks(None) == ([], "") and plots.radar_picks(["a", "a", ""]) == (["a"], "")


def test_rank_bands_sort_by_their_first_rank_not_as_text(paper):
    ranked = board.rank(paper)
    by_band = board.sort_board(ranked, "Band:asc")
    firsts = [int(band.split("–")[0]) for band in by_band["Band"]]
    assert firsts == sorted(firsts) and firsts[-1] == 18  # "10" after "9", not after "1"
    assert list(board.sort_board(ranked, "Band:desc")["Band"])[0] == "18"


def test_the_size_chart_draws_only_ranked_rows_like_the_interval_chart(paper, results_doc):
    records = [board.submission_record(meta("Tiny-7B", params_b=7.0), results_doc(52.0, None, dataset=SAMPLE)),
               board.submission_record(meta("Ranked-7B", params_b=7.0), results_doc(30.0, None))]
    ranked = board.rank(pd.concat([paper, board.frame(records)], ignore_index=True), OFFICIAL)
    scatter = plots.score_vs_size(ranked)
    drawn = [name for trace in scatter.data for name, _ in trace.customdata]
    assert "Ranked-7B" in drawn and "Tiny-7B" not in drawn  # a sample-build row never sits on the paper's axes
    assert "1 unranked row not drawn: not comparable" in scatter.layout.title.text
    only = plots.score_vs_size(ranked[ranked["Id"] == "sub-Tiny-7B"])
    assert only.data == () and "No ranked model" in only.layout.annotations[0].text


def test_names_and_ids_sort_naturally() -> None:
    names = ["Qwen3-VL-32B", "mcq-10", "Qwen3-VL-8B", "mcq-2", "qwen3-vl-4b", "Gemma3-27B", "Gemma3-4B"]
    assert sorted(names, key=board.natural_key) == ["Gemma3-4B", "Gemma3-27B", "mcq-2", "mcq-10", "qwen3-vl-4b",
                                                    "Qwen3-VL-8B", "Qwen3-VL-32B"]


def test_the_best_ranked_score_of_each_column_is_marked_and_only_comparable_rows_compete(paper, results_doc):
    records = [board.submission_record(meta("sample-best"), results_doc(100.0, 10, dataset=SAMPLE)),
               board.reference_record("random", "Random letter", "chance", results_doc(99.0, None))]
    ranked = board.rank(pd.concat([paper, board.frame(records)], ignore_index=True), OFFICIAL)
    best = board.best_in_column(ranked)
    assert best["MCQ"] == {"paper:GPT-5"}  # not the unranked 100% row, nor the reference row
    for dimension in DIMENSIONS:  # each dimension's own best among the paper's rows
        column = paper[dimension.abbr]
        assert best[dimension.abbr] == set(paper.loc[column == column.max(), "Id"]), dimension.abbr
    assert best["Open"] == {f"paper:{paper.loc[paper['Open'].idxmax(), 'Model']}"}  # within the paper's judge
    assert board.best_in_column(ranked.iloc[:1]) == {}  # one row alone is nobody's best


def test_the_pages_first_screen_escapes_a_hostile_model_name(paper, results_doc):
    from space.routes import preview_html

    hostile = '<img src=x onerror=alert(1)></td></table><script>alert(2)</script>'
    records = [board.submission_record(meta(hostile, link="javascript:alert(3)"), results_doc(90.0, None))]
    ranked = board.rank(pd.concat([paper, board.frame(records)], ignore_index=True), OFFICIAL)

    class Shown:
        dataset = OFFICIAL

        def board(self) -> pd.DataFrame:
            return ranked

    preview = preview_html(Shown())
    assert html.escape(hostile) in preview  # ranked first, shown as text
    assert "<img" not in preview and "alert(2)</script>" not in preview and "javascript:" not in preview
    assert preview.count("<tr") == 1 + len(ranked) and "<sup>" not in preview  # the header and every row
    assert "MCQ</b>: % of the multiple-choice questions" in preview and "Small-object Detection" in preview
    assert "MCQ accuracy with its 95% interval" in preview  # the interval chart comes with the page
    assert 'tabindex="0"' not in preview and preview.count('tabindex="-1"') == 18  # no link takes the focus
