"""`python medcmr.py export`: one entry point for both tools, returning what to tell the user."""
from __future__ import annotations

from core.commands import medcmr

from pathlib import Path

from . import lmms_tasks, vlmevalkit


def run_export(tool: str, data_dir: Path, out: Path, *, dataset_path: str | None = None) -> str:
    """Export `data_dir` (a build) for `tool` into `out`; the next steps as text."""
    data_dir, out = Path(data_dir), Path(out)
    if not (data_dir / "build_info.json").is_file():
        raise FileNotFoundError(f"{data_dir}: not a built Med-CMR folder (no build_info.json); "
                                f"build one with `{medcmr('build')}`")
    if tool == "vlmevalkit":
        report = vlmevalkit.export(data_dir, out)
        files = report["files"]
        return (f"wrote {files['mcq']} ({report['rows']['mcq']} rows), {files['open']} ({report['rows']['open']} rows) "
                f"and {files['config']}\n"
                f"run: LMUData={out.resolve()} python run.py --config {files['config']} --mode infer"
                "\nscore: python -m bridges merge --out predictions.jsonl outputs/MODEL/*/MODEL_MedCMR_*.xlsx"
                " && python -m judge score --predictions predictions.jsonl ...")
    if tool == "lmms-eval":
        written = lmms_tasks.write(out, dataset_path or str(data_dir.resolve()))
        return (f"wrote {len(written)} files to {out}\nrun: lmms_eval --include_path {out} --tasks medcmr "
                "--log_samples --output_path results ...\nscore: python -m bridges merge --out predictions.jsonl "
                "results/*/*_samples_medcmr_*.jsonl && python -m judge score --predictions predictions.jsonl ...")
    raise ValueError(f"unknown export format {tool!r}")
