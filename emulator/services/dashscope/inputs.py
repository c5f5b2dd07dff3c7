"""Where a DashScope task's input URLs may come from, and the media rules they must meet.

Allowed places, and nothing else (the emulator never reaches the outside world):
- `oss://<key>` files uploaded through getPolicy + PostObject (48 h, the caller's account);
- URLs of this emulator's own OSS (path or virtual-hosted style; presigned V1 and V4 URLs are verified,
  unsigned ones need a public-read bucket), read in-process through the OSS model;
- the alias table: the documentation's sample URLs map to bundled stand-ins, users add their own
  "URL -> local file" entries (Config.dashscope_url_aliases);
- http(s) URLs on loopback hosts the user allows (Config.dashscope_fetch_hosts), streamed with
  the size limit enforced while downloading.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import yaml

from emulator.auth.oss import AuthError, SignedRequest, parse_claim, sign_v1
from emulator.core.accounts import Accounts
from emulator.core.clock import Clock
from emulator.core.errors import ServiceError
from emulator.core.net import is_loopback
from emulator.media.ffmpeg import MediaError, MediaInfo, probe
from emulator.services.oss.model import OssModel

ASSETS = Path(__file__).resolve().parents[2] / "assets"
_DOC_FILES = "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20250919"
BUNDLED_ALIASES = {
    f"{_DOC_FILES}/adsyrp/move_input_image.jpeg": ASSETS / "move_input_image.jpeg",
    f"{_DOC_FILES}/kaakcn/move_input_video.mp4": ASSETS / "move_input_video.mp4",
}
UPLOAD_BUCKET = "dashscope-file-mgr"
UPLOAD_TTL_SECONDS = 48 * 3600

IMAGE_MAX_BYTES = 5 * 1024 * 1024
VIDEO_MAX_BYTES = 200 * 1024 * 1024
IMAGE_FORMATS = {"JPEG", "PNG", "BMP", "WEBP"}
IMAGE_SIDES = (200, 4096)
VIDEO_SIDES = (200, 2048)
VIDEO_SECONDS = (2.0, 30.0)
MAX_ASPECT = 3.0
FETCH_TIMEOUT_SECONDS = 30.0

_NO_DOWNLOAD = "Unable to download the media resource during the data inspection process."
_NO_AUTH = "Don't have authorization to access the media resource during the data inspection process."


def download_failed(message: str = _NO_DOWNLOAD) -> ServiceError:
    return ServiceError(400, "InvalidParameter.DataInspection", message)


def refused(url: str) -> ServiceError:
    return ServiceError(400, "InvalidURL.ConnectionRefused",
                        f"Connection to {url} refused, please provide available URL")


def too_large(kind: str) -> ServiceError:
    if kind == "image":
        return ServiceError(400, "InvalidFile.Size",
                            "Invalid file size, The image file size must be smaller than 5MB.")
    return ServiceError(400, "InvalidFile.Size", "Invalid file size. The video file size must be less "
                        "than 200MB, and the audio file size must be less than 15MB.")


def load_aliases(path: Path | None) -> dict[str, Path]:
    """The bundled aliases plus a user's JSON/YAML mapping of URL -> file (relative to it)."""
    aliases = dict(BUNDLED_ALIASES)
    if path is None:
        return aliases
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of URL -> local file")
    for url, target in data.items():
        file = Path(str(target)).expanduser()
        aliases[str(url)] = file if file.is_absolute() else Path(path).parent / file
    return aliases


@dataclass(frozen=True)
class Source:
    """Where one input's bytes are: a local file (already complete) or an allowed URL."""
    path: Path | None = None
    url: str | None = None


