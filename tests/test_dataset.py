"""The dataset as a researcher meets it: built from a release, loaded with the real `load_dataset`."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard
from PIL import Image

import medcmr
from tests.hub_fakes import COMMIT, RecordingHfApi
from release import sample

ROOT = Path(__file__).resolve().parent.parent
MCQ_JSON = "dataset/cmed.copy.mcq_cate.cleaned.json"
OPEN_JSON = "dataset/cmed.copy.open_taged.cleaned.json"


def release_counts() -> Counter:
    """Rows per config, counted from the sample's JSON lists (independently of the builder)."""
    mcq, open_ended = sample.sample_records()
    counts = Counter({"all": len(mcq) + len(open_ended), "mcq": len(mcq), "open": len(open_ended)})
    for kind, records in (("mcq", mcq), ("open", open_ended)):
        for record in records:
            slug = medcmr.DIMENSIONS[record["task"]]
            counts[slug] += 1
            counts[f"{slug}_{kind}"] += 1
    return counts


def tree_bytes(folder: Path) -> dict[str, str]:
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def write_release(path: Path, edit=None, drop: tuple[str, ...] = (), add: dict | None = None) -> Path:
    """A copy of the sample archive; `edit(mcq, open)` changes the JSON lists in place."""
    entries = sample.release_entries()
    mcq, open_ended = json.loads(entries[MCQ_JSON]), json.loads(entries[OPEN_JSON])
    if edit:
        edit(mcq, open_ended)
    entries[MCQ_JSON], entries[OPEN_JSON] = json.dumps(mcq).encode(), json.dumps(open_ended).encode()
    entries.update(add or {})
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            if name not in drop and data is not None:
                archive.writestr(name, data)
    return path


# --------------------------------------------------------------------------- loading
def test_every_config_loads_with_the_release_counts(built_dataset: Path) -> None:
    expected = release_counts()
    card = DatasetCard.load(built_dataset / "README.md")
    names = [config["config_name"] for config in card.data.configs]
    assert set(names) == set(expected), "one config per dimension, per format and per (dimension, format)"
    for name in names:
        ds = datasets.load_dataset(str(built_dataset), name, split="test")
        assert ds.num_rows == expected[name], name
        kinds = set(ds["question_type"])
        assert kinds == ({name.rsplit("_", 1)[-1]} if name.endswith(("mcq", "open")) else {"mcq", "open"})


def test_default_config_is_all_and_rows_match_the_release(sample_zip: Path, built_dataset: Path) -> None:
    ds = datasets.load_dataset(str(built_dataset), split="test")
    mcq, open_ended = sample.sample_records()
    assert ds.num_rows == len(mcq) + len(open_ended)
    rows = {row["id"]: row for row in ds}
    with zipfile.ZipFile(sample_zip) as archive:
        for kind, records in (("mcq", mcq), ("open", open_ended)):
            for record in records:
                row = rows[f"{kind}-{record['index']}"]
                assert row["question"] == record["question"] and row["answer"] == record["answer"]
                assert row["options"] == ([record[letter] for letter in "ABCDE"] if kind == "mcq" else [])
                assert row["dimension"] == medcmr.DIMENSIONS[record["task"]]
                assert (row["medical_intelligence"], row["organ_system"], row["modality"]) == \
                    (record["question type"], record["organ system"], record["modality"])
                assert isinstance(row["image"], Image.Image)
                original = Image.open(io.BytesIO(archive.read(record["image_path"])))
                assert row["image"].size == original.size
                assert row["image"].tobytes() == original.tobytes()


def test_streaming_yields_decoded_images(built_dataset: Path) -> None:
    stream = datasets.load_dataset(str(built_dataset), "causal_open", split="test", streaming=True)
    rows = list(stream)
    assert len(rows) == release_counts()["causal_open"]
    assert all(isinstance(row["image"], Image.Image) and row["image"].width > 0 for row in rows)


def test_a_config_reads_only_its_own_shards(built_dataset: Path) -> None:
    for name, folders in (("long_tail_open", {"long_tail_open"}), ("long_tail", {"long_tail_mcq", "long_tail_open"}),
                          ("mcq", {f"{slug}_mcq" for slug in medcmr.DIMENSIONS.values()})):
        builder = datasets.load_dataset_builder(str(built_dataset), name)
        files = [Path(str(file)) for file in builder.config.data_files["test"]]
        assert files and {file.parent.name for file in files} == folders, name


