"""IMM projects and request signatures, through the official alibabacloud-imm20200930 SDK."""

from __future__ import annotations

import httpx
import pytest
from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.runtime import RuntimeOptions

from emulator.testing.server import LiveServer
from tests.imm_support import imm_client


@pytest.mark.parametrize("variant", ["acs3", "acs3-scheme-in-endpoint", "v2"])
def test_project_lifecycle_with_each_signature(emulator: LiveServer, variant: str) -> None:
    client = imm_client(
        emulator, endpoint=("http://" + emulator.endpoint) if variant == "acs3-scheme-in-endpoint" else None,
        signature_algorithm="v2" if variant == "v2" else None)
    created = client.create_project(m.CreateProjectRequest(
        project_name="test-project", description="demo",
        tag=[m.CreateProjectRequestTag(key="team", value="media")])).body.project
    assert created.project_name == "test-project"
    assert created.service_role == "AliyunIMMDefaultRole"
    assert [(t.tag_key, t.tag_value) for t in created.tags] == [("team", "media")]
    assert created.create_time == created.update_time

    got = client.get_project(m.GetProjectRequest(project_name="test-project")).body.project
    assert got.description == "demo"

    updated = client.update_project(m.UpdateProjectRequest(
        project_name="test-project", description="changed")).body.project
    assert updated.description == "changed"
    assert client.get_project(m.GetProjectRequest(project_name="test-project")).body.project.description \
        == "changed"

    client.delete_project(m.DeleteProjectRequest(project_name="test-project"))
    with pytest.raises(ClientException) as err:
        client.get_project(m.GetProjectRequest(project_name="test-project"))
    assert err.value.code == "ResourceNotFound"
    assert err.value.status_code == 400
    assert "Project is not found" in err.value.message


def test_duplicate_and_invalid_names(emulator: LiveServer) -> None:
    client = imm_client(emulator)
    client.create_project(m.CreateProjectRequest(project_name="p1"))
    with pytest.raises(ClientException) as err:
        client.create_project(m.CreateProjectRequest(project_name="p1"))
    assert err.value.code == "ResourceAlreadyExists"
    with pytest.raises(ClientException) as err:
        client.create_project(m.CreateProjectRequest(project_name="9starts-with-digit"))
    assert err.value.code == "InvalidArgument"
    assert "ProjectName" in err.value.message
    with pytest.raises(ClientException) as err:
        client.delete_project(m.DeleteProjectRequest(project_name="missing"))
    assert err.value.code == "ResourceNotFound"


def test_list_projects_pages_and_filters(emulator: LiveServer) -> None:
    client = imm_client(emulator)
    for name in ["a-1", "a-2", "a-3", "b-1"]:
        client.create_project(m.CreateProjectRequest(
            project_name=name, tag=[m.CreateProjectRequestTag(key="group", value=name[0])]))
    seen, token = [], None
    while True:
        body = client.list_projects(m.ListProjectsRequest(max_results=2, next_token=token)).body
        seen += [p.project_name for p in body.projects]
        token = body.next_token
        if not token:
            break
    assert seen == ["a-1", "a-2", "a-3", "b-1"]
    body = client.list_projects(m.ListProjectsRequest(prefix="a-")).body
    assert [p.project_name for p in body.projects] == ["a-1", "a-2", "a-3"]
    body = client.list_projects(m.ListProjectsRequest(
        tag=[m.ListProjectsRequestTag(key="group", value="b")])).body
    assert [p.project_name for p in body.projects] == ["b-1"]


def test_wrong_secret_and_unknown_key_are_refused(emulator: LiveServer) -> None:
    for algorithm in (None, "v2"):
        with pytest.raises(ClientException) as err:
            imm_client(emulator, secret="not-the-secret", signature_algorithm=algorithm).list_projects(
                m.ListProjectsRequest())
        assert err.value.code == "SignatureDoesNotMatch"
        assert err.value.status_code == 400
        with pytest.raises(ClientException) as err:
            imm_client(emulator, access_key_id="LTAI-nobody", signature_algorithm=algorithm).list_projects(
                m.ListProjectsRequest())
        assert err.value.code == "InvalidAccessKeyId.NotFound"
        assert err.value.status_code == 404


def test_unsigned_unknown_action_and_version_use_the_rpc_error_shape(emulator: LiveServer) -> None:
    response = httpx.post(emulator.url + "/", params={"Action": "ListProjects", "Version": "2020-09-30"})
    assert response.status_code == 400
    body = response.json()
    assert body["Code"] == "MissingAuthorization"
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    response = httpx.post(emulator.url + "/", headers={"x-acs-action": "NoSuchAction",
                                                       "x-acs-version": "2020-09-30"})
    assert (response.status_code, response.json()["Code"]) == (404, "InvalidApi.NotFound")
    response = httpx.post(emulator.url + "/", headers={"x-acs-action": "ListProjects",
                                                       "x-acs-version": "2017-09-06"})
    assert (response.status_code, response.json()["Code"]) == (400, "InvalidVersion")


def test_update_project_tags_and_absurd_json(emulator: LiveServer) -> None:
    client = imm_client(emulator)
    client.create_project(m.CreateProjectRequest(project_name="p"))
    updated = client.update_project(m.UpdateProjectRequest(
        project_name="p", tag=[m.UpdateProjectRequestTag(key="a", value="b")])).body.project
    assert [(t.tag_key, t.tag_value) for t in updated.tags] == [("a", "b")]
    with pytest.raises(ClientException) as err:
        client.list_projects(m.ListProjectsRequest(tag=[None]))
    assert err.value.code == "InvalidArgument"
    api = utils_models.Params(action="CreateMediaConvertTask", version="2020-09-30", protocol="HTTP",
                              pathname="/", method="POST", auth_type="AK", style="RPC",
                              req_body_type="formData", body_type="json")
    deep = utils_models.OpenApiRequest(query={"ProjectName": "p", "Sources": "[" * 50000, "Targets": "[]"})
    with pytest.raises(ClientException) as err:
        client.call_api(api, deep, RuntimeOptions())
    assert err.value.code == "InvalidJSON"
