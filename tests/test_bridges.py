"""Bridges to VLMEvalKit and lmms-eval: what we export is what each tool reads, and what each tool
writes scores exactly like our own JSONL of the same answers.

Neither tool is installed here (both pull in torch; VLMEvalKit is not on PyPI for this Python), so
their files are made the way their source makes them; each step names the file and function of the
tool's repository it follows (VLMEvalKit at open-compass/VLMEvalKit, lmms-eval at
EvolvingLMMs-Lab/lmms-eval, read at their main branches of August 2026).
"""
from __future__ import annotations

import ast
import base64
import csv
import dataclasses
import importlib.util
import io
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image

import medcmr
from bridges import lmms_tasks, merge
from judge import Endpoint, PredictionsError, read_predictions, score_submission
from judge.circular import read_circular, score_circular
from judge.predictions import CIRCULAR_INDEX_OFFSET, OPEN_INDEX_OFFSET
from tests.judge_responders import fake_judge
from tests.openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parent.parent
TASKS = ROOT / "bridges" / "lmms_eval"


@pytest.fixture(scope="module")
def answers(questions: list[dict]) -> dict[str, str]:
    """A model's raw outputs: right and wrong letters in several styles, open answers, one empty, one missing."""
    result = {}
    for number, question in enumerate(questions[:-1]):
        if question["question_type"] == "mcq":
            letter = question["answer"] if number % 3 else "ABCDE"[("ABCDE".index(question["answer"]) + 1) % 5]
            result[question["id"]] = [letter, f"Answer: {letter}", f"The answer is ({letter})."][number % 3]
        else:
            result[question["id"]] = ("" if number % 4 == 0 else
                                      f"Reasoning: {question['visual_description']}\nAnswer: {question['answer']}")
    return result


@pytest.fixture(scope="module")
def judge_server():
    with OpenAIServer(fake_judge) as server:
        yield server


def scores(predictions: list[dict], questions: list[dict], server: OpenAIServer) -> dict:
    """What a user compares: MCQ and open results and coverage, judged over real HTTP (no cache)."""
    results = score_submission(predictions, questions, cache_path=None,
                               endpoint=Endpoint(base_url=server.base_url, model="judge-model", api_key="sk-test"))
    return {key: results.to_dict()[key] for key in ("mcq", "open", "coverage")}


@pytest.fixture(scope="module")
def reference(answers: dict[str, str], questions: list[dict], judge_server: OpenAIServer, tmp_path_factory) -> dict:
    """Our own JSONL of the same answers, scored."""
    path = tmp_path_factory.mktemp("ours") / "predictions.jsonl"
    path.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in answers.items()),
                    encoding="utf-8")
    result = scores(read_predictions(path), questions, judge_server)
    assert result["coverage"]["given"] == len(answers) and 0 < result["mcq"]["accuracy"] < 100
    assert result["open"]["judged"] > result["open"]["empty"] > 0
    return result


