"""Loading checkpoints without running code from them, and writing posekit's config into them as data.

A checkpoint is a pickle, and mmengine also stores the training config in it as Python text, which
``Config.fromstring`` executes. So every checkpoint posekit reads goes through torch's weights-only unpickler with
an allow-list of exactly what mmengine Runner checkpoints hold beside tensors (the message hub's HistoryBuffer,
numpy arrays, scalars and dtypes), and posekit writes its config as JSON (meta key ``posekit_cfg``), read back as
data. A checkpoint that needs more -- full unpickling, or a config in Python text (older posekit, third-party
files) -- loads only when the user says it is trusted (``--trust-checkpoint``), after one warning line. mmengine's
own loads of local files (resume, ``load_from``, mmpose's ``init_model``) go weights-only too (:func:`load_from_local`).

:func:`build_runner` builds the Runner of every posekit trainer and of ``posekit eval``.
"""

from __future__ import annotations

import importlib
import json
import logging
import pickle
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config
from mmengine.fileio import dump
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

from .errors import PosekitError

CONFIG_KEY = "posekit_cfg"  # meta key of the config as JSON
CONFIG_TEXT_KEYS = ("cfg", "config")  # mmengine's config as Python text: its own checkpoints, and what resume runs
CONFIG_FILE = "checkpoint_config.py"  # the name a checkpoint's config is saved under in a work dir
LAST_ITERATIONS = 50  # the training losses and accuracies reported are means over this many last iterations
TRUST_HINT = "use --trust-checkpoint only for files you trust"
BUFFER_STATISTICS = ("min", "max", "current", "mean")  # HistoryBuffer's own; it registers them on first use


def _history_buffer_statistic(owner, name: str):
    """The one ``getattr`` a message hub's pickle makes: a HistoryBuffer's statistics method, stored by name."""
    if owner is not HistoryBuffer or name not in {*BUFFER_STATISTICS, *HistoryBuffer._statistics_methods}:
        raise pickle.UnpicklingError(f"getattr({owner!r}, {name!r}) is not a HistoryBuffer statistic")
    return getattr(owner, name)


