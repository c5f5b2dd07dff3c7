"""Every sub-resource OSS defines, so that none is mistaken for a plain operation.

A query parameter named here selects an OSS operation (`PUT /b/k?live` creates a live channel, not
an object). The route table serves some of them; any other one present is answered 501
NotImplemented in OSS's error XML rather than falling through to PutObject or ListObjects.

Gathered from oss2's V1 sub-resource set (oss2/auth.py), every operation of alibabacloud-oss-v2
(alibabacloud_oss_v2/operations/*.py) and the OSS API reference. Parameters that only qualify an
operation (position, partNumber, versionId, response-*, security-token, continuation-token,
callback, styleName, inventoryId, wormId, comp, ...) are not here: they never select one alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

KNOWN = frozenset("""
 acl uploads uploadId delete location bucketInfo objectMeta objectInfo stat x-oss-process
 x-oss-async-process style tagging cors referer policy policyStatus logging website encryption
 publicAccessBlock regions regionList lifecycle versioning versions symlink restore
 cleanRestoredObject append seal live vod qos qosInfo requesterQosInfo qosRequester
 requestPayment inventory worm wormExtend objectWorm retention legalHold replication
 replicationLocation replicationProgress transferAcceleration cname metaQuery MetaQuery
 resourceGroup asyncFetch bucketArchiveDirectRead httpsConfig redundancyTransition accessPoint
 accessPointPolicy accessmonitor resourcePool resourcePoolInfo resourcePoolBuckets cloudboxes
 dataPipeline overwriteConfig metadataConfiguration metadataInventoryTable metadataJournalTable
 quota rtc userDefinedLogFieldsConfig x-oss-write-get-object-response
 """.split())


def first_unserved(query: Mapping[str, str], served: Iterable[str]) -> str | None:
    """The first OSS sub-resource in the query that no route serves, in sorted order."""
    unserved = KNOWN.intersection(query).difference(served)
    return min(unserved) if unserved else None
