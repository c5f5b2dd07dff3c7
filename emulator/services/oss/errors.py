"""OSS's errors, by name. Every one renders as OSS's `<Error>` XML (wire.error_xml); the keyword
details become extra elements of that document."""

from __future__ import annotations

from emulator.core.errors import ServiceError

_PRECONDITION = "At least one of the pre-conditions you specified did not hold."
_TOO_LARGE = "Your proposed upload exceeds the maximum allowed object size."


def invalid_argument(message: str, name: str | None = None, value: str | None = None) -> ServiceError:
    details = {} if name is None else {"ArgumentName": name}
    if value is not None:
        details["ArgumentValue"] = value
    return ServiceError(400, "InvalidArgument", message, **details)


def integer_argument(name: str, raw: str, low: int, high: int) -> ServiceError:
    return invalid_argument(f"Argument {name} must be an integer between {low} and {high}.", name, raw)


def missing_argument(name: str) -> ServiceError:
    return ServiceError(400, "MissingArgument", "Missing Some Required Arguments.", ArgumentName=name)


def invalid_acl(acl: str) -> ServiceError:
    return invalid_argument("no such bucket access control exists", "x-oss-acl", acl)


def invalid_bucket_name(name: str) -> ServiceError:
    return ServiceError(400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=name)


def invalid_object_name(key: str | None = None) -> ServiceError:
    details = {} if key is None else {"Key": key}
    return ServiceError(400, "InvalidObjectName", "The specified object is not valid.", **details)


def no_such_bucket(name: str) -> ServiceError:
    return ServiceError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=name)


def bucket_not_empty(name: str, uploads: bool = False) -> ServiceError:
    message = ("The bucket has multipart uploads. Please abort them first." if uploads
               else "The bucket you tried to delete is not empty.")
    return ServiceError(409, "BucketNotEmpty", message, BucketName=name)


def no_such_key(key: str) -> ServiceError:
    return ServiceError(404, "NoSuchKey", "The specified key does not exist.", Key=key)


def file_already_exists(key: str) -> ServiceError:
    return ServiceError(409, "FileAlreadyExists", "The object you specified already exists and can not "
                        "be overwritten.", Key=key)


def no_such_upload(upload_id: str) -> ServiceError:
    return ServiceError(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be "
                        "invalid, or the upload may have been aborted or completed.", UploadId=upload_id)


def malformed_xml() -> ServiceError:
    return ServiceError(400, "MalformedXML", "The XML you provided was not well-formed or did not "
                        "validate against our published schema.")


def invalid_part_order() -> ServiceError:
    return ServiceError(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts "
                        "list must specified in order by part number.")


def invalid_part(number: int, etag: str) -> ServiceError:
    return ServiceError(400, "InvalidPart", "One or more of the specified parts could not be found or the "
                        "specified entity tag might not have matched the part's entity tag.",
                        PartNumber=str(number), ETag=etag)


def part_too_small(number: int, min_size: int, size: int) -> ServiceError:
    return ServiceError(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed "
                        "size.", PartNumber=str(number), MinSizeAllowed=str(min_size), ProposedSize=str(size))


def precondition_failed(condition: str) -> ServiceError:
    return ServiceError(412, "PreconditionFailed", _PRECONDITION, Condition=condition)


def not_modified() -> ServiceError:
    return ServiceError(304, "NotModified", "Not Modified")


def invalid_range(requested: str, size: int) -> ServiceError:
    return ServiceError(416, "InvalidRange", "The requested range cannot be satisfied.",
                        RangeRequested=requested, ActualObjectSize=str(size))


def not_implemented(sub_resource: str) -> ServiceError:
    return ServiceError(501, "NotImplemented", f"The emulator does not serve the {sub_resource!r} "
                        "sub-resource.")


def method_not_allowed(method: str, level: str) -> ServiceError:
    return ServiceError(405, "MethodNotAllowed", "The specified method is not allowed against this "
                        "resource.", Method=method, ResourceType=level.title())


def access_denied(message: str = "You have no right to access this object because of bucket acl.",
                  **details: str) -> ServiceError:
    return ServiceError(403, "AccessDenied", message, **details)


def invalid_access_key(access_key_id: str) -> ServiceError:
    return ServiceError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in "
                        "our records.", OSSAccessKeyId=access_key_id)


def signature_mismatch(access_key_id: str,
                       detail: str = " Check your key and signing method.") -> ServiceError:
    return ServiceError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match "
                        "the signature you provided." + detail, OSSAccessKeyId=access_key_id)


def time_too_skewed() -> ServiceError:
    return ServiceError(403, "RequestTimeTooSkewed", "The difference between the request time and the "
                        "current time is too large.")


def body_too_large() -> ServiceError:
    return invalid_argument("The request body is too large.")