class InputResolver:
    def __init__(self, accounts: Accounts, oss: OssModel, clock: Clock, aliases: dict[str, Path],
                 fetch_hosts: set[str]) -> None:
        self.accounts = accounts
        self.oss = oss
        self.clock = clock
        self.aliases = aliases
        self.fetch_hosts = {h.lower() for h in fetch_hosts if is_loopback(urlsplit("//" + h).hostname or "")}

    def fetch(self, ns: str, url: str, kind: str, dest: Path, own_hosts: set[str]) -> Path:
        """A local file with the input's bytes (blocking). Raises ServiceError with the
        documented download / size codes."""
        limit = IMAGE_MAX_BYTES if kind == "image" else VIDEO_MAX_BYTES
        source = self.locate(ns, url, own_hosts)
        if source.path is not None:
            if not source.path.is_file():
                raise download_failed()
            if source.path.stat().st_size > limit:
                raise too_large(kind)
            return source.path
        return self._download(url, dest, limit, kind)

    def locate(self, ns: str, url: str, own_hosts: set[str]) -> Source:
        if url.startswith("oss://"):
            return Source(path=self._uploaded(ns, url[len("oss://"):]))
        parts = urlsplit(url)
        bare = parts._replace(query="", fragment="").geturl()
        if bare in self.aliases:
            return Source(path=self.aliases[bare])
        netloc = parts.netloc.lower()
        if netloc in own_hosts:
            return Source(path=self._own_oss(ns, parts.path, parts.query))
        # Virtual-hosted style (oss2 signs URLs so for a "localhost" endpoint): bucket.host/key.
        bucket, _, host = netloc.partition(".")
        if host in own_hosts and bucket:
            return Source(path=self._own_oss(ns, f"/{bucket}{parts.path}", parts.query))
        if netloc in self.fetch_hosts:
            return Source(url=url)
        raise refused(url)

    def _uploaded(self, ns: str, key: str) -> Path:
        try:
            meta = self.oss.head_object(ns, UPLOAD_BUCKET, key)
        except ServiceError:
            raise download_failed() from None
        if self.clock.now() > meta.last_modified + UPLOAD_TTL_SECONDS:
            raise download_failed(_NO_AUTH)
        return self.oss.object_path(ns, UPLOAD_BUCKET, key)

    def _own_oss(self, ns: str, path: str, raw_query: str) -> Path:
        bucket, _, key = unquote(path).lstrip("/").partition("/")
        if not bucket or not key:
            raise download_failed()
        query = parse_qs(raw_query)
        owner = ns
        if "OSSAccessKeyId" in query:
            owner = self._verify_v1(bucket, key, query)
        elif "x-oss-signature" in query:
            owner = self._verify_v4(bucket, key, raw_query)
        else:
            try:
                public = self.oss.get_bucket(ns, bucket).acl.startswith("public-read")
            except ServiceError:
                raise download_failed() from None
            if not public:
                raise download_failed(_NO_AUTH)
        try:
            return self.oss.object_path(owner, bucket, key)
        except ServiceError:
            raise download_failed() from None

    def _verify_v1(self, bucket: str, key: str, query: dict[str, list[str]]) -> str:
        creds = self.accounts.by_access_key(query["OSSAccessKeyId"][0])
        expires = query.get("Expires", [""])[0]
        signature = query.get("Signature", [""])[0]
        if creds is None or not expires.isdigit() or int(expires) < self.clock.now():
            raise download_failed(_NO_AUTH)
        if sign_v1(creds.access_key_secret, f"GET\n\n\n{expires}\n/{bucket}/{key}") != signature:
            raise download_failed(_NO_AUTH)
        return creds.namespace

    def _verify_v4(self, bucket: str, key: str, raw_query: str) -> str:
        """V4 presigned URLs: the key, the signature (as OSS checks a GET of it) and the expiry."""
        try:
            claim = parse_claim(SignedRequest("GET", raw_query, {}, bucket, key))
        except AuthError:
            raise download_failed(_NO_AUTH) from None
        creds = self.accounts.by_access_key(claim.access_key_id) if claim else None
        if claim is None or creds is None or not claim.verify(creds.access_key_secret):
            raise download_failed(_NO_AUTH)
        if claim.expires_at is None or claim.expires_at < self.clock.now():
            raise download_failed(_NO_AUTH)
        return creds.namespace

    def _download(self, url: str, dest: Path, limit: int, kind: str) -> Path:
        received = 0
        try:
            with httpx.stream("GET", url, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False) as r:
                if r.status_code != 200:
                    raise download_failed()
                with open(dest, "wb") as out:
                    for chunk in r.iter_bytes(64 * 1024):
                        received += len(chunk)
                        if received > limit:
                            raise too_large(kind)
                        out.write(chunk)
        except httpx.TimeoutException:
            raise ServiceError(400, "InvalidURL.Timeout",
                               f"Download {url} timeout, please check network connection.") from None
        except httpx.HTTPError:
            raise refused(url) from None
        return dest


