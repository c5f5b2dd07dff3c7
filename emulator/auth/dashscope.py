"""DashScope bearer API keys, bound to a region by the host they are sent to.

`sk-emulator` is an international (Singapore) key, `sk-emulator-cn` a Beijing key. A request
whose Host names a region's DashScope domain must carry that region's key (the cloud answers a
cross-region key with 401 InvalidApiKey); any other Host (127.0.0.1, localhost, a container
name) accepts either key, and the key alone decides the region.
"""

from __future__ import annotations

from emulator.core.accounts import DASHSCOPE_CN, DASHSCOPE_INTL, Accounts, Credentials
from emulator.core.errors import ServiceError

NO_KEY = "No API-key provided."
BAD_KEY = "Invalid API-key provided."


def host_region(host: str) -> str | None:
    """The region a Host header binds the key to, or None when it binds none."""
    name = host.strip().lower().rsplit(":", 1)[0] if not host.startswith("[") else ""
    if name == "dashscope-intl.aliyuncs.com" or name.endswith(".ap-southeast-1.maas.aliyuncs.com"):
        return DASHSCOPE_INTL
    if name == "dashscope.aliyuncs.com":
        return DASHSCOPE_CN
    return None


def bearer_key(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


def authenticate(accounts: Accounts, authorization: str | None, host: str,
                 verify: bool = True) -> tuple[Credentials, str]:
    """(credentials, region) for a request, or ServiceError 401 InvalidApiKey. With `verify`
    off any key is accepted; an unknown one acts as the default namespace's key for the Host's
    region (intl when the Host binds none)."""
    key = bearer_key(authorization)
    if key is None:
        raise ServiceError(401, "InvalidApiKey", NO_KEY)
    required = host_region(host)
    found = accounts.by_dashscope_key(key)
    if found is None:
        if verify:
            raise ServiceError(401, "InvalidApiKey", BAD_KEY)
        return accounts.default, required or DASHSCOPE_INTL
    creds, region = found
    if verify and required is not None and region != required:
        raise ServiceError(401, "InvalidApiKey", BAD_KEY)
    return creds, region
