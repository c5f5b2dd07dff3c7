"""Image styles of a bucket (PutStyle / GetStyle / ListStyle / DeleteStyle): named processing
strings used as `x-oss-process=style/<name>`. State in the document store; no HTTP."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from emulator.core.errors import ServiceError
from emulator.core.runtime import Runtime
from emulator.services.oss import process

STYLE_KIND = "oss-style"


@dataclass
class Style:
    name: str
    content: str
    category: str
    created: float
    modified: float


def put_style(rt: Runtime, ns: str, bucket: str, name: str, content: str, category: str = "image") -> Style:
    process.check_style(name, content)
    with rt.docs.transaction():
        old = rt.docs.get(STYLE_KIND, ns, f"{bucket}/{name}")
        if old is None and len(list_styles(rt, ns, bucket)) >= process.MAX_STYLES_PER_BUCKET:
            raise ServiceError(400, "TooManyStyles", f"A bucket has at most "
                               f"{process.MAX_STYLES_PER_BUCKET} styles.")
        now = rt.clock.now()
        style = Style(name, content, category, old["created"] if old else now, now)
        rt.docs.put(STYLE_KIND, ns, f"{bucket}/{name}", asdict(style))
    return style


def get_style(rt: Runtime, ns: str, bucket: str, name: str) -> Style:
    doc = rt.docs.get(STYLE_KIND, ns, f"{bucket}/{name}")
    if doc is None:
        raise process.no_such_style(name)
    return Style(**doc)


def list_styles(rt: Runtime, ns: str, bucket: str) -> list[Style]:
    return [Style(**doc) for _, doc in rt.docs.scan(STYLE_KIND, ns, bucket + "/")]


def delete_style(rt: Runtime, ns: str, bucket: str, name: str) -> None:
    """Deleting a style that does not exist succeeds, as other OSS deletes do."""
    rt.docs.delete(STYLE_KIND, ns, f"{bucket}/{name}")




def drop_bucket(rt: Runtime, ns: str, bucket: str) -> None:
    """A deleted bucket's styles go with it (a bucket made again under the name has none)."""
    with rt.docs.transaction():
        for key, _ in list(rt.docs.scan(STYLE_KIND, ns, bucket + "/")):
            rt.docs.delete(STYLE_KIND, ns, key)
