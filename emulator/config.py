"""Every setting of the emulator: its command-line flag, its EMULATOR_* variable and its default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# What the server needs to open its port is read first without pydantic (emulator/listen.py).
from emulator.listen import (
    DEFAULT_HEADER_TIMEOUT_SECONDS,
    DEFAULT_HOST,
    DEFAULT_LOG_LEVEL,
    DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    DEFAULT_PORT,
    ENV_PREFIX,
    LOG_LEVELS,
)


class ConfigError(ValueError):
    """A setting that cannot work, said in one line."""


class Config(BaseModel):
    """The settings themselves; `Config(...)` takes only what it is given (tests build them),
    `from_env()` reads EMULATOR_* variables as well."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = DEFAULT_HOST
    port: Annotated[int, Field(ge=0, le=65535)] = DEFAULT_PORT
    # None with ephemeral=False means "./.aliyun-emulator" (see resolved_data_dir).
    data_dir: Path | None = None
    ephemeral: bool = False
    verify_signatures: bool = True
    # Requests whose Date / x-oss-date / x-acs-date is further than this from the wall clock are
    # refused as the cloud does (0 disables the check).
    max_clock_skew_seconds: Annotated[int, Field(ge=0)] = 900
    speed: Literal["instant", "realistic"] = "instant"
    access_key_id: str = "LTAI-emulator"
    access_key_secret: str = "emulator-secret"
    account_id: str = "1234567890123456"
    region: str = "cn-hangzhou"
    dashscope_api_key: str = "sk-emulator"  # ap-southeast-1 (dashscope-intl)
    dashscope_api_key_cn: str = "sk-emulator-cn"  # cn-beijing (dashscope)
    seed: int = 0
    journal_size: Annotated[int, Field(ge=1)] = 1000
    scenario: Path | None = None
    # Task workers for media conversion; 0 means one per core.
    workers: Annotated[int, Field(ge=0)] = 0
    log_level: Literal[LOG_LEVELS] = DEFAULT_LOG_LEVEL  # uvicorn's
    # No request log on stderr.
    quiet: bool = False
    # Slow clients: a request's headers must arrive within this many seconds (0: no limit), and one
    # client address may hold at most this many open connections (0: no cap).
    header_timeout_seconds: Annotated[float, Field(ge=0)] = DEFAULT_HEADER_TIMEOUT_SECONDS
    max_connections_per_client: Annotated[int, Field(ge=0)] = DEFAULT_MAX_CONNECTIONS_PER_CLIENT
    # When set, every /_emulator/* request but health needs "Authorization: Bearer <token>".
    admin_token: str | None = None
    # OSS limits: PutObject / PostObject / one part (5 GiB), smallest non-last part (100 KiB).
    oss_max_object_size: Annotated[int, Field(ge=1)] = 5 * 1024**3
    oss_min_part_size: Annotated[int, Field(ge=1)] = 100 * 1024
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


def from_env(**overrides: Any) -> Config:
    """Defaults, then EMULATOR_<FIELD> variables, then explicit overrides (from flags; None means
    not given). Raises ConfigError naming the variable (and flag) of a value that is not valid."""
    # A plain read of the variables: pydantic's lax mode already turns "9088", "true" or a path
    # into the field's type, and pydantic-settings cost every start half a second and 23 MB.
    from_variables = {name: os.environ[f"{ENV_PREFIX}{name.upper()}"] for name in Config.model_fields
                      if os.environ.get(f"{ENV_PREFIX}{name.upper()}")}
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Config(**{**from_variables, **given})
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} (or --{name.replace('_', '-')}): "
                          f"{error['msg']}") from None
