"""DashScope's content rules for wan2.2-animate inputs, judged with the bundled detector
(emulator/media/people.py): the image (when `parameters.check_image` is true) and the reference
video must show exactly one person facing the camera, face whole, at a moderate size.

Codes and messages are the error catalogue's (reference notes section 4). How a picture maps to
them, since the real detector is not available offline:
- no frontal face and no face in profile: InvalidFile.NoHuman (the catalogue's cause: "no person
  in the input image or no face was detected"; a face cut by the frame is not seen either);
- a face only in profile: InvalidFile.FacePose;
- two or more frontal faces: InvalidFile.MultiHuman;
- one face whose height is outside FACE_SHARE of the picture's height: InvalidFile.BodyProportion.
The reference video is judged on SAMPLED_FRAMES frames spread over it: it fails when more than
half of them fail, with the most frequent code; a video where no face is seen fails with
InvalidImage.NoHumanFace, which the catalogue says is only ever reported by the task query.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.core.errors import ServiceError
from emulator.media.ffmpeg import MediaInfo, iter_frames

if TYPE_CHECKING:  # OpenCV and numpy load when a task first needs them, not at start
    from emulator.media.people import Sighting

DETECTOR = "OpenCV Haar cascades: frontalface_alt2, profileface (opencv-python-headless 4.x)"

# Face height as a fraction of the picture's height: smaller is a tiny figure in a wide shot,
# larger a face filling the frame (a full-body portrait is about 0.1, a head-and-shoulders 0.2).
FACE_SHARE = (0.05, 0.5)
SAMPLED_FRAMES = 5
VIDEO_ANALYSIS_SIDE = 480  # long side the sampled frames are decoded at

NO_HUMAN = ServiceError(400, "InvalidFile.NoHuman",
                        "The input image has no human body. Please upload other image with single person.")
MULTI_HUMAN = ServiceError(400, "InvalidFile.MultiHuman", "The input image has multi human bodies. "
                           "Please upload other image with single person.")
FACE_POSE = ServiceError(400, "InvalidFile.FacePose", "The pose of the detected face is invalid, please "
                         "upload other image with whole face and expected orientation.")
BODY_PROPORTION = ServiceError(400, "InvalidFile.BodyProportion", "The proportion of the detected person "
                               "in the picture is too large or too small, please upload other image.")
NO_HUMAN_FACE = ServiceError(400, "InvalidImage.NoHumanFace", "No human face detected.")
# Codes a task reports even when the other checks run at submit.
TASK_ONLY_CODES = {NO_HUMAN_FACE.code}


def verdict(sighting: Sighting) -> ServiceError | None:
    """The rule a picture breaks, or None when it shows one acceptable person."""
    if not sighting.faces:
        return FACE_POSE if sighting.profiles else NO_HUMAN
    if len(sighting.faces) > 1:
        return MULTI_HUMAN
    share = sighting.faces[0].h / sighting.height
    if not FACE_SHARE[0] <= share <= FACE_SHARE[1]:
        return BODY_PROPORTION
    return None


def image_verdict(path: Path) -> ServiceError | None:
    import numpy as np
    from PIL import Image, ImageOps

    from emulator.media import people

    with Image.open(path) as img:
        gray = np.asarray(ImageOps.exif_transpose(img).convert("L"))
    return verdict(people.look(gray))


def video_verdict(path: Path, info: MediaInfo) -> ServiceError | None:
    import numpy as np

    from emulator.media import people

    width, height = info.display_size
    scale = min(1.0, VIDEO_ANALYSIS_SIDE / max(width, height))
    w, h = max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)
    # SAMPLED_FRAMES frames spread evenly over the whole duration.
    fps = f"{SAMPLED_FRAMES}/{max(info.duration, 0.1):.6f}"
    verdicts = [verdict(people.look(np.frombuffer(raw, np.uint8).reshape(h, w)))
                for raw in iter_frames(path, fps, w, h, "gray")][:SAMPLED_FRAMES]
    failed = [v for v in verdicts if v is not None]
    if not verdicts or len(failed) * 2 > len(verdicts):
        code, _ = Counter(v.code for v in failed).most_common(1)[0] if failed else (NO_HUMAN.code, 0)
        found = next((v for v in failed if v.code == code), NO_HUMAN)
        return NO_HUMAN_FACE if found is NO_HUMAN else found
    return None


def check_image(path: Path) -> None:
    if (error := image_verdict(path)) is not None:
        raise error


def check_video(path: Path, info: MediaInfo, at_submit: bool = False) -> None:
    """At submit, a verdict the service only reports through the task query is left for the task."""
    error = video_verdict(path, info)
    if error is not None and not (at_submit and error.code in TASK_ONLY_CODES):
        raise error
