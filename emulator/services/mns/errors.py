"""MNS's errors, by name. Every one renders as MNS's `<Error>` XML (wire.error)."""

from __future__ import annotations

from emulator.core.errors import ServiceError


def invalid_argument(message: str) -> ServiceError:
    return ServiceError(400, "InvalidArgument", message)


def name_length(title: str, kind: str, limit: int) -> ServiceError:
    return ServiceError(400, f"{title}NameLengthError", f"The length of {kind} name should between 1 and "
                        f"{limit}.")


def invalid_name(title: str, kind: str) -> ServiceError:
    return ServiceError(400, f"Invalid{title}Name", f"The {kind} name you provided is invalid.")


def queue_not_exist() -> ServiceError:
    return ServiceError(404, "QueueNotExist", "The queue name you provided is not exist.")


def queue_already_exist() -> ServiceError:
    return ServiceError(409, "QueueAlreadyExist", "The queue you want to create is already exist.")


def message_not_exist() -> ServiceError:
    return ServiceError(404, "MessageNotExist", "Message not exist.")


def receipt_handle_error() -> ServiceError:
    return ServiceError(400, "ReceiptHandleError", "The receipt handle you provide is not valid.")


def topic_not_exist() -> ServiceError:
    return ServiceError(404, "TopicNotExist", "The topic name you provided is not exist.")


def topic_already_exist() -> ServiceError:
    return ServiceError(409, "TopicAlreadyExist", "The topic you want to create is already exist.")


def subscription_not_exist() -> ServiceError:
    return ServiceError(404, "SubscriptionNotExist", "The subscription you provided is not exist.")


def subscription_already_exist() -> ServiceError:
    return ServiceError(409, "SubscriptionAlreadyExist", "The subscription you want to create is already "
                        "exist.")


def client_left() -> ServiceError:
    return ServiceError(408, "RequestTimeout", "The client closed the connection.")


def missing(name: str) -> ServiceError:
    return ServiceError(400, f"Missing{name}", f"{name} is required.")


def invalid_url() -> ServiceError:
    return ServiceError(400, "InvalidRequestURL", "Http request URL format invalid.")


def invalid_digest() -> ServiceError:
    # "Degist" is how MNS spells it.
    return ServiceError(400, "InvalidDegist", "The Content-MD5 you specified is invalid.")


def body_too_large(limit: int) -> ServiceError:
    return invalid_argument(f"The request body is larger than {limit} bytes.")


def malformed_xml() -> ServiceError:
    return ServiceError(400, "MalformedXML", "The XML you provided was not well-formed.")


def schema_error(element: str) -> ServiceError:
    return invalid_argument(f"The XML you provided did not validate against our published schema, cause "
                            f"by Element {element}.")


def invalid_query(name: str) -> ServiceError:
    return ServiceError(400, "InvalidQueryString", f'Http request URL contains invalid querystring item '
                        f'"{name}".')


def internal() -> ServiceError:
    return ServiceError(500, "InternalError", "Interal error.")


def throttled() -> ServiceError:
    return ServiceError(503, "Throttling", "Request was denied due to flow control.")
