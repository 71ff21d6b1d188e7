"""Every setting and its default in one place, read from the environment once.

The command line, the Space and the worker share these; flags override them where a command
has flags. Secrets (API keys, the HF token) are kept out of `repr`, so they never reach a log.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping


class SettingsError(ValueError):
    """An environment variable with a value that cannot be used; the message names it."""


@dataclass(frozen=True)
class EndpointSettings:
    """Where an OpenAI-compatible endpoint lives and how patiently to call it."""

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    max_retries: int = 4


JUDGE_TIMEOUT_S = 60.0
JUDGE_MAX_RETRIES = 4
JUDGE_CONCURRENCY = 16
PREDICT_TIMEOUT_S = 120.0
PREDICT_MAX_RETRIES = 4
PREDICT_CONCURRENCY = 16
PREDICT_MAX_TOKENS = 1024
PREDICT_IMAGE_MAX_SIDE = 2048
AUDIT_SAMPLE = (20, 0.05)
AUDIT_TOLERANCE = 10.0  # calibrated by bench/bench_audit.py (docs/open-scores.md)


@dataclass(frozen=True)
class Settings:
    """The kit's settings; `Settings.from_env()` reads them, the defaults below apply otherwise."""

    home: Path | None = None                       # MEDCMR_HOME
    judge: EndpointSettings = EndpointSettings(timeout=JUDGE_TIMEOUT_S, max_retries=JUDGE_MAX_RETRIES)
    judge_concurrency: int = JUDGE_CONCURRENCY     # MEDCMR_JUDGE_CONCURRENCY
    judge_deadline_s: float = 3600.0               # MEDCMR_JUDGE_DEADLINE_S: one submission's open judging
    predict: EndpointSettings = EndpointSettings(timeout=PREDICT_TIMEOUT_S, max_retries=PREDICT_MAX_RETRIES)
    audit: EndpointSettings = EndpointSettings(timeout=JUDGE_TIMEOUT_S, max_retries=JUDGE_MAX_RETRIES)  # MEDCMR_AUDIT_*
    audit_sample: tuple[int, float] = AUDIT_SAMPLE  # MEDCMR_AUDIT_SAMPLE="20/0.05": max(20, 5%) of judged items
    audit_tolerance: float = AUDIT_TOLERANCE       # MEDCMR_AUDIT_TOLERANCE: points primary may exceed audit
    owners: tuple[str, ...] = ()                   # MEDCMR_OWNERS (comma list) + SPACE_AUTHOR_NAME on a Space
    rate_limit: tuple[int, float] = (5, 3600.0)   # MEDCMR_RATE_LIMIT="5/3600": per submitter
    max_file_bytes: int = 50 * 2**20               # MEDCMR_MAX_FILE_MB
    check_concurrency: int = 2                     # MEDCMR_CHECK_CONCURRENCY: uploads checked at once
    check_wait_s: float = 2.0                      # MEDCMR_CHECK_WAIT_S: wait for a free check, then "busy"
    refusal_limit: tuple[int, float] = (20, 3600.0)  # MEDCMR_REFUSAL_LIMIT="20/3600": refusals per submitter
    upload_sweep_s: int = 300                      # MEDCMR_UPLOAD_SWEEP_S: how often unused uploads are swept
    upload_max_age_s: int = 1800                   # MEDCMR_UPLOAD_MAX_AGE_S: an upload older than this is swept
    upload_grace_s: float = 30.0                   # MEDCMR_UPLOAD_GRACE_S: a handled upload is deleted this much later
    retry_failed_after_s: float = 600.0            # MEDCMR_RETRY_FAILED_AFTER_S: first retry; doubles per failure
    lease_s: float = 30.0                          # MEDCMR_LEASE_S: a silent worker process loses the home after this
    results_repo: str | None = None                # MEDCMR_RESULTS_REPO (with HF_TOKEN: the Hub mirror)
    results_every_min: float = 5.0                 # MEDCMR_RESULTS_EVERY_MIN
    dataset_repo: str | None = None                # MEDCMR_DATASET_REPO: a pushed build the Space scores against
    dataset_revision: str | None = None            # MEDCMR_DATASET_REVISION: its pinned commit (default: main)
    hf_token: str | None = field(default=None, repr=False)  # HF_TOKEN
    port: int = 7860                               # GRADIO_SERVER_PORT
    host: str | None = None                        # GRADIO_SERVER_NAME
    on_space: bool = False                         # SYSTEM=spaces and SPACE_ID set (as Gradio's OAuth tests)
    cache_root: Path = Path.home() / ".cache"      # XDG_CACHE_HOME

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Settings from `env` (default: os.environ); a malformed value is a SettingsError naming it."""
        env = os.environ if env is None else env
        get = env.get
        return cls(
            home=Path(get("MEDCMR_HOME")) if get("MEDCMR_HOME") else None,
            judge=endpoint_settings(env, "MEDCMR_JUDGE", JUDGE_TIMEOUT_S, JUDGE_MAX_RETRIES),
            judge_concurrency=_number(env, "MEDCMR_JUDGE_CONCURRENCY", JUDGE_CONCURRENCY, int, minimum=1),
            judge_deadline_s=_number(env, "MEDCMR_JUDGE_DEADLINE_S", 3600.0, float, minimum=1),
            predict=endpoint_settings(env, "MEDCMR_PREDICT", PREDICT_TIMEOUT_S, PREDICT_MAX_RETRIES),
            audit=endpoint_settings(env, "MEDCMR_AUDIT", JUDGE_TIMEOUT_S, JUDGE_MAX_RETRIES),
            audit_sample=_audit_sample(get("MEDCMR_AUDIT_SAMPLE", "20/0.05")),
            audit_tolerance=_number(env, "MEDCMR_AUDIT_TOLERANCE", AUDIT_TOLERANCE, float, minimum=0),
            owners=_owners(get("MEDCMR_OWNERS", ""),
                           get("SPACE_AUTHOR_NAME") if get("SYSTEM") == "spaces" and get("SPACE_ID") else None),
            rate_limit=_rate_limit(get("MEDCMR_RATE_LIMIT", "5/3600")),
            max_file_bytes=int(_number(env, "MEDCMR_MAX_FILE_MB", 50.0, float, minimum=0.001) * 2**20),
            check_concurrency=_number(env, "MEDCMR_CHECK_CONCURRENCY", 2, int, minimum=1),
            check_wait_s=_number(env, "MEDCMR_CHECK_WAIT_S", 2.0, float, minimum=0),
            refusal_limit=_rate_limit(get("MEDCMR_REFUSAL_LIMIT", "20/3600"), "MEDCMR_REFUSAL_LIMIT"),
            upload_sweep_s=_number(env, "MEDCMR_UPLOAD_SWEEP_S", 300, int, minimum=1),
            upload_max_age_s=_number(env, "MEDCMR_UPLOAD_MAX_AGE_S", 1800, int, minimum=1),
            upload_grace_s=_number(env, "MEDCMR_UPLOAD_GRACE_S", 30.0, float, minimum=0),
            retry_failed_after_s=_number(env, "MEDCMR_RETRY_FAILED_AFTER_S", 600.0, float, minimum=0),
            lease_s=_number(env, "MEDCMR_LEASE_S", 30.0, float, minimum=1),
            results_repo=get("MEDCMR_RESULTS_REPO") or None,
            results_every_min=_number(env, "MEDCMR_RESULTS_EVERY_MIN", 5.0, float, minimum=0.1),
            dataset_repo=(get("MEDCMR_DATASET_REPO") or "").strip() or None,
            dataset_revision=(get("MEDCMR_DATASET_REVISION") or "").strip() or None,
            hf_token=get("HF_TOKEN") or None,
            port=_number(env, "GRADIO_SERVER_PORT", 7860, int, minimum=1),
            host=get("GRADIO_SERVER_NAME") or None,
            on_space=get("SYSTEM") == "spaces" and bool(get("SPACE_ID")),
            cache_root=Path(get("XDG_CACHE_HOME") or Path.home() / ".cache"),
        )

    @property
    def judge_cache(self) -> Path:
        """One verdict cache per user, shared by every command-line run."""
        return self.cache_root / "medcmr" / "judge_cache.sqlite"


def endpoint_settings(env: Mapping[str, str], prefix: str, timeout: float, max_retries: int) -> EndpointSettings:
    """`{prefix}_BASE_URL/_MODEL/_API_KEY/_TIMEOUT/_MAX_RETRIES`, falling back to `OPENAI_*` for URL and key."""
    return EndpointSettings(
        base_url=env.get(f"{prefix}_BASE_URL") or env.get("OPENAI_BASE_URL") or None,
        model=env.get(f"{prefix}_MODEL") or None,
        api_key=env.get(f"{prefix}_API_KEY") or env.get("OPENAI_API_KEY") or None,
        timeout=_number(env, f"{prefix}_TIMEOUT", timeout, float, minimum=0.001),
        max_retries=_number(env, f"{prefix}_MAX_RETRIES", max_retries, int, minimum=0),
    )


def _number(env: Mapping[str, str], name: str, default, kind: type, *, minimum: float):
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a {kind.__name__} ≥ {minimum:g}") from None
    if not value >= minimum:
        raise SettingsError(f"{name}={raw!r}: expected a {kind.__name__} ≥ {minimum:g}")
    return value


def _rate_limit(value: str, name: str = "MEDCMR_RATE_LIMIT") -> tuple[int, float]:
    count, _, window = value.partition("/")
    try:
        parsed = int(count), float(window or 3600)
    except ValueError:
        parsed = (0, 0.0)
    if parsed[0] < 1 or not parsed[1] > 0:
        raise SettingsError(f"{name}={value!r}: expected COUNT/SECONDS, e.g. 5/3600")
    return parsed


def _audit_sample(value: str) -> tuple[int, float]:
    """"MIN/FRACTION": audit max(MIN, FRACTION of the judged open items), e.g. 20/0.05."""
    count, _, fraction = value.partition("/")
    try:
        parsed = int(count), float(fraction or 0)
    except ValueError:
        parsed = (-1, -1.0)
    if parsed[0] < 1 or not 0 <= parsed[1] <= 1:
        raise SettingsError(f"MEDCMR_AUDIT_SAMPLE={value!r}: expected MIN/FRACTION, e.g. 20/0.05")
    return parsed


def _owners(listed: str, space_author: str | None) -> tuple[str, ...]:
    """Who may moderate when signed in: the Space's owner and the operators listed."""
    names = [name.strip() for name in listed.split(",") if name.strip()]
    return tuple(dict.fromkeys([*([space_author] if space_author else []), *names]))
