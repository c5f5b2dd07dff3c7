"""The container/codec table (emulator/media/transcode.py) against the bundled ffmpeg: every
container has its entry; a codec the table lists for a container is muxed into it, one it leaves
out is refused by the muxer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from emulator.media.ffmpeg import ffmpeg_exe
from emulator.media.transcode import (
    AUDIO_ENCODERS,
    CONTAINER_AUDIO_CODECS,
    CONTAINER_VIDEO_CODECS,
    MUXERS,
    VIDEO_CONTAINERS,
    VIDEO_ENCODERS,
)


def muxes(tmp_path: Path, container: str, source: str, encoder_args: list[str]) -> bool:
    run = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                          source, *encoder_args, "-f", MUXERS[container], str(tmp_path / "out")],
                         capture_output=True)
    return run.returncode == 0


@pytest.mark.parametrize("container", sorted(MUXERS))
def test_audio_codecs_each_container_stores(tmp_path: Path, container: str) -> None:
    stored = []
    for codec, encoder in AUDIO_ENCODERS.items():
        narrow = ["-ar", "8000", "-ac", "1"] if codec == "amr" else []  # the AMR-NB encoder's only rate
        if muxes(tmp_path, container, "sine=r=48000:d=0.2", [*narrow, "-c:a", encoder]):
            stored.append(codec)
    assert tuple(stored) == CONTAINER_AUDIO_CODECS.get(container)


@pytest.mark.parametrize("container", sorted({*VIDEO_CONTAINERS, *CONTAINER_VIDEO_CODECS}))
def test_video_codecs_each_container_stores(tmp_path: Path, container: str) -> None:
    source = "testsrc=s=64x48:r=25:d=0.2"  # MXF takes standard frame rates only
    stored = [codec for codec, encoder in VIDEO_ENCODERS.items()
              if muxes(tmp_path, container, source, ["-c:v", encoder, "-pix_fmt", "yuv420p"])]
    assert tuple(stored) == CONTAINER_VIDEO_CODECS.get(container)