# --------------------------------------------------------------------------- VLMEvalKit
@pytest.fixture(scope="module")
def exported(built_dataset: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lmudata")
    assert medcmr.main(["export", "--format", "vlmevalkit", "--data", str(built_dataset), "--out", str(out)]) == 0
    return out


def vlmevalkit_data(tsv: Path) -> pd.DataFrame:
    """The dataset as VLMEvalKit holds it: vlmeval/smp/file.py `load` (load_tsv: pd.read_csv(sep='\\t')),
    then vlmeval/dataset/image_base.py `ImageBaseDataset.__init__` (index to str, back to int if all are)."""
    data = pd.read_csv(tsv, sep="\t")
    data["index"] = [str(x) for x in data["index"]]
    if all(x.isdigit() for x in data["index"]):
        data["index"] = [int(x) for x in data["index"]]
    return data


def vlmevalkit_predictions(data: pd.DataFrame, answers: dict[str, str], path: Path) -> Path:
    """A prediction file as vlmeval/inference.py `infer_data_job` writes it: the dataset's columns with
    `prediction` = str(model output) per index, `image` dropped, saved by vlmeval/smp/file.py `dump`
    (dump_xlsx: DataFrame.to_excel(index=False), engine xlsxwriter there, openpyxl here as xlsxwriter
    is not installed; dump_tsv: to_csv(sep='\\t', index=False, quoting=csv.QUOTE_ALL)).
    The file name follows `get_pred_file_path`: {model}_{dataset}.xlsx / .tsv / .json (env PRED_FORMAT)."""
    def question_id(index: int) -> str:
        return f"open-{index - OPEN_INDEX_OFFSET}" if index >= OPEN_INDEX_OFFSET else f"mcq-{index}"

    data = data.copy()
    data["prediction"] = [str(answers.get(question_id(i), "")) for i in data["index"]]
    data = data[[question_id(i) in answers for i in data["index"]]]  # the question the model skipped
    data.pop("image")
    if path.suffix == ".xlsx":
        data.to_excel(path, index=False, engine="openpyxl")
    elif path.suffix == ".json":  # PRED_FORMAT=json: dump_json, json.dump(to_dict('records'), indent=4)
        path.write_text(json.dumps(data.to_dict("records"), indent=4, ensure_ascii=False), encoding="utf-8")
    else:
        data.to_csv(path, sep="\t", index=False, encoding="utf-8", quoting=csv.QUOTE_ALL)
    return path


def test_the_export_is_what_vlmevalkit_reads_as_custom_mcq_and_vqa(exported: Path, questions: list[dict]) -> None:
    mcq, open_ = (vlmevalkit_data(exported / f"{name}.tsv") for name in ("MedCMR_MCQ", "MedCMR_openended"))
    # vlmeval/dataset/__init__.py `build_dataset`: a TSV with a question column and A and B columns plus
    # image is a CustomMCQDataset; without A/B a CustomVQADataset; `DATASET_TYPE` calls a name with
    # "openended" a VQA dataset.
    assert {"question", "A", "B", "image"} <= set(mcq.columns) and {"A", "B"}.isdisjoint(open_.columns)
    assert "openended" in "MedCMR_openended".lower()
    # ImageBaseDataset: `index` unique integers (across both files too: they may share $LMUData/images);
    # an `image` of 64 characters or fewer would be read as another row's index.
    indices = list(mcq["index"]) + list(open_["index"])
    assert len(set(indices)) == len(questions) == len(indices)
    by_id = {q["id"]: q for q in questions}
    for _, row in mcq.iterrows():
        question = by_id[f"mcq-{row['index']}"]
        assert [row[letter] for letter in medcmr.LETTERS] == question["options"]
        assert (row["question"], row["answer"], row["l2-category"]) == (question["question"], question["answer"],
                                                                       question["subtype"])
        assert medcmr.DIMENSIONS[row["category"]] == question["dimension"]
    for _, row in open_.iterrows():
        question = by_id[f"open-{row['index'] - OPEN_INDEX_OFFSET}"]
        assert row["question"] == medcmr.format_prompt(question)  # ImageBaseDataset.build_prompt sends it as is
        assert row["answer"] == question["answer"]
    # vlmeval/smp/vlm.py `decode_base64_to_image`: b64decode, then PIL.Image.open.
    for encoded in list(mcq["image"]) + list(open_["image"]):
        assert len(encoded) > 64 and Image.open(io.BytesIO(base64.b64decode(encoded))).size[0] > 0
    # run.py `build_dataset_from_config`: each data entry needs a `class` from vlmeval.dataset.
    config = json.loads((exported / "vlmevalkit_config.json").read_text(encoding="utf-8"))
    assert config["data"] == {"MedCMR_MCQ": {"class": "CustomMCQDataset", "dataset": "MedCMR_MCQ"},
                              "MedCMR_openended": {"class": "CustomVQADataset", "dataset": "MedCMR_openended"},
                              "MedCMRCircular_MCQ": {"class": "CustomMCQDataset", "dataset": "MedCMRCircular_MCQ"}}
    assert list(config["model"]) == ["GPT4o"]  # a supported_VLM shortcut in vlmeval/config.py


@pytest.mark.parametrize("suffix", [".xlsx", ".tsv"])
def test_the_circular_export_scores_like_predict_circular(exported: Path, questions: list[dict], tmp_path: Path,
                                                          suffix: str) -> None:
    import fnmatch

    data = vlmevalkit_data(exported / "MedCMRCircular_MCQ.tsv")
    mcqs = {q["id"]: q for q in questions if q["question_type"] == "mcq"}
    assert len(data) == len(medcmr.LETTERS) * len(mcqs) and data["index"].is_unique
    # ImageBaseDataset: an `image` of 64 characters or fewer is another row's index; each resolves to
    # the question's own image, stored once (at rotation 0)
    images = {str(i): str(x) for i, x in zip(data["index"], data["image"])}
    resolved = {i: images[x] if len(x) <= 64 else x for i, x in images.items()}
    plain = vlmevalkit_data(exported / "MedCMR_MCQ.tsv")
    by_question = dict(zip(plain["index"], plain["image"]))
    assert all(resolved[str(i)] == by_question[(i - CIRCULAR_INDEX_OFFSET) % OPEN_INDEX_OFFSET] for i in data["index"])
    assert sum(len(x) > 64 for x in images.values()) == len(mcqs)
    lines = []
    for _, row in data.iterrows():  # each rotation turns the options and the key's letter with them
        rotation, number = divmod(row["index"] - CIRCULAR_INDEX_OFFSET, OPEN_INDEX_OFFSET)
        question = mcqs[f"mcq-{number}"]
        key = question["options"][medcmr.LETTERS.index(question["answer"])]
        assert row[row["answer"]] == key and sorted(row[x] for x in medcmr.LETTERS) == sorted(question["options"])
        assert row["answer"] == medcmr.LETTERS[(medcmr.LETTERS.index(question["answer"]) + rotation) % 5]
        # a model right in the published order, and "A" whenever the options are turned
        lines.append({"id": question["id"], "rotation": rotation,
                      "prediction": f"Answer: {row['answer'] if rotation == 0 else 'A'}"})
    data["prediction"] = [line["prediction"] for line in lines]  # vlmeval/inference.py, as the plain run
    data.pop("image")
    path = tmp_path / f"GPT4o_MedCMRCircular_MCQ{suffix}"
    if suffix == ".xlsx":
        data.to_excel(path, index=False, engine="openpyxl")
    else:
        data.to_csv(path, sep="\t", index=False, encoding="utf-8", quoting=csv.QUOTE_ALL)
    ours = tmp_path / "circular.jsonl"  # the same answers as `predict --circular` writes them
    ours.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    scored = score_circular(read_circular(path), questions)
    assert scored == score_circular(read_circular(ours), questions)
    assert scored.first_rotation_accuracy == 100.0 and scored.correct == 0 and scored.chosen_positions["A"] > 60
    # the plain run's glob never collects it, and the plain reader says what it is not
    assert not fnmatch.fnmatch(path.name, "GPT4o_MedCMR_*")
    with pytest.raises(PredictionsError, match="unknown"):
        read_predictions(path, known_ids=set(mcqs))
    plain = vlmevalkit_predictions(vlmevalkit_data(exported / "MedCMR_MCQ.tsv"), {i: "Answer: A" for i in mcqs},
                                   tmp_path / f"GPT4o_MedCMR_MCQ{suffix}")
    with pytest.raises(PredictionsError, match=r"id 'mcq-\d+' is not a rotation"):
        read_circular(plain)


@pytest.mark.parametrize("suffix", [".xlsx", ".tsv", ".json"])
def test_vlmevalkit_prediction_files_score_like_our_jsonl(exported: Path, answers: dict[str, str],
                                                          questions: list[dict], reference: dict,
                                                          judge_server: OpenAIServer, tmp_path: Path,
                                                          suffix: str) -> None:
    files = [vlmevalkit_predictions(vlmevalkit_data(exported / f"{name}.tsv"), answers,
                                    tmp_path / f"GPT4o_{name}{suffix}") for name in ("MedCMR_MCQ", "MedCMR_openended")]
    known = {q["id"] for q in questions}
    mcq_records = read_predictions(files[0], known_ids=known)
    assert {r["id"] for r in mcq_records} == {i for i in answers if i.startswith("mcq-")}
    assert all(r["prediction"] == answers[r["id"]] for r in mcq_records)
    merged = tmp_path / "predictions.jsonl"
    assert merge(files, merged, known_ids=known) == (len(answers), [])
    assert scores(read_predictions(merged), questions, judge_server) == reference
    # A rerun (`--reuse`) copies the predictions into a new T... folder and `--mode all` adds its scoring
    # files: the README's glob catches all of them, and the merge is the same.
    rerun = tmp_path / "T20261202_rerun"
    rerun.mkdir()
    copies = [rerun / path.name for path in files]
    for path, copy in zip(files, copies):
        copy.write_bytes(path.read_bytes())
    scoring = tmp_path / f"GPT4o_MedCMR_MCQ_exact_matching_result{suffix}"
    scoring.write_bytes(files[0].read_bytes())
    assert merge([*files, *copies, scoring], merged, known_ids=known) == (len(answers), [scoring])
    assert scores(read_predictions(merged), questions, judge_server) == reference
    changed = {**answers, next(i for i in answers if i.startswith("mcq-")): "Answer: E (changed in the rerun)"}
    vlmevalkit_predictions(vlmevalkit_data(exported / "MedCMR_MCQ.tsv"), changed, copies[0])
    with pytest.raises(PredictionsError, match=rf"{re.escape(str(copies[0]))}: id .* has another answer in "
                                               rf"{re.escape(str(files[0]))}"):
        merge([*files, copies[0]], merged, known_ids=known)


@pytest.mark.parametrize("suffix", [".xlsx", ".tsv"])
def test_the_leaderboard_takes_a_vlmevalkit_file_as_it_is(exported: Path, answers: dict[str, str],
                                                          questions: list[dict], built_dataset: Path,
                                                          tmp_path: Path, suffix: str) -> None:
    """The Space's submit path, not only the judge: the workbook VLMEvalKit writes is queued and scored
    like our own JSONL of the same multiple-choice answers."""
    from leaderboard.intake import SubmissionMeta
    from leaderboard.service import Leaderboard

    path = vlmevalkit_predictions(vlmevalkit_data(exported / "MedCMR_MCQ.tsv"), answers,
                                  tmp_path / f"GPT4o_MedCMR_MCQ{suffix}")
    board = Leaderboard(tmp_path / "home", built_dataset)
    receipt = board.submit(path, SubmissionMeta(model=f"VLMEvalKit run {suffix}"), "vera")
    board.start()
    try:
        assert board.wait_idle(60)
    finally:
        board.stop()
    ours = [{"id": i, "prediction": p} for i, p in answers.items() if i.startswith("mcq-")]
    expected = score_submission(ours, questions).to_dict()["mcq"]
    scored = board.scores(receipt["id"]).mcq
    assert (scored.correct, scored.accuracy) == (expected["correct"], expected["accuracy"])


def test_vlmevalkit_files_that_cannot_be_mapped_say_why(exported: Path, tmp_path: Path) -> None:
    with pytest.raises(PredictionsError, match=r"MedCMR_MCQ.tsv line 1: a VLMEvalKit file needs columns 'index' and "
                                               r"'prediction' \(missing 'prediction'\)"):
        read_predictions(exported / "MedCMR_MCQ.tsv")
    sheet = tmp_path / "GPT4o_MedCMR_MCQ.xlsx"
    pd.DataFrame({"index": [0], "answer": ["B"]}).to_excel(sheet, index=False, engine="openpyxl")
    with pytest.raises(PredictionsError, match="GPT4o_MedCMR_MCQ.xlsx row 1: a VLMEvalKit prediction workbook needs"):
        read_predictions(sheet)
    pd.DataFrame({"index": [0, "x7"], "prediction": ["A", "B"]}).to_excel(sheet, index=False, engine="openpyxl")
    with pytest.raises(PredictionsError) as error:
        read_predictions(sheet)
    assert str(error.value).startswith("GPT4o_MedCMR_MCQ.xlsx row 3: field 'index' must be the whole-number")
    assert (error.value.line, error.value.field) == (3, "index")


# --------------------------------------------------------------------------- lmms-eval
class _Loader(yaml.SafeLoader):
    """lmms-eval's YAML loader turns `!function utils.name` into that function (lmms_eval/utils.py)."""


_Loader.add_constructor("!function", lambda loader, node: ("function", loader.construct_scalar(node)))


def load_yaml(path: Path) -> dict:
    config = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    if "include" in config:  # lmms_eval/utils.py `load_yaml_config`: the included file, then this one
        config = {**load_yaml(path.parent / config.pop("include")), **config}
    return config


@pytest.fixture(scope="module")
def utils():
    spec = importlib.util.spec_from_file_location("medcmr_lmms_utils", TASKS / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def rows(built_dataset: Path) -> list[dict]:
    import datasets

    return list(datasets.load_dataset(str(built_dataset), "all", split="test"))


def test_the_task_folder_has_a_task_per_dimension_and_format_and_is_generated(utils) -> None:
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in TASKS.iterdir() if path.name != "utils.py"}
    assert on_disk == lmms_tasks.files(), "run `python -m bridges.lmms_tasks` after changing bridges/lmms_tasks.py"
    group = load_yaml(TASKS / "medcmr_all.yaml")
    expected = {f"medcmr_{slug}_{kind}" for slug in medcmr.DIMENSIONS.values() for kind in medcmr.QUESTION_TYPES}
    assert set(group["task"]) == expected and group["group"] == "medcmr_all"
    # lmms-eval reads `--tasks X` as a folder of YAMLs when a folder X exists: no group may share a name
    # with the build (`medcmr/` in the project root) or with anything else the kit writes there
    assert not {load_yaml(path).get("group") for path in TASKS.glob("*.yaml")} & {"medcmr", "lmudata", "medcmr_tasks"}
    for name in expected:
        config = load_yaml(TASKS / f"{name}.yaml")
        kind = name.rsplit("_", 1)[1]
        assert config["task"] == name and config["dataset_name"] == name.removeprefix("medcmr_")
        assert config["dataset_path"] == lmms_tasks.PLACEHOLDER and config["test_split"] == "test"
        assert config["output_type"] == "generate_until" and config["doc_to_target"] == "answer"
        assert "\n\n" not in config["generation_kwargs"]["until"]  # no blank line cuts a reasoning short
        functions = [config[key] for key in ("doc_to_visual", "doc_to_text", "process_results")]
        functions += [metric["aggregation"] for metric in config["metric_list"]]
        for tag, target in functions:
            assert tag == "function" and callable(getattr(utils, target.removeprefix("utils.")))
        assert [m["metric"] for m in config["metric_list"]] == [lmms_tasks.METRICS[kind][0]]
    assert set(load_yaml(TASKS / "medcmr_mcq.yaml")["task"]) == {n for n in expected if n.endswith("_mcq")}


def test_utils_is_self_contained() -> None:
    tree = ast.parse((TASKS / "utils.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "re"}


def test_utils_prompts_are_the_papers_and_results_feed_our_judge(utils, rows: list[dict],
                                                                 questions: list[dict]) -> None:
    assert len(rows) == len(questions)
    for row in rows:
        assert utils.medcmr_doc_to_text(row) == medcmr.format_prompt(row)
        assert utils.medcmr_doc_to_text(row, {"pre_prompt": "", "post_prompt": ""}) == medcmr.format_prompt(row)
        [image] = utils.medcmr_doc_to_visual(row)
        assert image.mode == "RGB" and image.size == row["image"].size
    mcq = next(row for row in rows if row["question_type"] == "mcq")
    right, wrong = mcq["answer"], "ABCDE"[("ABCDE".index(mcq["answer"]) + 1) % 5]
    assert utils.medcmr_process_results(mcq, [f"Answer: {right}"])["medcmr_mcq_acc"]["correct"] is True
    assert utils.medcmr_process_results(mcq, [f"{wrong}. because"])["medcmr_mcq_acc"]["correct"] is False
    logged = [utils.medcmr_process_results(mcq, [x])["medcmr_mcq_acc"] for x in (right, wrong)]
    assert utils.medcmr_mcq_accuracy(logged) == 0.5 and logged[0]["id"] == mcq["id"]
    open_row = next(row for row in rows if row["question_type"] == "open")
    outputs = ["Reasoning: fluid.\nAnswer: effusion", "  ", "[LMMS_EVAL_REQUEST_FAILED after 5 retries] Timeout"]
    opened = [utils.medcmr_process_results(open_row, [x])["medcmr_open_answered"] for x in outputs]
    assert [o["answered"] for o in opened] == [True, False, False]  # a failed request is no answer
    assert utils.medcmr_open_answered(opened) == pytest.approx(1 / 3)


def lmms_samples(rows: list[dict], answers: dict[str, str], utils, out: Path, *, keep_doc: bool) -> list[Path]:
    """samples_*.jsonl as lmms-eval writes them, one file per task.

    lmms_eval/evaluator.py `evaluate`: per doc {"doc_id", "doc" (non-image fields), "target"
    (doc_to_target), "arguments", "resps", "filtered_resps", "token_counts", "doc_hash"} updated with
    the metrics of `process_results(doc, [filtered_resps])`. lmms_eval/loggers/evaluation_tracker.py
    `save_results_samples` (0.4+): "input" = arguments[0], lists of one flattened, "resps" dropped when
    equal to "filtered_resps", then "arguments" and "doc" popped; file {date_id}_samples_{task}.jsonl.
    `keep_doc` writes the pre-0.4 shape instead, which kept "doc" and the lists.
    """
    by_task = defaultdict(list)
    for row in rows:
        if row["id"] in answers:
            by_task[f"medcmr_{row['dimension']}_{row['question_type']}"].append(row)
    files = []
    for task, docs in by_task.items():
        path = out / f"20260828_101500_samples_{task}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for doc_id, doc in enumerate(docs):
                response = answers[doc["id"]]
                prompt = utils.medcmr_doc_to_text(doc)
                sample = {"doc_id": doc_id, "target": doc["answer"], "filtered_resps": [response],
                          "token_counts": [None], "doc_hash": f"{doc_id:064x}"}
                if keep_doc:
                    sample.update(doc={k: v for k, v in doc.items() if k != "image"},
                                  arguments=[prompt, {"max_new_tokens": 32}], resps=[[response]])
                else:
                    sample.update(input=prompt, filtered_resps=response)
                sample.update(utils.medcmr_process_results(doc, [response]))
                handle.write(json.dumps(sample, ensure_ascii=False) + "\n")
        files.append(path)
    return files


@pytest.mark.parametrize("keep_doc", [False, True], ids=["lmms-eval 0.4+", "before 0.4"])
def test_lmms_eval_samples_score_like_our_jsonl(rows: list[dict], answers: dict[str, str], utils, questions: list[dict],
                                                reference: dict, judge_server: OpenAIServer, tmp_path: Path,
                                                keep_doc: bool) -> None:
    files = lmms_samples(rows, answers, utils, tmp_path, keep_doc=keep_doc)
    assert len(files) == len(medcmr.DIMENSIONS) * len(medcmr.QUESTION_TYPES)
    merged = tmp_path / "predictions.jsonl"
    assert merge(files, merged, known_ids={q["id"] for q in questions}) == (len(answers), [])
    assert scores(read_predictions(merged), questions, judge_server) == reference


def test_lmms_eval_samples_without_our_id_say_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "20260828_samples_other_task.jsonl"
    path.write_text(json.dumps({"doc_id": 0, "target": "B", "filtered_resps": "B", "exact_match": 1.0}) + "\n",
                    encoding="utf-8")
    with pytest.raises(PredictionsError) as error:
        read_predictions(path)
    message = str(error.value)
    assert message.startswith("20260828_samples_other_task.jsonl line 1: an lmms-eval sample (doc_id 0) without a "
                              "Med-CMR id")
    assert re.search(r"no 'doc' with an 'id'.*'medcmr_mcq_acc' or 'medcmr_open_answered'", message)
    assert (error.value.line, error.value.field) == (1, "doc")


def test_export_for_lmms_eval_names_the_dataset_and_copies_utils(built_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "tasks"
    assert medcmr.main(["export", "--format", "lmms-eval", "--data", str(built_dataset), "--out", str(out),
                        "--dataset-path", "my-org/Med-CMR"]) == 0
    assert (out / "utils.py").read_bytes() == (TASKS / "utils.py").read_bytes()
    assert load_yaml(out / "medcmr_causal_open.yaml")["dataset_path"] == "my-org/Med-CMR"
    assert medcmr.main(["export", "--format", "vlmevalkit", "--data", str(tmp_path), "--out", str(out)]) == 2


# --------------------------------------------------------------------------- the docs, verbatim
# Neither tool runs here, so each is played by a stand-in that reads and writes what the real one does
# (the files above): VLMEvalKit's `run.py` reads `--config` and `$LMUData/{dataset}.tsv` and writes
# outputs/{model}/T{time}/{model}_{dataset}.xlsx; `lmms-eval` treats `--tasks X` as a folder when a folder X
# exists (and then runs nothing, exit 0), else finds the group among the YAMLs of `--include_path` and writes
# {output_path}/{model}/{date}_samples_{task}.jsonl. Both answer "A" to every MCQ and the reference to open ones.
VLMEVALKIT_RUN = """
import argparse, json, os, time
from pathlib import Path
import pandas as pd
parser = argparse.ArgumentParser()
parser.add_argument("--config", required=True)
parser.add_argument("--mode", required=True)
args = parser.parse_args()
config = json.loads(Path(args.config).read_text())
[model] = config["model"]
run = Path("outputs", model, f"T{time.time_ns()}")
run.mkdir(parents=True)
for name in config["data"]:
    data = pd.read_csv(Path(os.environ["LMUData"], name + ".tsv"), sep="\\t")
    data["prediction"] = ["Answer: A" if "A" in data else f"Reasoning: seen.\\nAnswer: {a}" for a in data["answer"]]
    data.drop(columns="image").to_excel(run / f"{model}_{name}.xlsx", index=False, engine="openpyxl")
"""
LMMS_EVAL = """#!PYTHON
import argparse, json, os, sys, time, yaml
from pathlib import Path
parser = argparse.ArgumentParser()
for flag in ("--model", "--model_args", "--include_path", "--tasks", "--output_path"):
    parser.add_argument(flag)
parser.add_argument("--log_samples", action="store_true")
args = parser.parse_args()
if os.path.isdir(args.tasks):
    sys.exit(0)  # a folder of YAMLs that holds no task: nothing runs
class Loader(yaml.SafeLoader):
    pass
Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))
def load(path):
    config = yaml.load(path.read_text(), Loader=Loader)
    return {**load(path.parent / config.pop("include")), **config} if "include" in config else config
configs = [load(path) for path in Path(args.include_path).glob("*.yaml")]
[group] = [c for c in configs if c.get("group") == args.tasks]
sys.path.insert(0, args.include_path)
import utils, datasets
out = Path(args.output_path, args.model_args.split("=", 1)[1].replace("/", "__"))
out.mkdir(parents=True, exist_ok=True)
stamp = time.strftime("%Y%m%d_%H%M%S") + str(time.time_ns())
for task in group["task"]:
    config = next(c for c in configs if c.get("task") == task)
    docs = datasets.load_dataset(config["dataset_path"], config["dataset_name"], split="test")
    with (out / f"{stamp}_samples_{task}.jsonl").open("w") as handle:
        for number, doc in enumerate(docs):
            reply = "Answer: A" if doc["question_type"] == "mcq" else f"Reasoning: seen.\\nAnswer: {doc['answer']}"
            sample = {"doc_id": number, "target": doc["answer"], "filtered_resps": reply,
                      **utils.medcmr_process_results(doc, [reply])}
            handle.write(json.dumps(sample) + "\\n")
"""


def documented(tool: str) -> list[str]:
    """The commands of docs/bridges.md's block that exports for `tool`, comments and blank lines left out."""
    text = (ROOT / "docs" / "bridges.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```bash\n(.*?)```", text, re.S) if f"export --format {tool}" in b)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


@pytest.fixture
def project(built_dataset: Path, tmp_path: Path) -> Path:
    """A project root as the docs assume it: the kit's environment, medcmr.py and a build in ./medcmr."""
    for name in (".venv", "medcmr.py"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "medcmr").symlink_to(built_dataset, target_is_directory=True)
    return tmp_path


def shell(project: Path, line: str, **env: str) -> subprocess.CompletedProcess:
    import os

    path = f"{project / 'bin'}:{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"
    done = subprocess.run(["bash", "-c", line], cwd=project, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PATH": path, "XDG_CACHE_HOME": str(project / "cache"), **env})
    assert done.returncode == 0, f"{line}\n{done.stderr[-3000:]}"
    return done


def printed_steps(output: str) -> list[str]:
    return [line.strip() for line in output.split("next (docs/bridges.md):\n", 1)[1].splitlines()]


def test_the_vlmevalkit_commands_of_the_docs_run_verbatim_over_two_run_folders(project: Path,
                                                                             questions: list[dict]) -> None:
    export, *steps = documented("vlmevalkit")
    exported = shell(project, export).stdout
    assert printed_steps(exported) == steps  # the export prints the docs' next steps, and what it wrote
    assert all(f"lmudata/{name}.tsv" in exported for name in ("MedCMR_MCQ", "MedCMR_openended", "MedCMRCircular_MCQ"))
    clone, run, *scoring = steps
    assert clone.startswith("git clone https://github.com/open-compass/VLMEvalKit")
    (project / "VLMEvalKit").mkdir()
    (project / "VLMEvalKit" / "run.py").write_text(VLMEVALKIT_RUN, encoding="utf-8")
    for _ in range(2):  # a rerun writes a second T... folder
        shell(project, run)
    folders = sorted((project / "VLMEvalKit" / "outputs" / "GPT4o").iterdir())
    assert len(folders) == 2
    first = folders[0] / "GPT4o_MedCMR_MCQ.xlsx"
    for derived in ("_exact_matching_result.xlsx", "_gpt-4o-mini_result.xlsx", "_acc.csv"):  # --mode all
        (folders[1] / first.name.replace(".xlsx", derived)).write_bytes(first.read_bytes())
    printed = [shell(project, line).stdout for line in scoring]
    assert "skipped" in printed[0] and "_gpt-4o-mini_result.xlsx" in printed[0]
    mcqs = [q for q in questions if q["question_type"] == "mcq"]
    expected = score_submission([{"id": q["id"], "prediction": "Answer: A"} for q in mcqs], questions, mcq_only=True)
    results = json.loads((project / "results.json").read_text())
    assert (results["mcq"]["n"], results["mcq"]["correct"]) == (expected.mcq.n, expected.mcq.correct)
    assert results["coverage"]["given"] == len(questions)
    circular = json.loads((project / "circular.json").read_text())["circular"]
    lines = [json.loads(line) for line in (project / "circular.jsonl").read_text().splitlines()]
    assert len(lines) == len(medcmr.LETTERS) * len(mcqs) and {line["rotation"] for line in lines} == {0, 1, 2, 3, 4}
    assert circular == dataclasses.asdict(score_circular(read_circular(project / "circular.jsonl"), questions))
    assert circular["correct"] == 0 and circular["chosen_positions"]["A"] == 100.0  # "A" is right in one rotation


def test_the_lmms_eval_commands_of_the_docs_run_verbatim_from_the_project_root(project: Path,
                                                                             questions: list[dict]) -> None:
    export, run, *scoring = documented("lmms-eval")
    assert printed_steps(shell(project, export).stdout) == [run, *scoring]
    (project / "bin").mkdir()
    stand_in = project / "bin" / "lmms-eval"
    stand_in.write_text(LMMS_EVAL.replace("PYTHON", sys.executable, 1), encoding="utf-8")
    stand_in.chmod(0o755)
    for _ in range(2):  # two runs: two samples files per task, identical answers
        shell(project, run, HF_DATASETS_OFFLINE="1")
    samples = list((project / "lmms_results").rglob("*_samples_medcmr_*.jsonl"))
    assert len(samples) == 2 * len(medcmr.DIMENSIONS) * len(medcmr.QUESTION_TYPES)
    for line in scoring:
        shell(project, line)
    results = json.loads((project / "results.json").read_text())
    assert results["coverage"]["given"] == len(questions)
    mcqs = [q for q in questions if q["question_type"] == "mcq"]
    assert results["mcq"]["correct"] == sum(q["answer"] == "A" for q in mcqs)


def test_the_stand_in_meets_the_clash_the_docs_avoid(project: Path) -> None:
    """With a group named like the build folder, the documented run would find no tasks (the issue seen)."""
    export, run, *_ = documented("lmms-eval")
    shell(project, export)
    (project / "bin").mkdir()
    stand_in = project / "bin" / "lmms-eval"
    stand_in.write_text(LMMS_EVAL.replace("PYTHON", sys.executable, 1), encoding="utf-8")
    stand_in.chmod(0o755)
    shell(project, run.replace("--tasks medcmr_all", "--tasks medcmr"))
    assert not (project / "lmms_results").exists()


def test_merge_joins_circular_runs_and_refuses_them_mixed_with_plain(exported: Path, questions: list[dict],
                                                                     tmp_path: Path) -> None:
    data = vlmevalkit_data(exported / "MedCMRCircular_MCQ.tsv")
    data["prediction"] = "Answer: B"
    data.pop("image")
    runs = [tmp_path / f"T{n}" / "GPT4o_MedCMRCircular_MCQ.xlsx" for n in (1, 2)]
    for path in runs:
        path.parent.mkdir()
        data.to_excel(path, index=False, engine="openpyxl")
    known = {q["id"] for q in questions}
    merged = tmp_path / "circular.jsonl"
    assert merge(runs, merged, known_ids=known) == (len(data), [])
    assert score_circular(read_circular(merged), questions) == score_circular(read_circular(runs[0]), questions)
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"id": "mcq-0", "prediction": "A"}) + "\n", encoding="utf-8")
    with pytest.raises(PredictionsError, match="is a circular run .* merge each into its own file"):
        merge([*runs, plain], merged, known_ids=known)


def test_merge_of_nothing_or_a_glob_that_matched_nothing_says_so(tmp_path: Path) -> None:
    from bridges.__main__ import main

    missing = tmp_path / "outputs" / "GPT4o" / "T*" / "GPT4o_MedCMR_*.xlsx"
    for argv in (["merge", "--out", str(tmp_path / "p.jsonl")], ["merge", "--out", str(tmp_path / "p.jsonl"),
                                                                str(missing)]):
        assert main(argv) == 2
    assert not (tmp_path / "p.jsonl").exists()
