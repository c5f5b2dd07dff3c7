"""The body of an AsyncProcessObject request parsed into a job: which operation (`video/animation`,
`video/convert`, `audio/convert`, `video/concat`, `video/snapshots`, `video/sprite`), where it is
saved and which topic hears of it. Everything here is checked before a task exists; other
operations are 400 NotImplemented."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.services.oss.concat_params import Concat, parse_concat
from emulator.services.oss.convert_params import Conversion, parse_conversion
from emulator.services.oss.process import (
    Animation,
    SaveAs,
    async_body_parts,
    not_served,
    parse_animation,
    parse_async_systems,
)
from emulator.services.oss.snapshot_params import Snapshots, Sprite, parse_snapshots, parse_sprite


@dataclass(frozen=True)
class AsyncJob:
    operation: Animation | Conversion | Concat | Snapshots | Sprite
    save: SaveAs
    notify_topic: str | None = None

    @property
    def name(self) -> str:
        """The operation as OSS names it ("video/animation"), for fault rules and events."""
        if isinstance(self.operation, Conversion):
            return self.operation.operation
        if isinstance(self.operation, Concat):
            return "video/concat"
        if isinstance(self.operation, Sprite):
            return "video/sprite"
        return "video/snapshots" if isinstance(self.operation, Snapshots) else "video/animation"


def parse_operation(text: str) -> Animation | Conversion | Concat | Snapshots | Sprite:
    family, _, rest = text.partition("/")
    action = rest.split(",", 1)[0]
    if (family, action) in (("video", "convert"), ("audio", "convert")):
        return parse_conversion(family, rest)
    if (family, action) == ("video", "concat"):
        return parse_concat(rest)
    if (family, action) == ("video", "snapshots"):
        return parse_snapshots(rest)
    if (family, action) == ("video", "sprite"):
        return parse_sprite(rest)
    if family != "video":
        raise not_served(f"{family}/{action}" if family and action else text)
    return parse_animation(rest)


def parse_async_body(body: bytes) -> AsyncJob:
    """`x-oss-async-process=<operation>|sys/saveas,o_..[,b_..][/notify,topic_<b64>]`."""
    text, systems = async_body_parts(body)
    operation = parse_operation(text)
    save, topic = parse_async_systems(systems)
    return AsyncJob(operation, save, topic)
