"""Validating the emulator's own documents (fault rules, scenario files, admin request bodies,
the stored clock) with pydantic, and reporting the first problem as a field path and a message in
the emulator's words: `effect.http_error.status: must be between 400 and 599`.

Documents are strict: no type coercion (a string is not a number, true is not 1), no unknown
fields, numbers finite.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

M = TypeVar("M", bound=BaseModel)


class InvalidDocument(ValueError):
    """A document that does not validate; `field` names the offending field (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Document(BaseModel):
    """Base of the internal documents: strict types, unknown fields refused."""

    # Schemas are built on first use: most runs never validate most documents, and a start
    # should not pay for them.
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


def between(low: float | None, high: float | None) -> AfterValidator:
    """A range check whose message names both bounds (pydantic's names one at a time)."""

    def check(value: float) -> float:
        if (low is not None and value < low) or (high is not None and value > high):
            if high is None:
                raise PydanticCustomError("range", "must be >= {low}", {"low": low})
            raise PydanticCustomError("range", "must be between {low} and {high}", {"low": low, "high": high})
        return value

    return AfterValidator(check)


def fail(kind: str, message: str) -> PydanticCustomError:
    """An error with exactly this message, for validators."""
    return PydanticCustomError(kind, message)


NonEmptyString = Annotated[str, Field(min_length=1)]
FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]

# Tags of union members (see pydantic's Discriminator) are wrapped in parentheses so that field
# paths can leave them out: a path names the document's fields only.
_TAG = ("(", ")")

_MESSAGES = {
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a string",
    "string_too_short": "must be a non-empty string",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "list_type": "must be a list",
    "extra_forbidden": "unknown field",
    "missing": "is required",
}


def field_path(loc: tuple[int | str, ...]) -> str:
    """("buckets", 0, "objects", 1, "file") -> "buckets[0].objects[1].file"."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not (part.startswith(_TAG[0]) and part.endswith(_TAG[1])):
            path += f".{part}" if path else part
    return path


def tag(name: str) -> str:
    """A union member's tag that field paths leave out."""
    return f"{_TAG[0]}{name}{_TAG[1]}"


def first_error(exc: ValidationError, root: str = "") -> InvalidDocument:
    """The first problem pydantic found, as an InvalidDocument (`root` names a top level that
    is not an object of the document's own, e.g. the body itself)."""
    error = exc.errors(include_url=False, include_input=False)[0]
    field = field_path(error["loc"]) or root
    return InvalidDocument(field, _MESSAGES.get(error["type"], error["msg"]))


def validate(model: type[M], data: Any, root: str = "", context: dict[str, Any] | None = None) -> M:
    """`model` validated from `data`, or InvalidDocument naming the first bad field."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise first_error(exc, root) from None
    except RecursionError:
        raise InvalidDocument(root, "nested too deeply") from None


def parse_json(raw: bytes | str) -> Any:
    """json.loads that fails with ValueError on whatever it cannot read, nesting too deep for the
    parser included (json raises RecursionError there)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def one_of(names: tuple[str, ...], what: str) -> Callable[[Any], Any]:
    """A before-validator for an object that must hold exactly one of `names`."""

    def check(value: Any) -> Any:
        if not isinstance(value, dict) or len(value) != 1:
            raise fail("one_of", f"must be an object with exactly one of: {', '.join(names)}")
        name = next(iter(value))
        if name not in names:
            raise fail("one_of", f"unknown {what} {name!r}; one of: {', '.join(names)}")
        return value

    return check
