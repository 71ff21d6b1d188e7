"""`python medcmr.py export`: one entry point for both tools, returning what to tell the user.

The next steps it prints are the commands of docs/bridges.md, for the folders the user named, so
they run as printed from where the export ran (tests/test_bridges.py holds the two equal).
"""
from __future__ import annotations

from pathlib import Path

from core.commands import medcmr, python

from . import lmms_tasks, vlmevalkit

VLMEVALKIT_REPO = "https://github.com/open-compass/VLMEvalKit"
LMMS_EVAL_MODEL = "--model qwen2_5_vl --model_args pretrained=Qwen/Qwen2.5-VL-7B-Instruct"  # any lmms-eval model
LMMS_EVAL_OUTPUT = "lmms_results"


def _from_clone(path: Path) -> str:
    """`path` as VLMEvalKit's `run.py` sees it, run in its clone beside where the export ran."""
    return str(path) if path.is_absolute() else f"../{path}"


def vlmevalkit_steps(data_dir: Path, out: Path, model: str = vlmevalkit.DEFAULT_MODEL) -> list[str]:
    """Run VLMEvalKit on the export in `out`, then merge and score its files (plain and circular)."""
    names, kit = vlmevalkit.dataset_names(), python()
    runs = f"VLMEvalKit/outputs/{model}/T*/{model}"
    lmudata = _from_clone(out) if out.is_absolute() else f"$PWD/{_from_clone(out)}"
    return [f"git clone {VLMEVALKIT_REPO}   # once, here; then set the model in {out / vlmevalkit.CONFIG_FILE}",
            f"(cd VLMEvalKit && LMUData={lmudata} python run.py --config {_from_clone(out / vlmevalkit.CONFIG_FILE)} "
            "--mode infer)",
            f"{kit} -m bridges merge --out preds.jsonl {runs}_{vlmevalkit.DEFAULT_NAME}_*.xlsx",
            f"{kit} -m judge score --predictions preds.jsonl --data {data_dir} --out results.json",
            f"{kit} -m bridges merge --out circular.jsonl {runs}_{names['circular']}.xlsx",
            f"{kit} -m judge score --circular --predictions circular.jsonl --data {data_dir} --out circular.json"]


def lmms_eval_steps(data_dir: Path, out: Path) -> list[str]:
    """Run lmms-eval on the task folder `out`, then merge and score its samples."""
    kit = python()
    return [f"lmms-eval {LMMS_EVAL_MODEL} --include_path {out} --tasks {lmms_tasks.GROUPS[0]} --log_samples "
            f"--output_path {LMMS_EVAL_OUTPUT}",
            f"{kit} -m bridges merge --out preds.jsonl $(find {LMMS_EVAL_OUTPUT} -name '*_samples_medcmr_*.jsonl')",
            f"{kit} -m judge score --predictions preds.jsonl --data {data_dir} --out results.json"]


def run_export(tool: str, data_dir: Path, out: Path, *, dataset_path: str | None = None) -> str:
    """Export `data_dir` (a build) for `tool` into `out`; what was written and the next steps, as text."""
    data_dir, out = Path(data_dir), Path(out)
    if not (data_dir / "build_info.json").is_file():
        raise FileNotFoundError(f"{data_dir}: not a built Med-CMR folder (no build_info.json); "
                                f"build one with `{medcmr('build')}`")
    if tool == "vlmevalkit":
        report = vlmevalkit.export(data_dir, out)
        files, rows = report["files"], report["rows"]
        wrote = (f"wrote {files['mcq']} ({rows['mcq']:,} rows), {files['open']} ({rows['open']:,} rows), "
                 f"{files['circular']} ({rows['circular']:,} rows: each MCQ in 5 rotations) and {files['config']}")
        steps = vlmevalkit_steps(data_dir, out)
    elif tool == "lmms-eval":
        written = lmms_tasks.write(out, dataset_path or str(data_dir.resolve()))
        wrote = f"wrote {len(written)} files to {out} (tasks {', '.join(lmms_tasks.GROUPS)} and one per dimension)"
        steps = lmms_eval_steps(data_dir, out)
    else:
        raise ValueError(f"unknown export format {tool!r}")
    return "\n".join([wrote, "next (docs/bridges.md):", *(f"  {step}" for step in steps)])
