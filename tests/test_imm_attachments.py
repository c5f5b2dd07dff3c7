"""IMM's OSS bucket attachments (AttachOSSBucket, GetOSSBucketAttachment, ListAttachedOSSBuckets,
DetachOSSBucket) through the official alibabacloud-imm20200930 SDK against a live server."""

from __future__ import annotations

import oss2
import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from emulator.testing.server import LiveServer
from tests.imm_support import imm_client, oss_bucket


def _attach(client, project: str | None, bucket: str | None = None, **more):
    return client.attach_ossbucket(m.AttachOSSBucketRequest(project_name=project, ossbucket=bucket, **more))


def _get(client, bucket: str):
    return client.get_ossbucket_attachment(m.GetOSSBucketAttachmentRequest(ossbucket=bucket)).body


def _listed(client, project: str, **more):
    return client.list_attached_ossbuckets(m.ListAttachedOSSBucketsRequest(project_name=project, **more)).body


def _error(call) -> ClientException:
    with pytest.raises(ClientException) as err:
        call()
    return err.value


def test_attach_get_list_detach(emulator: LiveServer) -> None:
    client = imm_client(emulator)
    client.create_project(m.CreateProjectRequest(project_name="p"))
    for name in ("media-b", "media-a", "media-c"):
        oss_bucket(emulator, name)
    _attach(client, "p", "media-b", description="videos")
    _attach(client, "p", "media-a")

    got = _get(client, "media-b")
    assert (got.project_name, got.description) == ("p", "videos")
    assert got.request_id and got.create_time and got.create_time == got.update_time

    listed = _listed(client, "p")
    assert [(b.ossbucket, b.project_name, b.description) for b in listed.attached_ossbuckets] == [
        ("media-a", "p", ""), ("media-b", "p", "videos")]
    assert all(b.owner_id == emulator.account_id for b in listed.attached_ossbuckets)
    assert not listed.next_token

    first = _listed(client, "p", max_results=1)
    assert [b.ossbucket for b in first.attached_ossbuckets] == ["media-a"] and first.next_token
    rest = _listed(client, "p", max_results=1, next_token=first.next_token)
    assert [b.ossbucket for b in rest.attached_ossbuckets] == ["media-b"] and not rest.next_token

    client.detach_ossbucket(m.DetachOSSBucketRequest(ossbucket="media-b"))
    err = _error(lambda: _get(client, "media-b"))
    assert (err.code, err.status_code) == ("ResourceNotFound", 400)
    assert "OSSBucket" in err.message
    assert [b.ossbucket for b in _listed(client, "p").attached_ossbuckets] == ["media-a"]


def test_refusals_change_nothing(emulator: LiveServer) -> None:
    client = imm_client(emulator)
    client.create_project(m.CreateProjectRequest(project_name="p"))
    client.create_project(m.CreateProjectRequest(project_name="q"))
    oss_bucket(emulator, "media")
    _attach(client, "p", "media")

    # A bucket has one project: attaching it again, to any project, is refused.
    err = _error(lambda: _attach(client, "q", "media"))
    assert (err.code, err.status_code) == ("ResourceAlreadyExists", 400)
    err = _error(lambda: _attach(client, "q", "nobucket"))
    assert err.code == "ResourceNotFound" and "OSSBucket" in err.message
    err = _error(lambda: _attach(client, "nope", "media"))
    assert err.code == "ResourceNotFound" and "Project" in err.message
    err = _error(lambda: _attach(client, "q"))
    assert err.code == "InvalidArgument" and "OSSBucket" in err.message
    err = _error(lambda: _attach(client, "q", "media", description="x" * 129))
    assert err.code == "InvalidArgument" and "Description" in err.message
    err = _error(lambda: _listed(client, "p", max_results=201))
    assert err.code == "InvalidArgument" and "MaxResults" in err.message
    err = _error(lambda: client.detach_ossbucket(m.DetachOSSBucketRequest(ossbucket="nobucket")))
    assert err.code == "ResourceNotFound"

    assert _get(client, "media").project_name == "p"
    assert not _listed(client, "q").attached_ossbuckets


def test_deleting_a_project_detaches_its_buckets(emulator: LiveServer) -> None:
    client = imm_client(emulator)
    client.create_project(m.CreateProjectRequest(project_name="p"))
    oss_bucket(emulator, "media")
    _attach(client, "p", "media")
    client.delete_project(m.DeleteProjectRequest(project_name="p"))
    assert _error(lambda: _get(client, "media")).code == "ResourceNotFound"
    client.create_project(m.CreateProjectRequest(project_name="q"))
    _attach(client, "q", "media")


def test_attachments_stay_in_their_namespace(emulator: LiveServer) -> None:
    a, b = emulator.create_namespace(), emulator.create_namespace()
    client_a = imm_client(emulator, secret=a.access_key_secret, access_key_id=a.access_key_id)
    client_b = imm_client(emulator, secret=b.access_key_secret, access_key_id=b.access_key_id)
    for client in (client_a, client_b):
        client.create_project(m.CreateProjectRequest(project_name="p"))
    oss2.Bucket(oss2.Auth(a.access_key_id, a.access_key_secret), emulator.url, "media").create_bucket()
    _attach(client_a, "p", "media")

    assert _error(lambda: _get(client_b, "media")).code == "ResourceNotFound"
    assert not _listed(client_b, "p").attached_ossbuckets
    # B has no bucket of that name: A's is not B's to attach or detach.
    assert _error(lambda: _attach(client_b, "p", "media")).code == "ResourceNotFound"
    err = _error(lambda: client_b.detach_ossbucket(m.DetachOSSBucketRequest(ossbucket="media")))
    assert err.code == "ResourceNotFound"
    assert _get(client_a, "media").project_name == "p"


def test_attachments_survive_a_restart(tmp_path) -> None:
    with LiveServer(data_dir=tmp_path) as server:
        client = imm_client(server)
        client.create_project(m.CreateProjectRequest(project_name="p"))
        oss_bucket(server, "media")
        _attach(client, "p", "media", description="d")
    with LiveServer(data_dir=tmp_path) as server:
        got = _get(imm_client(server), "media")
        assert (got.project_name, got.description) == ("p", "d")