def invalid_digest() -> ServiceError:
    return ServiceError(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")


def missing_content_length() -> ServiceError:
    return ServiceError(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")


def entity_too_large(code: str = "EntityTooLarge") -> ServiceError:
    return ServiceError(400, code, _TOO_LARGE)


def incomplete_body() -> ServiceError:
    return ServiceError(400, "IncompleteBody", "The request body is shorter than Content-Length.")


def malformed_post() -> ServiceError:
    return ServiceError(400, "MalformedPOSTRequest", "The body of your POST request is not well-formed "
                        "multipart/form-data.")


def field_too_long(name: str) -> ServiceError:
    return ServiceError(400, "FieldItemTooLong", "Your proposed upload exceeds the maximum field length.",
                        ArgumentName=name)


def invalid_policy(reason: str) -> ServiceError:
    return ServiceError(400, "InvalidPolicyDocument", f"Invalid Policy: {reason}")


def size_out_of_range(low: int, high: int, size: int) -> ServiceError:
    return ServiceError(400, "EntityTooSmall" if size < low else "EntityTooLarge", "Your proposed upload "
                        "size is out of the allowed content-length-range.", MinSizeAllowed=str(low),
                        MaxSizeAllowed=str(high), ProposedSize=str(size))


def internal() -> ServiceError:
    return ServiceError(500, "InternalError", "We encountered an internal error. Please try again.")


def throttled() -> ServiceError:
    return ServiceError(503, "ServiceUnavailable", "Please reduce your request rate.")


class HeadedError(ServiceError):
    """An error whose response carries headers besides the XML (delete markers, append positions)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str], **details: str) -> None:
        super().__init__(status, code, message, **details)
        self.headers = headers


def deleted_key(key: str, marker_version: str) -> ServiceError:
    return HeadedError(404, "NoSuchKey", "The specified key does not exist.",
                       {"x-oss-delete-marker": "true", "x-oss-version-id": marker_version}, Key=key)


def no_such_version(version_id: str) -> ServiceError:
    return ServiceError(404, "NoSuchVersion", "The specified version does not exist.", VersionId=version_id)


def delete_marker_version(version_id: str) -> ServiceError:
    return HeadedError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.",
                       {"x-oss-delete-marker": "true", "x-oss-version-id": version_id},
                       Method="GET", ResourceType="DeleteMarker")


def invalid_version_id(version_id: str) -> ServiceError:
    return invalid_argument("Invalid version id specified", "versionId", version_id)


def no_such_lifecycle(bucket: str) -> ServiceError:
    return ServiceError(404, "NoSuchLifecycle", "No Row found in Lifecycle Table.", BucketName=bucket)


def invalid_object_state(message: str = "The operation is not valid for the object's state") -> ServiceError:
    return ServiceError(403, "InvalidObjectState", message)


def restore_in_progress() -> ServiceError:
    return ServiceError(409, "RestoreAlreadyInProgress", "The restore operation is in progress.")


def operation_not_supported(message: str) -> ServiceError:
    return ServiceError(400, "OperationNotSupported", message)


def position_not_equal(next_position: int) -> ServiceError:
    return HeadedError(409, "PositionNotEqualToLength", "Position is not equal to file length",
                       {"x-oss-next-append-position": str(next_position)})


def object_not_appendable() -> ServiceError:
    return ServiceError(409, "ObjectNotAppendable", "The object is not appendable")


def symlink_target_missing(target: str) -> ServiceError:
    return ServiceError(404, "SymlinkTargetNotExist", "The symlink target object does not exist",
                        SymlinkTarget=target)


def not_symlink() -> ServiceError:
    return ServiceError(400, "NotSymlink", "The specified object is not a symlink.")


def invalid_callback(message: str, name: str) -> ServiceError:
    return invalid_argument(message, name)


def callback_failed(message: str) -> ServiceError:
    """The upload is stored; only the callback failed (HTTP 203, a 2xx to both SDKs)."""
    return ServiceError(203, "CallbackFailed", message)


def part_not_sequential() -> ServiceError:
    return ServiceError(400, "PartNotSequential", "For sequential multipart upload, you must upload or "
                        "complete parts with sequential part number.")


# x-oss-ec / <EC>: OSS's fine-grained error codes. Values from OSS's error-code pages where one is
# documented for the usual cause (NoSuchKey, NoSuchBucket, MissingArgument, AccessDenied, tagging,
# PostObject policy); the rest follow OSS's format with a stable made-up number per Code, since
# clients never branch on them.
_EC = {
    "NoSuchKey": "0026-00000001", "NoSuchBucket": "0015-00000101", "MissingArgument": "0016-00000502",
    "AccessDenied": "0003-00000001", "InvalidAccessKeyId": "0002-00000902",
    "SignatureDoesNotMatch": "0002-00000040", "RequestTimeTooSkewed": "0002-00000504",
    "NoSuchUpload": "0042-00000002", "InvalidBucketName": "0015-00000001",
    "InvalidObjectName": "0016-00000005", "BucketNotEmpty": "0015-00000301",
    "MalformedXML": "0016-00000601", "InvalidDigest": "0016-00000401",
    "MissingContentLength": "0016-00000403", "EntityTooLarge": "0016-00000404",
    "EntityTooSmall": "0042-00000306", "InvalidPart": "0042-00000311",
    "InvalidPartOrder": "0042-00000310", "PreconditionFailed": "0026-00000403",
    "FileAlreadyExists": "0016-00000905", "NotImplemented": "0016-00000001",
    "MethodNotAllowed": "0016-00000002", "InvalidTag": "0010-00000217",
    "AccessForbidden": "0003-00000301", "NoSuchCORSConfiguration": "0004-00000001",
    "NoSuchBucketPolicy": "0005-00000001", "NoSuchWebsiteConfiguration": "0013-00000001",
    "NoSuchServerSideEncryptionRule": "0012-00000001", "InvalidPolicyDocument": "0005-00000002",
    "InvalidTargetBucketForLogging": "0011-00000005", "NoSuchRegion": "0001-00000101",
    "InvalidEncryptionAlgorithmError": "0012-00000101", "InternalError": "0000-00000001",
    "ServiceUnavailable": "0000-00000002",
}


def ec_for(status: int, code: str) -> str:
    """The EC OSS sends with (status, Code); unknown codes get a family by HTTP status."""
    return _EC.get(code) or f"0016-{status:08d}"
