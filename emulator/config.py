"""Every setting of the emulator: its command-line flag, its EMULATOR_* variable and its default."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PORT = 9088
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class ConfigError(ValueError):
    """A setting that cannot work, said in one line."""


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # None with ephemeral=False means "./.aliyun-emulator" (see resolved_data_dir).
    data_dir: Path | None = None
    ephemeral: bool = False
    verify_signatures: bool = True
    # Requests whose Date / x-oss-date / x-acs-date is further than this from the wall clock are
    # refused as the cloud does (0 disables the check).
    max_clock_skew_seconds: int = 900
    speed: str = "instant"  # "instant" | "realistic"
    access_key_id: str = "LTAI-emulator"
    access_key_secret: str = "emulator-secret"
    account_id: str = "1234567890123456"
    region: str = "cn-hangzhou"
    dashscope_api_key: str = "sk-emulator"  # ap-southeast-1 (dashscope-intl)
    dashscope_api_key_cn: str = "sk-emulator-cn"  # cn-beijing (dashscope)
    seed: int = 0
    journal_size: int = 1000
    scenario: Path | None = None
    # Task workers for media conversion; 0 means one per core.
    workers: int = 0
    log_level: str = "warning"
    # No request log on stderr.
    quiet: bool = False
    # OSS limits: PutObject / PostObject / one part (5 GiB), smallest non-last part (100 KiB).
    oss_max_object_size: int = 5 * 1024**3
    oss_min_part_size: int = 100 * 1024
    # DashScope: a JSON/YAML file of extra "URL -> local file" input aliases (beside the bundled
    # stand-ins for the documented sample URLs); relative paths are relative to that file.
    dashscope_url_aliases: Path | None = None
    # DashScope: loopback hosts ("127.0.0.1:8000,localhost") whose http(s) URLs tasks may fetch.
    dashscope_fetch_hosts: str = ""
    # DashScope: check downloads and media rules at submit (sync 400) instead of in the task.
    dashscope_check_inputs_at_submit: bool = False

    @property
    def public_url(self) -> str:
        """Base URL handed out in results (presigned URLs, DashScope video_url)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def resolved_data_dir(self) -> Path:
        return Path(self.data_dir) if self.data_dir else Path.cwd() / ".aliyun-emulator"


_ENV_PREFIX = "EMULATOR_"


def _coerce(value: str, target: Any) -> Any:
    if isinstance(target, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(target, int):
        try:
            return int(value)
        except ValueError as exc:
            raise ConfigError(f"{value!r} is not a whole number") from exc
    return value


def from_env(environ: dict[str, str] | None = None, **overrides: Any) -> Config:
    """Defaults, then EMULATOR_<FIELD> variables, then explicit overrides (from flags)."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    defaults = Config()
    for f in dataclasses.fields(Config):
        raw = environ.get(_ENV_PREFIX + f.name.upper())
        if raw is None:
            continue
        if f.name in ("data_dir", "scenario", "dashscope_url_aliases"):
            values[f.name] = Path(raw) if raw else None
        else:
            try:
                values[f.name] = _coerce(raw, getattr(defaults, f.name))
            except ConfigError as exc:
                raise ConfigError(f"{_ENV_PREFIX}{f.name.upper()}: {exc}") from exc
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = Config(**values)
    check(config)
    return config


def check(config: Config) -> None:
    """Refuse settings the server cannot run with (ConfigError)."""
    if not 1 <= config.port <= 65535:
        raise ConfigError(f"port must be from 1 to 65535, not {config.port}")
    if config.workers < 0:
        raise ConfigError(f"workers must be >= 1 (0: one per core), not {config.workers}")
    if config.log_level.lower() not in LOG_LEVELS:
        raise ConfigError(f"log level must be one of {', '.join(LOG_LEVELS)}, not {config.log_level!r}")
    if config.speed not in ("instant", "realistic"):
        raise ConfigError(f"speed must be instant or realistic, not {config.speed!r}")
