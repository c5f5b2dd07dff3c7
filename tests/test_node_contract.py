"""The Node.js suite (contract_tests/node, `node --test`) passes against a live emulator that
loaded the seed scenario: ali-oss V1 and V4, @alicloud/pop-core and @alicloud/openapi-client on
IMM, @alicloud/mns, and fetch for DashScope."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from emulator.testing.server import LiveServer
from tests.requirements import require

ROOT = Path(__file__).resolve().parent.parent
NODE_SUITE = ROOT / "contract_tests" / "node"


def test_node_suite_passes(tmp_path: Path) -> None:
    node = shutil.which("node")
    require(node is not None, "Node.js 20 is not installed (apt-get install nodejs, or nodejs.org)")
    require((NODE_SUITE / "node_modules").is_dir(),
            "the Node packages are not installed: run `npm ci` in contract_tests/node")
    scenario = ROOT / "fixtures" / "scenarios" / "seed-docs.yaml"
    with LiveServer(extra_args=["--scenario", str(scenario)]) as server:
        result = subprocess.run([node, "--test", "--test-reporter=spec"], cwd=NODE_SUITE,
                                env={"PATH": os.environ["PATH"], "EMULATOR_URL": server.url},
                                capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout or "ℹ fail 0" in result.stdout, result.stdout[-3000:]