# ---- media rules ------------------------------------------------------------------------------


def _aspect_ok(width: int, height: int) -> bool:
    return max(width, height) <= MAX_ASPECT * min(width, height)


_ASPECT_ERROR = ("InvalidFile.AspectRatio",
                 "Invalid file ratio. The file aspect ratio (height/width) must be between 3:1 and 1:3.")


def check_image(path: Path) -> tuple[int, int]:
    """The image's (width, height) if it meets the input rules, else ServiceError."""
    from PIL import Image  # loaded when a task first needs it, not at start

    try:
        with Image.open(path) as img:
            fmt, size = img.format, img.size
            img.verify()
    except Exception:
        raise ServiceError(400, "InvalidImage.FileFormat",
                           "Invalid image type. Please ensure the uploaded file is a valid image.") from None
    if fmt not in IMAGE_FORMATS:
        raise ServiceError(400, "InvalidFile.Format", "Invalid file format，the request file format is one "
                           "of the following types: MP4, AVI, MOV, MP3, WAV, AAC, JPEG, JPG, PNG, BMP, "
                           "and WEBP.")
    width, height = size
    if not all(IMAGE_SIDES[0] <= side <= IMAGE_SIDES[1] for side in size):
        raise ServiceError(400, "InvalidFile.Resolution", "The image resolution is invalid, please make "
                           f"sure that the largest length of image is smaller than {IMAGE_SIDES[1]}, and "
                           f"the smallest length of image is larger than {IMAGE_SIDES[0]}.")
    if not _aspect_ok(width, height):
        raise ServiceError(400, *_ASPECT_ERROR)
    return width, height


def check_video(path: Path) -> MediaInfo:
    """The video's probe if it meets the input rules, else ServiceError."""
    try:
        info = probe(path)
    except (MediaError, OSError):
        info = None
    if info is None or not info.has_video:
        raise ServiceError(400, "InvalidFile.Openerror",
                           "Invalid file, cannot open file as video/audio/image.")
    demuxers = set(info.format.split(","))
    if not demuxers & {"mov", "mp4", "avi"}:
        raise ServiceError(400, "InvalidFile.Format", "Invalid file format，the request file format is one "
                           "of the following types: MP4, AVI, MOV, MP3, WAV, AAC, JPEG, JPG, PNG, BMP, "
                           "and WEBP.")
    if not VIDEO_SECONDS[0] <= info.duration <= VIDEO_SECONDS[1]:
        raise ServiceError(400, "InvalidFile.Duration", "Invalid file duration. The file duration must be "
                           f"{VIDEO_SECONDS[0]:g} s ~ {VIDEO_SECONDS[1]:g} s.")
    width, height = info.display_size
    if not all(VIDEO_SIDES[0] <= side <= VIDEO_SIDES[1] for side in (width, height)):
        raise ServiceError(400, "InvalidFile.Resolution", "Invalid video resolution. The height or width of "
                           f"video must be {VIDEO_SIDES[0]} ~ {VIDEO_SIDES[1]}.")
    if not _aspect_ok(width, height):
        raise ServiceError(400, *_ASPECT_ERROR)
    return info
