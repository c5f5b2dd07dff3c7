"""IMM transcoding and DetectMediaMeta speed (not run in CI):
python benchmarks/bench_imm_transcode.py [--seconds 60]

Source: a generated 1920x1080 30 fps H.264 video with AAC audio (60 s by default), cached in
benchmarks/.cache. Reported, as ratios measured in this process (best of two runs each):

1. a 720p H.264 mp4 target, SDK submit -> GetTask Succeeded on a live server / the one-line ffmpeg
   command producing the same output (same encoder settings);
2. the same for HLS with 6 s segments;
3. DetectMediaMeta through the SDK / an in-process PyAV open of the same file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import av  # noqa: E402
from alibabacloud_imm20200930 import models as m  # noqa: E402
from bench_imm import best_of, imm_client  # noqa: E402  (beside this script)

from emulator.media.ffmpeg import ffmpeg_exe  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "150", "-pix_fmt", "yuv420p",
          "-bf", "3", "-refs", "2", "-c:a", "aac"]


def make_source(seconds: int) -> Path:
    source = CACHE / f"src_1080p30_{seconds}s_aac.mp4"
    if not source.exists():
        CACHE.mkdir(exist_ok=True)
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30",
                        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", "30",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(source)], check=True)
    return source


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    seconds = parser.parse_args().seconds
    source = make_source(seconds)
    work = Path(tempfile.mkdtemp())
    mp4_cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
               "-vf", "scale=1280:720", *ENCODE, "-movflags", "+faststart", str(work / "cmd.mp4")]
    hls_cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
               "-vf", "scale=1280:720", *ENCODE, "-force_key_frames", "expr:gte(t,n_forced*6)",
               "-f", "hls", "-hls_time", "6", "-hls_list_size", "0", "-hls_playlist_type", "vod",
               "-hls_segment_filename", str(work / "cmd-%d.ts"), str(work / "cmd.m3u8")]
    video = {"TranscodeVideo": {"Codec": "h264", "Resolution": "1280x720"}}
    audio = {"TranscodeAudio": {"Codec": "aac"}}
    targets = {"mp4": {"URI": "oss://bench/out/e2e", "Container": "mp4", "Video": video, "Audio": audio},
               "hls": {"URI": "oss://bench/hls/e2e", "Container": "ts", "Video": video, "Audio": audio,
                       "Segment": {"Format": "hls", "Duration": 6}}}
    with imm_client(source) as client:

        def end_to_end(target: dict) -> None:
            request = {"ProjectName": "bench", "Sources": [{"URI": "oss://bench/src.mp4"}],
                       "Targets": [target]}
            model = m.CreateMediaConvertTaskRequest().from_map(json.loads(json.dumps(request)))
            task_id = client.create_media_convert_task(model).body.task_id
            get = m.GetTaskRequest(project_name="bench", task_type="MediaConvert", task_id=task_id)
            while (status := client.get_task(get).body.status) == "Running":
                time.sleep(0.05)  # a client polling every 50 ms, as apps do
            assert status == "Succeeded", status

        rows = []
        for name, command in (("720p H.264 mp4", mp4_cmd), ("720p HLS, 6 s segments", hls_cmd)):
            t_cmd = best_of(2, lambda command=command: subprocess.run(command, check=True))
            key = "mp4" if "mp4" in name else "hls"
            t_e2e = best_of(2, lambda key=key: end_to_end(targets[key]))
            rows.append((name, t_cmd, t_e2e))

        meta_request = m.DetectMediaMetaRequest(project_name="bench", source_uri="oss://bench/src.mp4")

        def pyav_open() -> None:
            with av.open(str(source)) as container:
                next(container.decode(video=0))  # what DetectMediaMeta reads: headers, first frame

        t_pyav = best_of(5, pyav_open)
        t_meta = best_of(5, lambda: client.detect_media_meta(meta_request))

    print(f"source: {source.name} ({seconds} s, 1920x1080, 30 fps, H.264 + AAC); the machine was shared "
          "with other jobs, so absolute times vary")
    print("| case | one-line ffmpeg | emulator e2e | e2e / ffmpeg |")
    print("|---|---|---|---|")
    for name, t_cmd, t_e2e in rows:
        print(f"| {name} | {t_cmd:.2f} s | {t_e2e:.2f} s | {t_e2e / t_cmd:.2f} |")
    print(f"DetectMediaMeta via SDK: {t_meta * 1000:.1f} ms; in-process PyAV open: {t_pyav * 1000:.1f} ms; "
          f"ratio {t_meta / t_pyav:.2f}")


if __name__ == "__main__":
    main()
