"""IMM's errors, by name. Every one renders as the RPC JSON error (wire.error)."""

from __future__ import annotations

from emulator.core.errors import ServiceError


def invalid(field: str, reason: str) -> ServiceError:
    return ServiceError(400, "InvalidArgument", f"The parameter {field} {reason}", Field=field)


def missing(field: str) -> ServiceError:
    return ServiceError(400, "InvalidArgument",
                        f"The parameter {field} is required but not provided.", Field=field)


def invalid_json(field: str) -> ServiceError:
    return ServiceError(400, "InvalidJSON", f"Array parsing error,{field}", Field=field)


def not_found(resource_type: str) -> ServiceError:
    # IMM's common error table gives 400 for both (not 404 / 409).
    return ServiceError(400, "ResourceNotFound", f"The specified resource {resource_type} is not found.")


def already_exists(resource_type: str) -> ServiceError:
    return ServiceError(400, "ResourceAlreadyExists",
                        f"The specified resource {resource_type} already exists.")


def api_not_found() -> ServiceError:
    return ServiceError(404, "InvalidApi.NotFound",
                        "Specified api is not found, please check your url and method.")


def invalid_version(version: str | None) -> ServiceError:
    return ServiceError(400, "InvalidVersion", f"Specified parameter Version is not valid: {version}.")


def internal() -> ServiceError:
    return ServiceError(500, "InternalError", "The request processing has failed due to some unknown error.")


def throttled() -> ServiceError:
    return ServiceError(400, "Throttling.User", "Request was denied due to user flow control.")
