"""Namespaces are indexed in memory for the per-request lookups: what is created or deleted is
seen by the very next lookup, from any thread, and by a restarted runtime."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from emulator.config import Config
from emulator.core.accounts import DASHSCOPE_CN, DASHSCOPE_INTL
from emulator.core.runtime import Runtime


def test_lookups_follow_creates_and_deletes(tmp_path: Path) -> None:
    runtime = Runtime(Config(data_dir=tmp_path))
    accounts = runtime.accounts
    team = accounts.create("team")
    assert accounts.get("team") == team == accounts.by_access_key(team.access_key_id)
    assert accounts.by_dashscope_key(team.dashscope_api_key) == (team, DASHSCOPE_INTL)
    assert accounts.by_dashscope_key(team.dashscope_api_key_cn) == (team, DASHSCOPE_CN)
    assert [c.namespace for c in accounts.all()] == ["default", "team"]
    assert accounts.by_access_key(runtime.config.access_key_id) == accounts.default
    assert accounts.delete("team")
    assert accounts.get("team") is None and accounts.by_access_key(team.access_key_id) is None
    assert accounts.by_dashscope_key(team.dashscope_api_key) is None
    kept = accounts.create("kept")
    runtime.close()
    restarted = Runtime(Config(data_dir=tmp_path))
    assert restarted.accounts.by_access_key(kept.access_key_id) == kept
    restarted.close()


def test_a_namespace_is_found_as_soon_as_it_is_created_while_others_look_up(tmp_path: Path) -> None:
    runtime = Runtime(Config(data_dir=tmp_path))
    accounts = runtime.accounts

    def create_and_find(index: int) -> bool:
        creds = accounts.create(f"ns{index}")
        accounts.all()  # another lookup rebuilding the index meanwhile
        return accounts.by_access_key(creds.access_key_id) == creds

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(create_and_find, range(64)))
    assert len(accounts.all()) == 65
    runtime.close()