def test_the_user_path_load_by_folder_name_next_to_medcmr_py(built_dataset: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(built_dataset, tmp_path / "medcmr")
    shutil.copy(ROOT / "medcmr.py", tmp_path / "medcmr.py")
    monkeypatch.chdir(tmp_path)
    ds = datasets.load_dataset("medcmr", "long_tail")
    assert ds["test"].num_rows == release_counts()["long_tail"]
    assert isinstance(ds["test"][0]["image"], Image.Image)


# --------------------------------------------------------------------------- the card
def test_card_yaml_parses_and_agrees_with_the_data(built_dataset: Path) -> None:
    card = DatasetCard.load(built_dataset / "README.md")
    expected = release_counts()
    assert card.data.license == "apache-2.0"
    assert {"visual-question-answering", "multiple-choice"} <= set(card.data.task_categories)
    assert card.data.size_categories == ["n<1K"]
    default = [config["config_name"] for config in card.data.configs if config.get("default")]
    assert default == ["all"]
    for config in card.data.configs:
        for pattern in config["data_files"][0]["path"]:
            assert list(built_dataset.glob(pattern)), f"{config['config_name']}: {pattern} matches nothing"
    infos = {info["config_name"]: info for info in card.data.dataset_info}
    assert {name: info["splits"][0]["num_examples"] for name, info in infos.items()} == dict(expected)
    assert [feature["name"] for feature in infos["all"]["features"]] == list(medcmr.FEATURES)
    body = card.text
    for task, slug in medcmr.DIMENSIONS.items():
        assert (f"| {task} | `{slug}` | {expected[f'{slug}_mcq']} | {expected[f'{slug}_open']} | "
                f"{expected[slug]} |") in body
    mcq, open_ended = sample.sample_records()
    for key, field in (("question type", "medical_intelligence"), ("modality", "modality"),
                       ("organ system", "organ_system")):
        values = Counter(record[key] for record in mcq + open_ended)
        line = next(line for line in body.splitlines() if line.startswith(f"| `{field}` |"))
        assert f"| {len(values)} |" in line, field
        assert all(f"{value} ({count})" in line for value, count in values.items()), line
    assert medcmr.MCQ_PROMPT in body and medcmr.OPEN_PROMPT in body
    assert "not for clinical use" in body.lower() and "2512.00818" in body
    assert "S = (Con + Coh + 4·VA + 4·GT) / 10" in body
    for image in sample.IMAGES.values():
        assert image.file in body, "the sample build lists where every image comes from"


def test_card_template_is_itself_a_valid_card() -> None:
    card = DatasetCard.load(ROOT / "dataset_card.md")
    assert card.data.license == "apache-2.0" and card.data.pretty_name == "Med-CMR"


# --------------------------------------------------------------------------- the sample release
def test_sample_release_has_the_official_layout(sample_zip: Path) -> None:
    with zipfile.ZipFile(sample_zip) as archive:
        names = archive.namelist()
        mcq = json.loads(archive.read(MCQ_JSON))
        open_ended = json.loads(archive.read(OPEN_JSON))
        assert names == sorted(names)
        assert any(name.startswith("__MACOSX/") for name in names) and any(n.endswith(".bak") for n in names)
        for record in mcq + open_ended:
            assert {"index", "question", "image_path", "answer", "visual_description", "task", "subtype",
                    "question type", "modality", "organ system"} <= set(record)
            assert record["image_path"] in names and record["image_path"].startswith("dataset/imgs/")
            assert record["question"].startswith("[Sample] ")
        assert all(set("ABCDE") <= set(record) and record["answer"] in "ABCDE" for record in mcq)
        assert archive.getinfo(MCQ_JSON).date_time == (1980, 1, 1, 0, 0, 0)
    for kind, records, minimum in (("mcq", mcq, 3), ("open", open_ended, 2)):
        per_task = Counter(record["task"] for record in records)
        assert set(per_task) == set(medcmr.DIMENSIONS) and min(per_task.values()) >= minimum, kind
    assert len({r["modality"] for r in mcq}) >= 4 and len({r["organ system"] for r in mcq}) >= 4
    assert len({r["question type"] for r in mcq}) == 6
    assert sample_zip.stat().st_size < 3 * 2**20


def test_sample_images_are_real_and_licensed(sample_zip: Path) -> None:
    with zipfile.ZipFile(sample_zip) as archive:
        sources = json.loads(archive.read(medcmr.SAMPLE_SOURCES))
        assert "not Med-CMR benchmark items" in sources["note"]
        for item in sources["images"]:
            image = Image.open(io.BytesIO(archive.read(item["image_path"])))
            assert max(image.size) <= sample.MAX_SIDE and sum(map(bool, image.convert("L").histogram())) > 50
            assert image.text["License"] == item["licence"] and item["file"] in image.text["Source"]


def test_sample_is_byte_for_byte_deterministic(sample_zip: Path, tmp_path: Path) -> None:
    again = medcmr.write_sample_release(tmp_path / "again.zip")
    assert again.read_bytes() == sample_zip.read_bytes()


def test_sample_command_writes_the_archive(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "medcmr.py"), "sample", "--out", "s.zip"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert zipfile.is_zipfile(tmp_path / "s.zip")


# --------------------------------------------------------------------------- building
def test_build_is_deterministic(sample_zip: Path, built_dataset: Path, tmp_path: Path) -> None:
    report = medcmr.build(sample_zip, tmp_path / "medcmr")
    assert tree_bytes(tmp_path / "medcmr") == tree_bytes(built_dataset)
    assert report["fingerprint"] == medcmr.dataset_fingerprint(built_dataset)


def test_build_from_zip_and_from_extracted_folders_agree(sample_zip: Path, built_dataset: Path,
                                                         tmp_path: Path) -> None:
    with zipfile.ZipFile(sample_zip) as archive:
        archive.extractall(tmp_path / "extracted")
    expected = {name: digest for name, digest in tree_bytes(built_dataset).items() if name.startswith("data/")}
    # the extracted archive, and its dataset/ folder alone (image paths then resolve from the JSON's folder)
    for source in (tmp_path / "extracted", tmp_path / "extracted" / "dataset"):
        out = tmp_path / f"from-{source.name}"
        report = medcmr.build(source, out)
        assert {n: d for n, d in tree_bytes(out).items() if n.startswith("data/")} == expected
        assert report["fingerprint"] == medcmr.dataset_fingerprint(built_dataset)


def test_image_paths_relative_to_the_json_folder_are_found(tmp_path: Path) -> None:
    def relative(mcq, open_ended):
        for record in mcq + open_ended:
            record["image_path"] = record["image_path"].removeprefix("dataset/")

    medcmr.build(write_release(tmp_path / "relative.zip", relative), tmp_path / "medcmr")
    rows = datasets.load_dataset(str(tmp_path / "medcmr"), split="test")
    assert rows.num_rows == release_counts()["all"]
    assert all(path.startswith("imgs/") for path in rows["image_path"]), "kept as in the release"


def test_build_reports_rows_per_config_and_skips_clutter(sample_zip: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    assert medcmr.main(["build", "--source", str(sample_zip), "--out", str(tmp_path / "medcmr")]) == 0
    printed = capsys.readouterr().out
    assert "3 clutter file(s) skipped" in printed and "no question refers to" not in printed
    for name, rows in release_counts().items():
        assert f"  {name:<20} {rows:>7,} rows" in printed
    info = json.loads((tmp_path / "medcmr" / "build_info.json").read_text())
    assert info["source"]["sha256"] == hashlib.sha256(sample_zip.read_bytes()).hexdigest()


def test_files_no_question_refers_to_are_reported(tmp_path: Path, capsys) -> None:
    source = write_release(tmp_path / "extra.zip", add={"dataset/imgs/orphan.png": b"\x89PNG", "notes.txt": b"x"})
    assert medcmr.main(["build", "--source", str(source), "--out", str(tmp_path / "medcmr")]) == 0
    assert "2 file(s) no question refers to, not included: dataset/imgs/orphan.png, notes.txt" \
        in capsys.readouterr().out
    info = json.loads((tmp_path / "medcmr" / "build_info.json").read_text())
    assert info["unreferenced_files"] == ["dataset/imgs/orphan.png", "notes.txt"]


def test_large_parts_are_split_into_shards(sample_zip: Path, tmp_path: Path) -> None:
    medcmr.build(sample_zip, tmp_path / "medcmr", max_shard_bytes=200_000)
    shards = sorted((tmp_path / "medcmr" / "data" / "long_tail_mcq").iterdir())
    assert len(shards) > 1
    assert [shard.name for shard in shards] == [f"test-{n:05d}-of-{len(shards):05d}.parquet"
                                                for n in range(len(shards))]
    ds = datasets.load_dataset(str(tmp_path / "medcmr"), "long_tail_mcq", split="test")
    assert ds["id"] == [f"mcq-{index}" for index in sorted(ds["index"])]
    assert ds.num_rows == release_counts()["long_tail_mcq"]


def test_a_dimension_without_rows_has_no_config_and_says_so(tmp_path: Path, capsys) -> None:
    def drop_temporal_open(mcq, open_ended):
        open_ended[:] = [r for r in open_ended if r["task"] != "Temporal Prediction"]

    source = write_release(tmp_path / "partial.zip", drop_temporal_open)
    assert medcmr.main(["build", "--source", str(source), "--out", str(tmp_path / "medcmr")]) == 0
    assert "no rows, so no config: temporal_open" in capsys.readouterr().out
    assert datasets.load_dataset(str(tmp_path / "medcmr"), "temporal", split="test").num_rows == 3
    with pytest.raises(ValueError, match="temporal_open"):
        datasets.load_dataset(str(tmp_path / "medcmr"), "temporal_open", split="test")


def test_interrupted_build_leaves_no_loadable_folder(sample_zip: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from release import build as build_module

    real_write, calls = build_module._write_shards, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_write(*args, **kwargs)

    monkeypatch.setattr(build_module, "_write_shards", interrupted)
    with pytest.raises(KeyboardInterrupt):
        medcmr.build(sample_zip, tmp_path / "medcmr")
    assert list(tmp_path.iterdir()) == [], "neither the output nor a staging folder is left behind"

    monkeypatch.setattr(build_module, "_write_shards", real_write)
    medcmr.build(sample_zip, tmp_path / "medcmr")
    before = tree_bytes(tmp_path / "medcmr")
    calls.clear()
    monkeypatch.setattr(build_module, "_write_shards", interrupted)
    with pytest.raises(KeyboardInterrupt):
        medcmr.build(sample_zip, tmp_path / "medcmr")
    assert tree_bytes(tmp_path / "medcmr") == before, "a failed rebuild keeps the previous build intact"
    assert [path.name for path in tmp_path.iterdir()] == ["medcmr"]


KILL_AFTER_FIRST_PART = """
import os, signal, sys
from release import build as build_module
real = build_module._write_shards
def write_then_die(*args, **kwargs):
    result = real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # mid-build, after the first part's shards are on disk
    return result
build_module._write_shards = write_then_die
import medcmr
sys.exit(medcmr.main(sys.argv[1:]))
"""


def test_a_killed_build_leaves_nothing_that_loads_as_the_dataset(sample_zip: Path, tmp_path: Path) -> None:
    """SIGKILL lands at a fixed point of the build (after its first shards), so the test cannot race it."""
    out = tmp_path / "built" / "medcmr"
    child = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST_PART, "build", "--source", str(sample_zip),
                            "--out", str(out)], cwd=ROOT, capture_output=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    assert list(out.parent.glob("medcmr.tmp*/data/*/*.parquet")), "killed while shards were being written"
    assert not out.exists()
    with pytest.raises(FileNotFoundError):
        datasets.load_dataset(str(out), "all")


def test_build_refuses_to_replace_a_folder_that_is_not_a_build(sample_zip: Path, tmp_path: Path) -> None:
    (tmp_path / "medcmr").mkdir()
    (tmp_path / "medcmr" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a Med-CMR build"):
        medcmr.build(sample_zip, tmp_path / "medcmr")
    assert (tmp_path / "medcmr" / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------- a malformed release
def _del_key(key):
    def edit(mcq, open_ended):
        del mcq[4][key]
    return edit


def _set(kind, position, key, value):
    def edit(mcq, open_ended):
        (mcq if kind == "mcq" else open_ended)[position][key] = value
    return edit


def _duplicate(mcq, open_ended):
    open_ended.append(dict(open_ended[2]))


def _oversized_png() -> bytes:
    """A PNG header declaring 30,000 x 30,000 pixels: more than Pillow (and so `datasets`) will decode."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = (30_000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def _truncated_jpeg() -> bytes:
    """A JPEG cut in half: its header opens, its pixels do not decode."""
    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 40).save(buffer, "JPEG")
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


BROKEN = {
    "missing key": (_del_key("organ system"), {}, (), [MCQ_JSON, "index 4", "'organ system'", "missing"]),
    "unknown task": (_set("open", 1, "task", "Telepathy"), {}, (), [OPEN_JSON, "index 1", "'task'", "Telepathy"]),
    "answer not A-E": (_set("mcq", 6, "answer", "F"), {}, (), [MCQ_JSON, "index 6", "'answer'", "A-E"]),
    "missing image": (None, {}, ("dataset/imgs/colon_ihc.png",),
                      [MCQ_JSON, "index 3", "'image_path'", "colon_ihc.png"]),
    "undecodable image": (None, {"dataset/imgs/head_ct_plain.png": b"\x89PNG\r\n\x1a\nnot really"}, (),
                          [MCQ_JSON, "index 12", "'image_path'", "undecodable"]),
    "image too large to decode": (None, {"dataset/imgs/head_ct_plain.png": _oversized_png()}, (),
                                  [MCQ_JSON, "index 12", "'image_path'", "undecodable"]),
    "truncated JPEG image": (None, {"dataset/imgs/head_ct_plain.png": _truncated_jpeg()}, (),
                             [MCQ_JSON, "index 12", "'image_path'", "undecodable"]),
    "duplicate index": (_duplicate, {}, (), [OPEN_JSON, "index 2", "'index'", "duplicate"]),
    "text field not text": (_set("mcq", 2, "question", 42), {}, (), [MCQ_JSON, "index 2", "'question'", "expected text"]),
    "index not an integer": (_set("open", 0, "index", "zero"), {}, (), [OPEN_JSON, "record #0", "'index'", "'zero'"]),
    "bad JSON": (None, {MCQ_JSON: b'[{"index": 0,'}, (), [MCQ_JSON, "not valid JSON"]),
    "answer names a letter whose text disagrees": (_set("mcq", 3, "answer", "B) Melanin"), {}, (),
                                                   [MCQ_JSON, "index 3", "'answer'", "names option B", "DAB"]),
    "answer letter in a word": (_set("mcq", 5, "answer", "Bone"), {}, (), [MCQ_JSON, "index 5", "'answer'", "A-E"]),
    "answer letter outside A-E, punctuated": (_set("mcq", 7, "answer", "(f)"), {}, (),
                                              [MCQ_JSON, "index 7", "'answer'", "A-E"]),
    "missing option": (_del_key("D"), {}, (), [MCQ_JSON, "index 4", "'D'", "missing"]),
    "empty option": (_set("mcq", 8, "C", "  "), {}, (), [MCQ_JSON, "index 8", "'C'", "empty"]),
    "empty question": (_set("open", 3, "question", "\n"), {}, (), [OPEN_JSON, "index 3", "'question'", "empty"]),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_a_malformed_release_fails_naming_file_index_and_field(kind: str, tmp_path: Path, capsys) -> None:
    edit, add, drop, expected = BROKEN[kind]
    source = write_release(tmp_path / "broken.zip", edit, drop, add)
    out = tmp_path / "medcmr"
    assert medcmr.main(["build", "--source", str(source), "--out", str(out)]) != 0
    message = capsys.readouterr().err
    for part in expected:
        assert part in message, f"{kind}: {part!r} not in {message!r}"
    assert not out.exists()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    def two_problems(mcq, open_ended):
        mcq[0]["answer"] = "Z"
        open_ended[0]["task"] = "Unknown"

    with pytest.raises(medcmr.ReleaseError) as caught:
        medcmr.build(write_release(tmp_path / "broken.zip", two_problems), tmp_path / "medcmr")
    assert len(caught.value.problems) == 2


def test_the_command_line_exits_non_zero_on_a_broken_release(tmp_path: Path) -> None:
    source = write_release(tmp_path / "broken.zip", _set("mcq", 0, "answer", "Q"))
    result = subprocess.run([sys.executable, str(ROOT / "medcmr.py"), "build", "--source", str(source),
                             "--out", str(tmp_path / "medcmr")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"{MCQ_JSON}: index 0: field 'answer'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_pinned_download_with_other_bytes_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "dataset.zip"
    archive.write_bytes(b"not the release")
    digest = hashlib.sha256(b"not the release").hexdigest()
    assert medcmr.verify_sha256(archive, digest) == digest
    with pytest.raises(medcmr.ReleaseError, match="dataset.zip: sha256"):
        medcmr.verify_sha256(archive, medcmr.HUB_SHA256)


def test_a_hub_source_downloads_the_pinned_archive_and_checks_it(sample_zip: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    downloads = []

    def download(repo_id, filename, **kwargs):  # the one network call, served from disk
        downloads.append((repo_id, filename, kwargs))
        return str(sample_zip)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    with pytest.raises(medcmr.ReleaseError, match="does not match the pinned"):
        medcmr.build(medcmr.HUB_REPO, tmp_path / "medcmr")
    assert downloads == [(medcmr.HUB_REPO, "dataset.zip", {"repo_type": "dataset", "revision": medcmr.HUB_REVISION})]
    assert not (tmp_path / "medcmr").exists()

    report = medcmr.build("someone/Med-CMR-mirror", tmp_path / "medcmr", revision="main")
    assert report["rows"] == release_counts()["all"]
    source = json.loads((tmp_path / "medcmr" / "build_info.json").read_text())["source"]
    assert source == {"kind": "hub", "name": "someone/Med-CMR-mirror", "revision": "main",
                      "sha256": hashlib.sha256(sample_zip.read_bytes()).hexdigest(), "pinned_release": False}


def test_an_unreachable_hub_source_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    import huggingface_hub

    def offline(repo_id, filename, **kwargs):
        raise huggingface_hub.errors.LocalEntryNotFoundError("no connection and no cached copy")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    assert medcmr.main(["build", "--out", str(tmp_path / "medcmr")]) == 2
    error = capsys.readouterr().err
    assert f"{medcmr.HUB_REPO}: cannot get dataset.zip at revision {medcmr.HUB_REVISION}" in error
    assert "no connection" in error and not (tmp_path / "medcmr").exists()


def test_an_empty_release_is_refused(tmp_path: Path) -> None:
    def empty(mcq, open_ended):
        mcq.clear()
        open_ended.clear()

    with pytest.raises(medcmr.ReleaseError, match="both question lists are empty"):
        medcmr.build(write_release(tmp_path / "empty.zip", empty), tmp_path / "medcmr")


def test_a_missing_source_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert medcmr.main(["build", "--source", str(tmp_path / "nowhere.zip"), "--out", str(tmp_path / "o")]) == 2
    assert "nowhere.zip: no such release archive or folder" in capsys.readouterr().err


@pytest.mark.parametrize("source", ["downloads/dataset.zip", "./dataset.zip", "../Med-CMR"])
def test_a_mistyped_relative_path_is_not_taken_for_a_hub_repo(source: str, tmp_path: Path, capsys,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    downloads = []
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *args, **kwargs: downloads.append(args))
    monkeypatch.chdir(tmp_path)
    assert medcmr.main(["build", "--source", source, "--out", str(tmp_path / "o")]) == 2
    assert f"{source}: no such release archive or folder" in capsys.readouterr().err
    assert downloads == [], "a local path is never looked up on the Hub"


# --------------------------------------------------------------------------- python api and push
def test_load_questions_is_every_row_without_images(built_dataset: Path) -> None:
    questions = medcmr.load_questions(built_dataset)
    assert [q["id"] for q in questions] == sorted(q["id"] for q in questions)
    assert len(questions) == release_counts()["all"]
    assert set(questions[0]) == set(medcmr.FEATURES) - {"image"}
    opens = medcmr.load_questions(built_dataset, "open")
    assert {q["question_type"] for q in opens} == {"open"} and len(opens) == release_counts()["open"]
    with pytest.raises(ValueError, match="question_type"):
        medcmr.load_questions(built_dataset, "essay")


def test_format_prompt_is_the_papers_prompt() -> None:
    row = {"question_type": "mcq", "question": "Which?", "options": ["a", "b", "c", "d", "e"]}
    assert medcmr.format_prompt(row) == (
        "Please carefully observe this medical image and answer the following question:\n\n"
        "Question: Which?\n\nOptions:\nA) a\nB) b\nC) c\nD) d\nE) e\n\n"
        "Answer only with the option letter (A\u2013E).")
    prompt = medcmr.format_prompt({"question_type": "open", "question": "Why?", "options": []})
    assert prompt.startswith("Please carefully observe this medical image and answer the following question:"
                             "\n\nQuestion: Why?\n\nThink step by step")
    assert prompt.endswith("Output format (Must follow strictly):\nReasoning: <visual and diagnostic "
                           "reasoning process>\nAnswer: <final answer to the question>")


def test_push_uploads_the_built_folder(built_dataset: Path) -> None:
    api = RecordingHfApi()
    url = medcmr.push(built_dataset, "org/Med-CMR", private=True, api=api)
    assert url.endswith(f"/commit/{COMMIT}")
    (_, create), (_, upload) = api.calls
    assert create == {"repo_id": "org/Med-CMR", "repo_type": "dataset", "private": True, "exist_ok": True}
    assert Path(upload["folder_path"]) == built_dataset and upload["repo_type"] == "dataset"
    assert medcmr.dataset_fingerprint(built_dataset) in upload["commit_message"]


def test_push_offline_is_a_one_line_error(built_dataset: Path, capsys) -> None:
    assert medcmr.main(["push", "--repo", "org/Med-CMR", "--data", str(built_dataset)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "offline" in error.lower()


def test_push_refuses_a_folder_that_is_not_a_build(tmp_path: Path) -> None:
    api = RecordingHfApi()
    with pytest.raises(FileNotFoundError, match="build_info.json"):
        medcmr.push(tmp_path, "org/Med-CMR", api=api)
    assert api.calls == []


def test_import_has_no_side_effects(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); import medcmr"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0 and result.stdout == "" and list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- harmless variants of a real release
def _as_jpeg(png: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


JPEG_NAMED_PNG = "dataset/imgs/colon_ihc.png"


def write_variant_release(path: Path) -> tuple[Path, dict]:
    """The sample release with every harmless variant a real release may carry; returns the expected counts."""
    entries = sample.release_entries()
    mcq, open_ended = json.loads(entries[MCQ_JSON]), json.loads(entries[OPEN_JSON])
    mcq[0]["answer"] = mcq[0]["answer"].lower()
    mcq[1]["answer"] += "."
    mcq[2]["answer"] = f"({mcq[2]['answer']})"
    mcq[3]["answer"] = "B)  dab-labelled antibody BINDING."  # option B of index 3, in other case and spacing
    mcq[4]["question"] = "  " + mcq[4]["question"] + "\n"
    mcq[5]["index"] = "5"
    mcq[6]["C"] = 5
    open_ended[0]["visual_description"] = "First line.\r\nSecond line."
    entries[MCQ_JSON] = b"\xef\xbb\xbf" + json.dumps(mcq, indent=1).encode()
    entries[OPEN_JSON] = json.dumps(open_ended, indent=1).replace("\n", "\r\n").encode()
    entries[JPEG_NAMED_PNG] = _as_jpeg(entries[JPEG_NAMED_PNG])
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            if data is not None:
                archive.writestr(name, data)
    jpeg_rows = sum(record["image_path"] == JPEG_NAMED_PNG for record in mcq + open_ended)
    return path, {"answer_letter_case": 1, "answer_letter_punctuation": 2, "answer_letter_with_text": 1,
                  "crlf_line_ends": 2, "image_extension_mismatch": jpeg_rows, "index_as_text": 1,
                  "json_byte_order_mark": 1, "option_as_number": 1, "surrounding_whitespace": 1}


def test_harmless_variants_build_and_are_counted_per_kind(tmp_path: Path, capsys) -> None:
    source, expected = write_variant_release(tmp_path / "variants.zip")
    assert medcmr.main(["build", "--source", str(source), "--out", str(tmp_path / "medcmr")]) == 0
    printed = capsys.readouterr().out
    for kind, count in expected.items():
        assert f"  normalised {kind}: {count:,} (e.g. " in printed, kind
    assert f"{MCQ_JSON}: index 3: field 'answer'" in printed
    info = json.loads((tmp_path / "medcmr" / "build_info.json").read_text())
    assert info["normalised"] == expected

    rows = {row["id"]: row for row in datasets.load_dataset(str(tmp_path / "medcmr"), split="test")}
    mcq, open_ended = sample.sample_records()
    assert [rows[f"mcq-{n}"]["answer"] for n in range(4)] == [record["answer"] for record in mcq[:4]]
    assert rows["mcq-3"]["answer"] == "B"
    assert rows["mcq-4"]["question"] == mcq[4]["question"]
    assert rows["mcq-5"]["index"] == 5 and rows["mcq-6"]["options"][2] == "5"
    assert rows["open-0"]["visual_description"] == "First line.\nSecond line."
    with zipfile.ZipFile(source) as archive:
        jpeg = archive.read(JPEG_NAMED_PNG)
    shards = [pq.read_table(shard, columns=["image_path", "image"]).to_pylist()
              for shard in (tmp_path / "medcmr").glob("data/*/*.parquet")]
    kept = [row["image"]["bytes"] for shard in shards for row in shard if row["image_path"] == JPEG_NAMED_PNG]
    assert kept and all(data == jpeg for data in kept), "the JPEG's bytes are kept as they are"
    assert rows["mcq-3"]["image"].format == "JPEG"


def test_a_clean_release_normalises_nothing(built_dataset: Path) -> None:
    assert json.loads((built_dataset / "build_info.json").read_text())["normalised"] == {}


def test_check_validates_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    source, expected = write_variant_release(tmp_path / "variants.zip")
    monkeypatch.chdir(tmp_path)
    before = tree_bytes(tmp_path)
    assert medcmr.main(["build", "--check", "--source", str(source)]) == 0
    printed = capsys.readouterr().out
    assert f"checked variants.zip: {release_counts()['all']} rows, every image checked" in printed
    assert "nothing written" in printed
    for kind, count in expected.items():
        assert f"  normalised {kind}: {count:,}" in printed
    assert f"  {'long_tail_open':<20} {release_counts()['long_tail_open']:>7,} rows" in printed
    assert tree_bytes(tmp_path) == before and not (tmp_path / "medcmr").exists()

    broken = write_release(tmp_path / "broken.zip", _set("mcq", 3, "answer", "B) Melanin"),
                           add={"dataset/imgs/head_ct_plain.png": b"\x89PNG\r\n\x1a\nnot really"})
    before = tree_bytes(tmp_path)
    assert medcmr.main(["build", "--check", "--source", str(broken), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert f"{MCQ_JSON}: index 3: field 'answer'" in error
    assert tree_bytes(tmp_path) == before and not (tmp_path / "out").exists()


def test_check_decodes_every_image(tmp_path: Path, capsys) -> None:
    broken = write_release(tmp_path / "broken.zip", add={"dataset/imgs/head_ct_plain.png": _truncated_jpeg()})
    assert medcmr.main(["build", "--check", "--source", str(broken)]) == 2
    assert f"{MCQ_JSON}: index 12: field 'image_path': undecodable" in capsys.readouterr().err


# --------------------------------------------------------------------------- the questions artifact
def test_questions_artifact_is_every_question_without_images(built_dataset: Path) -> None:
    from release.questions import QUESTIONS_FILE, questions_fingerprint

    artifact = built_dataset / QUESTIONS_FILE
    assert questions_fingerprint(artifact) == medcmr.dataset_fingerprint(built_dataset)
    table = pq.read_table(artifact)
    assert "image" not in table.column_names and table.num_rows == release_counts()["all"]
    from_shards = sorted((row for shard in built_dataset.glob("data/*/*.parquet")
                          for row in pq.read_table(shard).drop(["image"]).to_pylist()), key=lambda row: row["id"])
    assert table.drop(["shard"]).to_pylist() == from_shards
    for row in table.to_pylist():  # every row names the shard that holds its image
        in_shard = pq.read_table(built_dataset / row["shard"], columns=["id"]).column("id").to_pylist()
        assert row["id"] in in_shard
    info = json.loads((built_dataset / "build_info.json").read_text())
    assert info["questions"] == {"path": QUESTIONS_FILE, "rows": table.num_rows,
                                 "sha256": hashlib.sha256(artifact.read_bytes()).hexdigest()}


def test_the_artifact_is_no_config_and_load_dataset_reads_only_the_shards(built_dataset: Path) -> None:
    card = DatasetCard.load(built_dataset / "README.md")
    patterns = [pattern for config in card.data.configs for pattern in config["data_files"][0]["path"]]
    assert all(pattern.startswith("data/") for pattern in patterns)
    assert not [pattern for pattern in patterns if list(built_dataset.glob(pattern)) and "questions" in pattern]
    builder = datasets.load_dataset_builder(str(built_dataset), "all")
    files = sorted(Path(str(file)).relative_to(built_dataset).as_posix() for file in builder.config.data_files["test"])
    assert files == sorted(p.relative_to(built_dataset).as_posix() for p in built_dataset.glob("data/*/test-*.parquet"))
    ds = datasets.load_dataset(str(built_dataset), "all", split="test")
    assert ds.num_rows == release_counts()["all"] and list(ds.features) == list(medcmr.FEATURES)


def test_a_folder_with_only_the_artifact_serves_questions_and_provenance(built_dataset: Path, tmp_path: Path) -> None:
    from release.questions import QUESTIONS_FILE

    (tmp_path / "questions").mkdir()
    shutil.copy(built_dataset / QUESTIONS_FILE, tmp_path / QUESTIONS_FILE)
    shutil.copy(built_dataset / "build_info.json", tmp_path / "build_info.json")
    assert medcmr.load_questions(tmp_path) == medcmr.load_questions(built_dataset)
    assert medcmr.load_questions(tmp_path, "open") == medcmr.load_questions(built_dataset, "open")
    assert medcmr.provenance(tmp_path) == medcmr.provenance(built_dataset)
    assert medcmr.provenance(tmp_path).questions == release_counts()["all"]

    info = json.loads((tmp_path / "build_info.json").read_text())
    (tmp_path / "build_info.json").write_text(json.dumps(info | {"fingerprint": "0123456789abcdef"}))
    with pytest.raises(ValueError, match="belongs to build .* but build_info.json is build 0123456789abcdef"):
        medcmr.load_questions(tmp_path)


def test_a_build_has_the_usual_permissions(sample_zip: Path, tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        medcmr.build(sample_zip, tmp_path / "medcmr")
    finally:
        os.umask(previous)
    out = tmp_path / "medcmr"
    modes = {path.relative_to(out).as_posix(): path.stat().st_mode & 0o777 for path in [out, *out.rglob("*")]}
    assert {mode for name, mode in modes.items() if (out / name).is_dir()} == {0o750}, modes
    assert {mode for name, mode in modes.items() if (out / name).is_file()} == {0o640}, modes