_multiarray = np._core.multiarray
# The classes of numpy's bool, integer, float, complex and string dtypes (not object: it holds any Python object).
_DTYPE_CLASSES = sorted({type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDGSU"}, key=lambda t: t.__name__)
ALLOWED_GLOBALS = [
    HistoryBuffer,
    np.dtype,
    *_DTYPE_CLASSES,
    np.ndarray,
    _multiarray._reconstruct,
    _multiarray.scalar,
    (_history_buffer_statistic, "builtins.getattr"),
    # numpy 1.x wrote these under numpy.core
    (_multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
    (_multiarray.scalar, "numpy.core.multiarray.scalar"),
]


@contextmanager
def allowed_globals(extra=()):
    """torch's weights-only loads in this scope accept what mmengine checkpoints hold (and ``extra``)."""
    with torch.serialization.safe_globals(ALLOWED_GLOBALS + list(extra)):
        yield


def load(path, *, trust: bool = False, map_location="cpu") -> dict:
    """A checkpoint's dict, unpickled weights-only; ``trust``: fully, after a warning line."""
    if trust:
        print(
            f"posekit: warning: --trust-checkpoint: loading {path} with full unpickling; it can run code",
            file=sys.stderr,
        )
    try:
        with allowed_globals():
            checkpoint = torch.load(path, map_location=map_location, weights_only=not trust)
    except pickle.UnpicklingError as e:
        raise PosekitError(_refusal(path, e, trust)) from None
    except Exception as e:  # torch.load fails in many ways (KeyError, RuntimeError, EOFError...) on other files
        raise PosekitError(f"{path}: not a readable torch checkpoint ({type(e).__name__}: {_first_line(e)})") from None
    if not isinstance(checkpoint, dict):
        raise PosekitError(f"{path}: not a checkpoint (a {type(checkpoint).__name__}, not a dict of weights)")
    return checkpoint


@CheckpointLoader.register_scheme(prefixes="", force=True)
def load_from_local(filename, map_location=None):
    """mmengine's loader of local checkpoint files, replaced by one that says ``weights_only=True``: mmengine's own
    leaves it unsaid, so a ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` left in the environment would unpickle fully (past
    the allow-list) with a warning on every load. The name is mmengine's: its log names the loader by it."""
    path = Path(filename).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{filename} can not be found.")
    return torch.load(path, map_location=map_location, weights_only=True)


def _refusal(path, error: Exception, trust: bool) -> str:
    if trust:  # only TORCH_FORCE_WEIGHTS_ONLY_LOAD makes a trusted load weights-only
        return f"{path}: TORCH_FORCE_WEIGHTS_ONLY_LOAD is set, which refuses full unpickling ({_first_line(error)})"
    try:
        with allowed_globals():
            names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (RuntimeError, ValueError, OSError):
        names = []
    if names:
        return (
            f"{path}: loading it needs full unpickling (it names {', '.join(names[:3])}), which can run code; "
            f"{TRUST_HINT}"
        )
    return (
        f"{path}: cannot be loaded weights-only ({_first_line(error)}): not a torch checkpoint, or one that "
        f"needs full unpickling, which can run code; {TRUST_HINT}"
    )


def _first_line(error: Exception) -> str:
    """The line that says what went wrong (torch's weights-only errors put it after a paragraph of advice)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reasons = [
        line
        for line in lines
        if not line.startswith(
            ("Weights only load failed", "Please file an issue", "Check the documentation", "In PyTorch")
        )
    ]
    return (reasons or lines or [type(error).__name__])[0]


def refuse_config_text(checkpoint: dict, path, *, trust: bool = False) -> None:
    """Stop at a config stored as Python text (it runs when read: mmengine's resume reads ``config``), unless the
    file is trusted; posekit's own checkpoints hold none."""
    meta = checkpoint.get("meta") or {}
    if not trust and any(isinstance(meta.get(k), str) for k in CONFIG_TEXT_KEYS):
        raise PosekitError(
            f"{path}: its config is Python text, which would run when read (a checkpoint of an "
            f"older posekit or another tool); {TRUST_HINT}"
        )


def training_config(checkpoint: dict, path, *, trust: bool = False) -> Config:
    """The config a checkpoint was trained with: posekit's JSON, or (trusted only) mmengine's Python text."""
    refuse_config_text(checkpoint, path, trust=trust)
    meta = checkpoint.get("meta") or {}
    if CONFIG_KEY in meta:
        text = meta[CONFIG_KEY]
        try:
            data = json.loads(text)
        except (TypeError, json.JSONDecodeError) as e:
            raise PosekitError(f"{path}: its config ({CONFIG_KEY}) is not JSON ({e})") from None
    elif "cfg" in meta:
        text = meta["cfg"]
        try:
            data = Config.fromstring(text, file_format=".py").to_dict()
        except Exception as e:  # the text is any Python: it fails in any way
            raise PosekitError(f"{path}: its config text fails to run ({_first_line(e)})") from None
    else:
        raise PosekitError(f"{path}: no training config inside; was it written by posekit train?")
    if not isinstance(data, dict):
        raise PosekitError(f"{path}: its config ({CONFIG_KEY}) is not a JSON object")
    # Named, because the Runner saves a config under its file name (fromstring's is a random temporary one).
    return Config(data, cfg_text=text, filename=CONFIG_FILE)


@contextmanager
def mmengine_loads(path, *, trust: bool = False, config_ignored: bool = False):
    """Scope for a checkpoint that mmengine loads itself (Runner.resume and load_from, mmpose's init_model):
    ``path`` is checked here first, by the rules of :func:`load` and :func:`refuse_config_text` (unless
    ``config_ignored``: the loader never reads the config); mmengine's torch.load then runs weights-only with the
    allow-list (and, for a trusted file, the globals it names). A URL is checked as mmengine loads it."""
    extra = []
    if path is not None and "://" not in str(path):
        checkpoint = load(path, trust=trust)
        if not config_ignored:
            refuse_config_text(checkpoint, path, trust=trust)
        extra = _named_globals(path) if trust else []
    try:
        with allowed_globals(extra):
            yield
    except pickle.UnpicklingError as e:
        raise PosekitError(_refusal(path, e, trust)) from None


def _named_globals(path) -> list:
    """The globals a trusted checkpoint names beyond the allow-list, imported, for mmengine's weights-only load."""
    try:
        with allowed_globals():
            names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (RuntimeError, ValueError, OSError):  # not a zip checkpoint: torch cannot list its globals
        return []
    found = []
    for name in names:
        module, _, attribute = name.rpartition(".")
        found.append((getattr(importlib.import_module(module), attribute), name))
    return found


def latest_checkpoint(work_dir) -> str | None:
    """The checkpoint ``--resume`` continues from (mmengine's choice), or None."""
    from mmengine.runner import find_latest_checkpoint

    return find_latest_checkpoint(str(work_dir)) if Path(work_dir).is_dir() else None


class ConfigAsData(Hook):
    """Stores the run's config in each checkpoint as JSON instead of mmengine's Python text."""

    priority = "VERY_LOW"  # after the hooks that add to the checkpoint

    def __init__(self, cfg: Config):
        self.text = dump(cfg.to_dict(), file_format="json")  # made now: a config JSON cannot hold fails before training

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.setdefault("meta", {})
        for key in CONFIG_TEXT_KEYS:
            meta.pop(key, None)
        meta[CONFIG_KEY] = self.text
        runtime = (checkpoint.get("message_hub") or {}).get("runtime_info") or {}
        if "cfg" in runtime:  # the message hub keeps a copy of the Python text
            runtime["cfg"] = self.text


def _progress_or_error(record: logging.LogRecord) -> bool:
    """What of a Runner's log the terminal shows: LoggerHook's progress lines (losses, accuracies, ETA) and
    errors; the environment, the config, the hooks' order and mmengine's notices only go to the log file."""
    return record.module == "logger_hook" or record.levelno >= logging.ERROR


class LogFileRunner(Runner):
    """mmengine's Runner, its whole log in the work dir's log file and only progress on the terminal."""

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler):  # mmengine's terminal handler, a StreamHandler
                handler.addFilter(_progress_or_error)
        return logger


class FormattedOnceConfig(Config):
    """A Config that formats its ``pretty_text`` once per content. mmengine asks for it at every checkpoint, log
    line and dump (9 times in a 2-epoch run), and yapf takes over a second each on a config holding a layout's
    graph: more than half of a short ST-GCN run went there."""

    @property
    def pretty_text(self) -> str:
        formatted = self.__dict__.setdefault("_formatted", {})
        content = repr(self._cfg_dict.to_dict())
        if content not in formatted:
            formatted.clear()
            formatted[content] = super().pretty_text
        return formatted[content]


def formatted_once(cfg: Config) -> FormattedOnceConfig:
    """``cfg`` as a :class:`FormattedOnceConfig` (the same settings, file name and text)."""
    other = FormattedOnceConfig.__new__(FormattedOnceConfig)
    other.__dict__.update(cfg.__dict__)
    return other


def build_runner(cfg: Config) -> Runner:
    """mmengine's Runner for ``cfg`` (a :class:`LogFileRunner`), its checkpoints holding the config as JSON."""
    runner = LogFileRunner.from_cfg(formatted_once(cfg))
    runner.register_hook(ConfigAsData(cfg))
    return runner
