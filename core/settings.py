"""Every setting and its default in one place, read from the environment once.

The command line, the Space and the worker share these; flags override them where a command
has flags. Secrets (API keys, the HF token) are kept out of `repr`, so they never reach a log.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import MISSING, dataclass, field, fields
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Callable, Mapping


class SettingsError(ValueError):
    """An environment variable with a value that cannot be used; the message names it."""


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
AUDIT_ITEM_TOLERANCE = 34.0  # calibrated by bench/bench_audit.py (docs/open-scores.md)
RUNNER_TIMEOUT_S = 60.0
RUNNER_MAX_RETRIES = 2
RUNNER_CONCURRENCY = 4
REPRODUCE_SAMPLE = (50, 0.01)
REPRODUCE_BUDGET = 2000  # runner calls per UTC day: about nine reproductions of the release's default sample


@dataclass(frozen=True)
class EndpointSettings:
    """Where an OpenAI-compatible endpoint lives and how patiently to call it."""

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = JUDGE_TIMEOUT_S
    max_retries: int = JUDGE_MAX_RETRIES


_RUNNER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_RUNNER_FIELDS = ("name", "base_url", "models", "api_key_env", "timeout", "max_retries", "concurrency")


@dataclass(frozen=True)
class RunnerSettings:
    """A runner the operator trusts: an OpenAI-compatible endpoint (an inference provider, the operator's
    vLLM, a vendor's API) and the models it serves, by id or by pattern (`Qwen/*`). Its key is read from
    the variable `api_key_env` names, never from the configuration, and never shown."""

    name: str
    base_url: str
    models: tuple[str, ...]
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None
    timeout: float = RUNNER_TIMEOUT_S
    max_retries: int = RUNNER_MAX_RETRIES
    concurrency: int = RUNNER_CONCURRENCY

    def serves(self, model: str) -> bool:
        """Whether this runner serves `model` (an id it lists, or one its patterns match; case counts)."""
        return any(fnmatchcase(model, pattern) for pattern in self.models)


def _setting(default: object, env: str, doc: str, **kwargs: object):
    """A setting's default, the variables that set it and what it does (the configuration table is made from these)."""
    return field(default=default, metadata={"env": env, "doc": doc}, **kwargs)


def _setting_made(make: Callable[[], object], env: str, doc: str):
    """A setting whose default is made when Settings are (a folder under the home directory of that moment)."""
    return field(default_factory=make, metadata={"env": env, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """The kit's settings; `Settings.from_env()` reads them, the defaults below apply otherwise."""

    home: Path | None = _setting(None, "MEDCMR_HOME", "The home folder: submissions, the store, the dataset "
                                 "(else /data/medcmr on a Space with storage, else `medcmr/` in the user data "
                                 "folder; a checkout's `.medcmr_home` from an earlier version is kept).")
    judge: EndpointSettings = _setting(
        EndpointSettings(timeout=JUDGE_TIMEOUT_S, max_retries=JUDGE_MAX_RETRIES),
        "MEDCMR_JUDGE_BASE_URL, _MODEL, _API_KEY, _TIMEOUT, _MAX_RETRIES",
        "The judge for open answers (URL and key fall back to OPENAI_BASE_URL, OPENAI_API_KEY); seconds per "
        f"call ({JUDGE_TIMEOUT_S:g}) and retries on 408/429/5xx ({JUDGE_MAX_RETRIES}). Unset: open answers await a judge.")
    judge_concurrency: int = _setting(JUDGE_CONCURRENCY, "MEDCMR_JUDGE_CONCURRENCY", "Judge calls in flight.")
    judge_deadline_s: float = _setting(3600.0, "MEDCMR_JUDGE_DEADLINE_S", "The longest one submission's open "
                                       "judging may take; past it the submission fails and its MCQ row stays.")
    judge_batch: bool = _setting(False, "MEDCMR_JUDGE_BATCH", "`1`: judge each submission's open answers as one "
                                 "batch through the judge's Batch API (OpenAI or compatible: half the price, done "
                                 "within 24 h) instead of one call per answer; an expired or failed batch fails the "
                                 "submission, retried like any judging failure.")
    judge_batch_poll_s: float = _setting(60.0, "MEDCMR_JUDGE_BATCH_POLL_S", "How often a submission's batch at the "
                                         "judge is checked (meanwhile the judge lane serves others).")
    predict: EndpointSettings = _setting(
        EndpointSettings(timeout=PREDICT_TIMEOUT_S, max_retries=PREDICT_MAX_RETRIES),
        "MEDCMR_PREDICT_BASE_URL, _MODEL, _API_KEY, _TIMEOUT, _MAX_RETRIES",
        "The model `predict` asks (flags win over these).")
    audit: EndpointSettings = _setting(
        EndpointSettings(timeout=JUDGE_TIMEOUT_S, max_retries=JUDGE_MAX_RETRIES),
        "MEDCMR_AUDIT_BASE_URL, _MODEL, _API_KEY, _TIMEOUT, _MAX_RETRIES",
        "The audit judge that re-scores a sample of each submission's judged open answers (docs/open-scores.md).")
    audit_sample: tuple[int, float] = _setting(AUDIT_SAMPLE, "MEDCMR_AUDIT_SAMPLE",
                                               "`MIN/FRACTION`: audit max(MIN, FRACTION) of the judged open items.")
    audit_tolerance: float = _setting(AUDIT_TOLERANCE, "MEDCMR_AUDIT_TOLERANCE", "Points (0-100) the primary "
                                      "judge may exceed the audit (the whole 95% interval) before review.")
    audit_item_tolerance: float = _setting(AUDIT_ITEM_TOLERANCE, "MEDCMR_AUDIT_ITEM_TOLERANCE", "Points (0-100) "
                                           "the primary judge may grade one answer above the audit before every "
                                           "answer of the submission is audited (an outlier).")
    runners: tuple[RunnerSettings, ...] = _setting(
        (), "MEDCMR_RUNNERS", "Runners the operator trusts to re-ask a sample of each submission whose model they "
        "serve (docs/reproduce.md): a JSON list, or the path of a JSON file, of `{name, base_url, models, api_key_env, "
        f"timeout ({RUNNER_TIMEOUT_S:g}), max_retries ({RUNNER_MAX_RETRIES}), concurrency ({RUNNER_CONCURRENCY})}}`; "
        "each key is read from the variable its `api_key_env` names.")
    runners_allow_private: bool = _setting(False, "MEDCMR_RUNNERS_ALLOW_PRIVATE", "1: runners may be plain http and "
                                           "on loopback, private or CGNAT addresses (a vLLM on this machine or "
                                           "network); link-local and cloud metadata addresses are always refused.")
    reproduce_sample: tuple[int, float] = _setting(REPRODUCE_SAMPLE, "MEDCMR_REPRODUCE_SAMPLE", "`MIN/FRACTION`: "
                                                   "re-ask max(MIN, FRACTION) of the questions, MCQ and open alike.")
    reproduce_budget: int = _setting(REPRODUCE_BUDGET, "MEDCMR_REPRODUCE_BUDGET", "Runner calls per UTC day for "
                                     "reproductions; one that does not fit waits for the next day's budget.")
    rank_reproduced_only: bool = _setting(False, "MEDCMR_RANK_REPRODUCED_ONLY", "1: only reproduced submissions "
                                          "are ranked; the others are shown unranked with the reason.")
    owners: tuple[str, ...] = _setting((), "MEDCMR_OWNERS", "Hub usernames (comma list) who may moderate when "
                                       "signed in, beside the Space's author (SPACE_AUTHOR_NAME).")
    rate_limit: tuple[int, float] = _setting((5, 3600.0), "MEDCMR_RATE_LIMIT", "`COUNT/SECONDS` submissions per "
                                             "submitter.")
    max_file_bytes: int = _setting(50 * 2**20, "MEDCMR_MAX_FILE_MB", "Largest upload, in MiB.")
    check_concurrency: int = _setting(2, "MEDCMR_CHECK_CONCURRENCY", "Uploads checked at once.")
    waiting_room: tuple[int, float] = _setting((64, 2048.0), "MEDCMR_WAITING_ROOM", "`COUNT/MIB`: uploads that "
                                               "arrive while every check is busy are kept and checked in turn, at "
                                               "most this many and this many MiB; beyond that, refused.")
    refusal_limit: tuple[int, float] = _setting((20, 3600.0), "MEDCMR_REFUSAL_LIMIT", "Refused submissions "
                                                "`COUNT/SECONDS` per submitter (per client when not signed in); "
                                                "beyond it a submit is refused at once, its file unread.")
    upload_sweep_s: int = _setting(300, "MEDCMR_UPLOAD_SWEEP_S", "How often Gradio's upload folder is swept.")
    upload_max_age_s: int = _setting(1800, "MEDCMR_UPLOAD_MAX_AGE_S", "An upload never submitted is swept once "
                                     "older than this.")
    upload_grace_s: float = _setting(30.0, "MEDCMR_UPLOAD_GRACE_S", "A handled upload is deleted this long after "
                                     "its last use.")
    retry_failed_after_s: float = _setting(600.0, "MEDCMR_RETRY_FAILED_AFTER_S", "First automatic retry of a "
                                           "failed submission (and of a failed audit); doubles per failure.")
    lease_s: float = _setting(30.0, "MEDCMR_LEASE_S", "How long a silent worker process keeps the home before "
                              "another takes over.")
    results_repo: str | None = _setting(None, "MEDCMR_RESULTS_REPO", "With HF_TOKEN: mirror results to this Hub "
                                        "dataset repo (created if missing).")
    results_every_min: float = _setting(5.0, "MEDCMR_RESULTS_EVERY_MIN", "Minutes between mirror commits.")
    dataset_repo: str | None = _setting(None, "MEDCMR_DATASET_REPO", "A pushed build to score against when the "
                                        "home has none (only its questions are downloaded at start).")
    dataset_revision: str | None = _setting(None, "MEDCMR_DATASET_REVISION", "Its pinned commit (default: main).")
    hf_token: str | None = _setting(None, "HF_TOKEN", "The Hub token (the mirror, pushing); never printed.",
                                    repr=False)
    trusted_proxies: int | None = _setting(None, "MEDCMR_TRUSTED_PROXIES", "Proxies in front of the Space whose "
                                           "`X-Forwarded-For` entries are trusted (the last ones; 1 on a Space, 0 "
                                           "elsewhere): a client's own entries never count.")
    port: int = _setting(7860, "GRADIO_SERVER_PORT", "The port the Space serves on.")
    host: str | None = _setting(None, "GRADIO_SERVER_NAME", "The interface (127.0.0.1; 0.0.0.0 on a Space).")
    on_space: bool = _setting(False, "SYSTEM, SPACE_ID", "Running on a Hugging Face Space (both set by it).")
    cache_root: Path = _setting_made(lambda: Path.home() / ".cache", "XDG_CACHE_HOME", "Where the command line "
                                     "keeps its verdict cache (`medcmr/judge_cache.sqlite`).")
    data_root: Path = _setting_made(lambda: Path.home() / ".local" / "share", "XDG_DATA_HOME", "The user data "
                                    "folder: the Space's home is `medcmr/` under it when no MEDCMR_HOME or /data "
                                    "says otherwise.")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Settings from `env` (default: os.environ); a malformed value is a SettingsError naming it.
        An unset (or blank) variable leaves the field's default, read from the field itself."""
        env = os.environ if env is None else env
        get = env.get
        default = _defaults(cls)
        allow_private = _flag(env, "MEDCMR_RUNNERS_ALLOW_PRIVATE", default["runners_allow_private"])
        space_author = get("SPACE_AUTHOR_NAME") if _on_space(env) else None
        max_file_mb = _number(env, "MEDCMR_MAX_FILE_MB", None, float, minimum=0.001)
        return cls(
            home=_path(env, "MEDCMR_HOME", default["home"]),
            judge=endpoint_settings(env, "MEDCMR_JUDGE", default["judge"]),
            judge_concurrency=_number(env, "MEDCMR_JUDGE_CONCURRENCY", default["judge_concurrency"], int, minimum=1),
            judge_deadline_s=_number(env, "MEDCMR_JUDGE_DEADLINE_S", default["judge_deadline_s"], float, minimum=1),
            judge_batch=_flag(env, "MEDCMR_JUDGE_BATCH", default["judge_batch"]),
            judge_batch_poll_s=_number(env, "MEDCMR_JUDGE_BATCH_POLL_S", default["judge_batch_poll_s"], float,
                                       minimum=0.1),
            predict=endpoint_settings(env, "MEDCMR_PREDICT", default["predict"]),
            audit=endpoint_settings(env, "MEDCMR_AUDIT", default["audit"]),
            audit_sample=_sample(env, "MEDCMR_AUDIT_SAMPLE", default["audit_sample"]),
            audit_tolerance=_number(env, "MEDCMR_AUDIT_TOLERANCE", default["audit_tolerance"], float, minimum=0),
            audit_item_tolerance=_number(env, "MEDCMR_AUDIT_ITEM_TOLERANCE", default["audit_item_tolerance"], float,
                                         minimum=0),
            runners=_runners(env, allow_private) or default["runners"],
            runners_allow_private=allow_private,
            reproduce_sample=_sample(env, "MEDCMR_REPRODUCE_SAMPLE", default["reproduce_sample"]),
            reproduce_budget=_number(env, "MEDCMR_REPRODUCE_BUDGET", default["reproduce_budget"], int, minimum=0),
            rank_reproduced_only=_flag(env, "MEDCMR_RANK_REPRODUCED_ONLY", default["rank_reproduced_only"]),
            owners=_owners(get("MEDCMR_OWNERS", ""), space_author) or default["owners"],
            rate_limit=_rate_limit(env, "MEDCMR_RATE_LIMIT", default["rate_limit"]),
            max_file_bytes=default["max_file_bytes"] if max_file_mb is None else int(max_file_mb * 2**20),
            check_concurrency=_number(env, "MEDCMR_CHECK_CONCURRENCY", default["check_concurrency"], int, minimum=1),
            waiting_room=_waiting_room(env, default["waiting_room"]),
            refusal_limit=_rate_limit(env, "MEDCMR_REFUSAL_LIMIT", default["refusal_limit"]),
            upload_sweep_s=_number(env, "MEDCMR_UPLOAD_SWEEP_S", default["upload_sweep_s"], int, minimum=1),
            upload_max_age_s=_number(env, "MEDCMR_UPLOAD_MAX_AGE_S", default["upload_max_age_s"], int, minimum=1),
            upload_grace_s=_number(env, "MEDCMR_UPLOAD_GRACE_S", default["upload_grace_s"], float, minimum=0),
            retry_failed_after_s=_number(env, "MEDCMR_RETRY_FAILED_AFTER_S", default["retry_failed_after_s"], float,
                                         minimum=0),
            lease_s=_number(env, "MEDCMR_LEASE_S", default["lease_s"], float, minimum=1),
            results_repo=_text(env, "MEDCMR_RESULTS_REPO", default["results_repo"]),
            results_every_min=_number(env, "MEDCMR_RESULTS_EVERY_MIN", default["results_every_min"], float,
                                      minimum=0.1),
            dataset_repo=_text(env, "MEDCMR_DATASET_REPO", default["dataset_repo"]),
            dataset_revision=_text(env, "MEDCMR_DATASET_REVISION", default["dataset_revision"]),
            hf_token=get("HF_TOKEN") or default["hf_token"],
            trusted_proxies=_number(env, "MEDCMR_TRUSTED_PROXIES", default["trusted_proxies"], int, minimum=0),
            port=_number(env, "GRADIO_SERVER_PORT", default["port"], int, minimum=1),
            host=get("GRADIO_SERVER_NAME") or default["host"],
            on_space=_on_space(env) or default["on_space"],
            cache_root=_path(env, "XDG_CACHE_HOME", default["cache_root"]),
            data_root=_path(env, "XDG_DATA_HOME", default["data_root"]),
        )

    @property
    def proxy_hops(self) -> int:
        """`X-Forwarded-For` entries to trust: as set, else one on a Space (its proxy), none elsewhere."""
        return self.trusted_proxies if self.trusted_proxies is not None else int(self.on_space)

    @property
    def judge_cache(self) -> Path:
        """One verdict cache per user, shared by every command-line run."""
        return self.cache_root / "medcmr" / "judge_cache.sqlite"


SPACE_STORAGE = Path("/data")  # a Space's persistent storage, when the Space has it
CHECKOUT = Path(__file__).resolve().parent.parent  # the repository, or site-packages for a plain install
LEGACY_HOME = CHECKOUT / ".medcmr_home"  # where earlier versions kept the home, beside the code


@dataclass(frozen=True)
class Home:
    """The Space's home folder and why it is that one (said at start, so nobody has to guess)."""

    path: Path
    why: str
    note: str | None = None  # something the operator should know about an earlier home


def resolve_home(settings: Settings, given: Path | None = None) -> Home:
    """`given` (--home), else MEDCMR_HOME, else /data/medcmr on a Space with storage, else a checkout's
    `.medcmr_home` from an earlier version, else `medcmr/` in the user data folder: never inside the
    installed code, where reinstalling or a new environment would lose every submission."""
    if given is not None:
        return Home(given.resolve(), "given with --home")
    if settings.home is not None:
        return Home(settings.home.resolve(), "from MEDCMR_HOME")
    if SPACE_STORAGE.is_dir():
        return Home(SPACE_STORAGE / "medcmr", f"the persistent storage {SPACE_STORAGE}")
    installed = CHECKOUT.name in ("site-packages", "dist-packages") or not (CHECKOUT / "pyproject.toml").is_file()
    if LEGACY_HOME.is_dir() and not installed:
        return Home(LEGACY_HOME, "this checkout's .medcmr_home, kept from an earlier version; "
                                 "MEDCMR_HOME or --home choose another")
    home = Home((settings.data_root / "medcmr").resolve(), "the user data folder (XDG_DATA_HOME, else ~/.local/share)")
    if LEGACY_HOME.is_dir():
        return Home(home.path, home.why, f"an earlier version's home inside the installed kit, {LEGACY_HOME}, is "
                                         f"not used: move it to {home.path} (or set MEDCMR_HOME to it) to keep it")
    return home


def endpoint_settings(env: Mapping[str, str], prefix: str, default: EndpointSettings) -> EndpointSettings:
    """`{prefix}_BASE_URL/_MODEL/_API_KEY/_TIMEOUT/_MAX_RETRIES`, falling back to `OPENAI_*` for URL and key,
    then to `default`."""
    return EndpointSettings(
        base_url=env.get(f"{prefix}_BASE_URL") or env.get("OPENAI_BASE_URL") or default.base_url,
        model=env.get(f"{prefix}_MODEL") or default.model,
        api_key=env.get(f"{prefix}_API_KEY") or env.get("OPENAI_API_KEY") or default.api_key,
        timeout=_number(env, f"{prefix}_TIMEOUT", default.timeout, float, minimum=0.001),
        max_retries=_number(env, f"{prefix}_MAX_RETRIES", default.max_retries, int, minimum=0),
    )


def _defaults(settings: type) -> dict[str, object]:
    """Each field's default as its dataclass states it: the one place a default is written."""
    return {item.name: item.default_factory() if item.default is MISSING else item.default
            for item in fields(settings) if not (item.default is MISSING and item.default_factory is MISSING)}


def _on_space(env: Mapping[str, str]) -> bool:
    """A Hugging Face Space sets both SYSTEM=spaces and SPACE_ID."""
    return env.get("SYSTEM") == "spaces" and bool(env.get("SPACE_ID"))


def _text(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    return (env.get(name) or "").strip() or default


def _path(env: Mapping[str, str], name: str, default: Path | None) -> Path | None:
    return Path(env[name]) if (env.get(name) or "").strip() else default


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


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}={env[name]!r}: expected 1 or 0 (true/false, yes/no, on/off)")


def _rate_limit(env: Mapping[str, str], name: str, default: tuple[int, float]) -> tuple[int, float]:
    """"COUNT/SECONDS" (a bare COUNT keeps the default's window)."""
    value = (env.get(name) or "").strip()
    if not value:
        return default
    count, _, window = value.partition("/")
    try:
        parsed = int(count), float(window) if window else default[1]
    except ValueError:
        parsed = (0, 0.0)
    if parsed[0] < 1 or not parsed[1] > 0:
        raise SettingsError(f"{name}={value!r}: expected COUNT/SECONDS, e.g. 5/3600")
    return parsed


def _waiting_room(env: Mapping[str, str], default: tuple[int, float]) -> tuple[int, float]:
    """"COUNT/MIB": how many uploads, and how many MiB of them, may wait to be checked (a bare COUNT keeps the
    default's MiB)."""
    value = (env.get("MEDCMR_WAITING_ROOM") or "").strip()
    if not value:
        return default
    count, _, size = value.partition("/")
    try:
        parsed = int(count), float(size) if size else default[1]
    except ValueError:
        parsed = (0, 0.0)
    if parsed[0] < 1 or not parsed[1] > 0:
        raise SettingsError(f"MEDCMR_WAITING_ROOM={value!r}: expected COUNT/MIB, e.g. 64/2048")
    return parsed


def _sample(env: Mapping[str, str], name: str, default: tuple[int, float]) -> tuple[int, float]:
    """"MIN/FRACTION": max(MIN, FRACTION of the items), e.g. 20/0.05 (a bare MIN means no fraction)."""
    value = (env.get(name) or "").strip()
    if not value:
        return default
    count, _, fraction = value.partition("/")
    try:
        parsed = int(count), float(fraction or 0)
    except ValueError:
        parsed = (-1, -1.0)
    if parsed[0] < 1 or not 0 <= parsed[1] <= 1:
        raise SettingsError(f"{name}={value!r}: expected MIN/FRACTION, e.g. 20/0.05")
    return parsed


def _runners(env: Mapping[str, str], allow_private: bool) -> tuple[RunnerSettings, ...]:
    """MEDCMR_RUNNERS: a JSON list (or the path of a JSON file holding one) of runners; every error names
    the variable (or file), the runner and the field."""
    raw = (env.get("MEDCMR_RUNNERS") or "").strip()
    if not raw:
        return ()
    where = "MEDCMR_RUNNERS"
    if not raw.startswith("["):
        where = f"MEDCMR_RUNNERS file {raw}"
        try:
            raw = Path(raw).read_text(encoding="utf-8")
        except OSError as error:
            raise SettingsError(f"{where}: cannot be read ({error.strerror or error})") from None
    try:
        listed = json.loads(raw)
    except ValueError as error:
        raise SettingsError(f"{where}: not JSON ({error})") from None
    if not isinstance(listed, list):
        raise SettingsError(f"{where}: expected a JSON list of runners")
    runners = tuple(_runner(env, where, number, entry, allow_private) for number, entry in enumerate(listed, 1))
    names = [runner.name for runner in runners]
    if len(set(names)) != len(names):
        raise SettingsError(f"{where}: runner names must differ (got {', '.join(names)})")
    return runners


def _runner(env: Mapping[str, str], where: str, number: int, entry: object, allow_private: bool) -> RunnerSettings:
    """One runner of MEDCMR_RUNNERS, checked field by field."""
    label = f"{where}: runner {number}"
    if not isinstance(entry, dict):
        raise SettingsError(f"{label}: expected an object with {', '.join(_RUNNER_FIELDS[:3])}")
    unknown = sorted(set(entry) - set(_RUNNER_FIELDS))
    if unknown:
        raise SettingsError(f"{label}: unknown field {unknown[0]!r} (the key is never written here: name its "
                            "variable in 'api_key_env')" if unknown[0] in ("api_key", "key", "token") else
                            f"{label}: unknown field {unknown[0]!r} (fields: {', '.join(_RUNNER_FIELDS)})")
    name = entry.get("name")
    if not isinstance(name, str) or not _RUNNER_NAME.fullmatch(name):
        raise SettingsError(f"{label}: field 'name' must be 1-40 letters, digits, '.', '_' or '-'")
    label = f"{where}: runner {name!r}"
    base_url = entry.get("base_url")
    schemes = ("https://", "http://") if allow_private else ("https://",)
    if not isinstance(base_url, str) or not base_url.startswith(schemes):
        raise SettingsError(f"{label}: field 'base_url' must be an https:// URL (plain http:// only with "
                            "MEDCMR_RUNNERS_ALLOW_PRIVATE=1)")
    models = entry.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) and m.strip() for m in models):
        raise SettingsError(f"{label}: field 'models' must be a non-empty list of model ids or patterns")
    key_env = entry.get("api_key_env")
    if key_env is not None and (not isinstance(key_env, str) or not env.get(key_env)):
        raise SettingsError(f"{label}: field 'api_key_env' names {key_env!r}, which is not set")
    default = _defaults(RunnerSettings)
    numbers = {key: _runner_number(label, key, entry.get(key), default[key], kind, minimum)
               for key, kind, minimum in (("timeout", float, 0.001), ("max_retries", int, 0), ("concurrency", int, 1))}
    return RunnerSettings(name=name, base_url=base_url, models=tuple(m.strip() for m in models),
                          api_key=env.get(key_env) if key_env else None, api_key_env=key_env, **numbers)


def _runner_number(label: str, key: str, value: object, default, kind: type, minimum: float):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)) \
            or not value >= minimum:
        raise SettingsError(f"{label}: field {key!r} must be a {kind.__name__} ≥ {minimum:g}, got {value!r}")
    return kind(value)


def _owners(listed: str, space_author: str | None) -> tuple[str, ...]:
    """Who may moderate when signed in: the Space's owner and the operators listed."""
    names = [name.strip() for name in listed.split(",") if name.strip()]
    return tuple(dict.fromkeys([*([space_author] if space_author else []), *names]))


def _shown_default(value: object) -> str:
    if isinstance(value, EndpointSettings) or value in (None, (), ""):
        return "—"
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return f"`{value[0]:g}/{value[1]:g}`"
    if isinstance(value, Path):
        return f"`~/{value.relative_to(Path.home())}`" if value.is_relative_to(Path.home()) else f"`{value}`"
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def configuration_markdown() -> str:
    """The configuration table of the docs, made from `Settings` (tests/test_docs.py keeps them equal)."""
    rows = ["| Variable | Default | Effect |", "|---|---|---|"]
    defaults = _defaults(Settings)
    for item in fields(Settings):
        default = defaults[item.name]
        if item.name == "max_file_bytes":
            default //= 2**20
        variables = ", ".join(f"`{name.strip()}`" for name in item.metadata["env"].split(", "))
        rows.append(f"| {variables} | {_shown_default(default)} | {item.metadata['doc']} |")
    return "\n".join(rows) + "\n"
