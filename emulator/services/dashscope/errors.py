"""DashScope's errors, by name. Every one renders as the flat `{request_id, code, message}` JSON
(wire.error_response)."""

from __future__ import annotations

from emulator.core.errors import ServiceError

BAD_PARAMETERS = "Required parameter(s) missing or invalid, please check the request parameters."


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError(400, "InvalidParameter", message)


def invalid_url() -> ServiceError:
    return ServiceError(400, "InvalidURL", "Invalid URL provided in your request.")


def illegal_input() -> ServiceError:
    return ServiceError(400, "BadRequest.IllegalInput", "The input parameter requires json format.")


def empty_model() -> ServiceError:
    return ServiceError(400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.')


def empty_input() -> ServiceError:
    return ServiceError(400, "BadRequest.EmptyInput", "Required input parameter missing from request.")


def empty_parameters() -> ServiceError:
    return ServiceError(400, "BadRequest.EmptyParameters",
                        'Required parameter "parameters" missing from request.')


def data_inspection(message: str = "The media format is not supported or incorrect for the data "
                    "inspection.") -> ServiceError:
    return ServiceError(400, "InvalidParameter.DataInspection", message)


def synchronous_call() -> ServiceError:
    return ServiceError(403, "AccessDenied", "current user api does not support synchronous calls.")


def wrong_path() -> ServiceError:
    return invalid_parameter("url error, please check url！")


def not_cancelable() -> ServiceError:
    return ServiceError(400, "UnsupportedOperation", "Failed to cancel the task, please confirm if the "
                        "task is in PENDING status.")


def task_dropped() -> ServiceError:
    return ServiceError(404, "NotFound", "the task was dropped (reset) while rendering")


def not_found() -> ServiceError:
    return ServiceError(404, "NotFound", "Not found!")


def method_not_supported(method: str) -> ServiceError:
    return invalid_parameter(f"Request method '{method}' is not supported.")


def throttled() -> ServiceError:
    return ServiceError(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.")


def internal() -> ServiceError:
    return ServiceError(500, "InternalError", "An internal error has occured, please try again later or "
                        "contact service support.")
