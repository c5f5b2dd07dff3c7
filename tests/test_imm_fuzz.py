"""Hypothesis throws malformed parameters at every IMM action through the SDK's own signer: the
answer is a 2xx that did what the action says, or IMM's error shape with a 4xx, never a 5xx;
stored projects survive (an UpdateProject of one changes only what it was asked to)."""

from __future__ import annotations

import json

from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ClientException
from darabonba.runtime import RuntimeOptions
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emulator.testing.server import LiveServer
from tests.imm_support import imm_client

ACTIONS = ["CreateProject", "GetProject", "UpdateProject", "DeleteProject", "ListProjects", "AttachOSSBucket",
           "GetOSSBucketAttachment", "DetachOSSBucket", "ListAttachedOSSBuckets",
           "CreateMediaConvertTask", "GetTask", "ListTasks", "DetectMediaMeta", "GenerateVideoPlaylist"]
KEYS = ["ProjectName", "Sources", "Targets", "TargetGroups", "Notification", "Tags", "UserData",
        "AlignmentIndex", "TaskId", "TaskType", "RequestDefinition", "MaxResults", "NextToken", "Sort",
        "Order", "Status", "TaskTypes", "StartTimeRange", "Tag", "Prefix", "Description", "CredentialConfig",
        "SourceURI", "MasterURI", "SourceStartTime", "SourceDuration", "OverwritePolicy", "OSSBucket"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["URI", "Format", "Image", "Animations", "Width", "Interval", "Number", "MNS",
                         "TopicName", "Start", "Key", "Value", "StartTime", "Duration"]), inner, max_size=4),
    max_leaves=12)
values = st.one_of(st.text(max_size=30), json_values.map(json.dumps),
                   st.sampled_from(["p", "keep", "MediaConvert", "True", "-1", "oss://b/k", "{}", "[]"]))
params = st.dictionaries(st.sampled_from(KEYS) | st.text(min_size=1, max_size=6), values, max_size=6)


def _project(client, name: str):
    """The stored project of that name, or None."""
    try:
        return client.get_project(m.GetProjectRequest(project_name=name)).body.project
    except ClientException as err:
        assert err.code == "ResourceNotFound", err
        return None


def _check_success(client, action: str, query: dict, body: dict) -> None:
    """What a 2xx promises for each action, read back through the SDK."""
    assert body.get("RequestId"), body
    name = query.get("ProjectName")
    if action in ("CreateProject", "UpdateProject", "GetProject"):
        project = _project(client, name)
        assert project is not None and project.project_name == name, (action, query)
        if action == "GetProject":
            assert body["Project"]["ProjectName"] == name
        if action in ("CreateProject", "UpdateProject") and "Description" in query:
            assert project.description == query["Description"]
    elif action == "DeleteProject":
        assert _project(client, name) is None
    elif action == "CreateMediaConvertTask":
        task = client.get_task(m.GetTaskRequest(project_name=name, task_type="MediaConvert",
                                                task_id=body["TaskId"])).body
        assert task.task_id == body["TaskId"]
    elif action in ("ListProjects", "ListTasks"):
        assert isinstance(body["Projects" if action == "ListProjects" else "Tasks"], list)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(action=st.sampled_from(ACTIONS), query=params)
# Successes whose effect is read back, tried whatever hypothesis draws.
@example(action="UpdateProject", query={"ProjectName": "keep", "Description": "changed"})
@example(action="CreateProject", query={"ProjectName": "fresh", "Description": "new one"})
@example(action="DeleteProject", query={"ProjectName": "fresh"})
def test_malformed_requests_get_4xx_in_imm_shape(emulator: LiveServer, action: str, query: dict) -> None:
    client = imm_client(emulator)
    kept = _project(client, "keep")
    if kept is None:
        client.create_project(m.CreateProjectRequest(project_name="keep", description="kept"))
    elif kept.description != "kept":  # an earlier example's UpdateProject changed it
        client.update_project(m.UpdateProjectRequest(project_name="keep", description="kept"))
    if action == "DeleteProject" and query.get("ProjectName") == "keep":
        query = {**query, "ProjectName": "other"}
    api = utils_models.Params(action=action, version="2020-09-30", protocol="HTTP", pathname="/",
                              method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                              body_type="json")
    updated = False
    try:
        answer = client.call_api(api, utils_models.OpenApiRequest(query=query), RuntimeOptions())
    except AlibabaCloudException as err:  # the SDK's ServerException (5xx) and throttling too
        assert isinstance(err, ClientException) and 400 <= err.status_code < 500, (err.status_code, err)
        assert err.code and err.request_id
    else:
        assert 200 <= answer["statusCode"] < 300
        _check_success(client, action, query, answer["body"])
        updated = action == "UpdateProject" and query.get("ProjectName") == "keep" and "Description" in query
    expected = query["Description"] if updated else "kept"
    assert _project(client, "keep").description == expected
