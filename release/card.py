"""The dataset card of a build: dataset_card.md with its YAML and tables filled from the data.

Nothing in the card is typed by hand that the data can say: configs, features, sizes and every
count come from the build, so the card always agrees with the shards beside it.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from string import Template

import yaml

from core.features import FEATURES
from core.vocabulary import (DIMENSIONS, HUB_REPO, LETTERS, MCQ_PROMPT, OPEN_PROMPT, PERCEPTION, PROMPT_VERSION,
                             QUESTION_TYPES, REASONING, TAXONOMY_FIELDS, configs)

# The repository's dataset_card.md, reached through a link inside the package so that an installed
# kit (not only a checkout) carries it: setuptools copies the linked file into the wheel.
CARD_TEMPLATE = Path(__file__).resolve().parent / "dataset_card.md"
LEADERBOARD_URL = "https://huggingface.co/spaces/Med-CMR/leaderboard"


def size_category(rows: int) -> str:
    """The Hub's `size_categories` bucket of a row count."""
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if rows < limit:
            return name
    return "100K<n<1M"


def metadata(template_yaml: dict, counts: Counter, part_bytes: Counter, arrow_bytes: Counter) -> dict:
    """The template's YAML plus what the build knows: size, configs and their features and splits."""
    meta = dict(template_yaml, size_categories=[size_category(sum(counts.values()))])
    table = configs(counts)
    meta["configs"] = [
        {"config_name": name, **({"default": True} if name == "all" else {}),
         "data_files": [{"split": "test", "path": [f"data/{s}_{k}/test-*.parquet" for s, k in config["parts"]]}]}
        for name, config in table.items()]
    meta["dataset_info"] = [
        {"config_name": name, "features": FEATURES._to_yaml_list(),
         "splits": [{"name": "test", "num_bytes": sum(arrow_bytes[p] for p in config["parts"]),
                     "num_examples": config["rows"]}],
         "download_size": sum(part_bytes[p] for p in config["parts"]),
         "dataset_size": sum(arrow_bytes[p] for p in config["parts"])}
        for name, config in table.items()]
    return meta


def sample_notes(sources: dict | None) -> str:
    """For a build of the sample release: what it is and where every image comes from."""
    if not sources:
        return ""
    lines = ["## This build is the sample release", "", sources["note"], "",
             "| image | source package | file | licence |", "|---|---|---|---|"]
    lines += [f"| `{item['image_path']}` | {item['package']} | `{item['file']}` | {item['licence']} |"
              for item in sources["images"]]
    return "\n".join(lines) + "\n"


def provenance(sample_sources: dict | None) -> str:
    if sample_sources:
        return ("Built by `medcmr.py` from the sample release that `medcmr.py sample` makes (see above), "
                "not from the official release; `build_info.json` holds the archive's sha256 and every "
                "shard's sha256.")
    return ("Built by `medcmr.py` from the official release `dataset.zip` of "
            f"[{HUB_REPO}](https://huggingface.co/datasets/{HUB_REPO}) (Apache-2.0); "
            "`build_info.json` holds the source archive's sha256 and every shard's sha256.")


def taxonomy_counts(rows: list[dict]) -> dict[str, Counter]:
    """How many rows carry each value of each taxonomy field: the lists come from the data."""
    return {field: Counter(row[field] for row in rows) for field in TAXONOMY_FIELDS}


def taxonomy_rows(values: dict[str, Counter]) -> str:
    """One table row per field: how many values, then every value with its count, most common first."""
    return "\n".join(
        f"| `{field}` | {len(counter)} | "
        + ", ".join(f"{value.replace('|', '&#124;')} ({n:,})"
                    for value, n in sorted(counter.items(), key=lambda item: (-item[1], item[0]))) + " |"
        for field, counter in values.items())


def render_card(counts: Counter, part_bytes: Counter, arrow_bytes: Counter, values: dict[str, Counter],
                sample_sources: dict | None = None) -> str:
    """README.md of a build; `counts` etc. are keyed by (dimension slug, question type), `values`
    is `taxonomy_counts` of the rows."""
    _, front, body = CARD_TEMPLATE.read_text(encoding="utf-8").split("---\n", 2)
    meta = metadata(yaml.safe_load(front), counts, part_bytes, arrow_bytes)
    by_kind = {kind: sum(n for (_, k), n in counts.items() if k == kind) for kind in QUESTION_TYPES}
    dimension_rows = "\n".join(
        f"| {task} | `{slug}` | {counts[slug, 'mcq']:,} | {counts[slug, 'open']:,} | "
        f"{counts[slug, 'mcq'] + counts[slug, 'open']:,} |" for task, slug in ((d.release_name, d.slug) for d in DIMENSIONS))
    config_rows = "\n".join(f"| `{name}` | {config['rows']:,} |" for name, config in configs(counts).items())
    text = Template(body).substitute(
        total=f"{sum(counts.values()):,}", mcq=f"{by_kind['mcq']:,}", open=f"{by_kind['open']:,}",
        options=f"{len(LETTERS)} options, {LETTERS[0]}–{LETTERS[-1]}",
        dimensions=f"{len(DIMENSIONS)} dimensions, {sum(d.group == PERCEPTION for d in DIMENSIONS)} on the visual "
                   f"side and {sum(d.group == REASONING for d in DIMENSIONS)} on the reasoning side",
        dimension_rows=dimension_rows, config_rows=config_rows, notes=sample_notes(sample_sources),
        taxonomy_rows=taxonomy_rows(values),
        mcq_prompt=MCQ_PROMPT, open_prompt=OPEN_PROMPT, prompt_version=PROMPT_VERSION,
        leaderboard=LEADERBOARD_URL, provenance=provenance(sample_sources))
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000) + "---\n" + text
