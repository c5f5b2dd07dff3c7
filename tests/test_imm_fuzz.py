"""Hypothesis throws malformed parameters at every IMM action through the SDK's own signer: the
answer is a 2xx or IMM's error shape with a 4xx, never a 5xx; stored projects survive."""

from __future__ import annotations

import json

from alibabacloud_imm20200930 import models as m
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.runtime import RuntimeOptions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.testing.server import LiveServer
from tests.imm_support import imm_client

ACTIONS = ["CreateProject", "GetProject", "UpdateProject", "DeleteProject", "ListProjects",
           "CreateMediaConvertTask", "GetTask", "ListTasks", "DetectMediaMeta", "GenerateVideoPlaylist"]
KEYS = ["ProjectName", "Sources", "Targets", "TargetGroups", "Notification", "Tags", "UserData",
        "AlignmentIndex", "TaskId", "TaskType", "RequestDefinition", "MaxResults", "NextToken", "Sort",
        "Order", "Status", "TaskTypes", "StartTimeRange", "Tag", "Prefix", "Description", "CredentialConfig",
        "SourceURI", "MasterURI", "SourceStartTime", "SourceDuration", "OverwritePolicy"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["URI", "Format", "Image", "Animations", "Width", "Interval", "Number", "MNS",
                         "TopicName", "Start", "Key", "Value", "StartTime", "Duration"]), inner, max_size=4),
    max_leaves=12)
values = st.one_of(st.text(max_size=30), json_values.map(json.dumps),
                   st.sampled_from(["p", "keep", "MediaConvert", "True", "-1", "oss://b/k", "{}", "[]"]))
params = st.dictionaries(st.sampled_from(KEYS) | st.text(min_size=1, max_size=6), values, max_size=6)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(action=st.sampled_from(ACTIONS), query=params)
def test_malformed_requests_get_4xx_in_imm_shape(emulator: LiveServer, action: str, query: dict) -> None:
    client = imm_client(emulator)
    try:
        client.get_project(m.GetProjectRequest(project_name="keep"))
    except ClientException:
        client.create_project(m.CreateProjectRequest(project_name="keep", description="kept"))
    if action == "DeleteProject" and query.get("ProjectName") == "keep":
        query = {**query, "ProjectName": "other"}
    api = utils_models.Params(action=action, version="2020-09-30", protocol="HTTP", pathname="/",
                              method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                              body_type="json")
    try:
        client.call_api(api, utils_models.OpenApiRequest(query=query), RuntimeOptions())
    except ClientException as err:
        assert 400 <= err.status_code < 500
        assert err.code and err.request_id
    kept = client.get_project(m.GetProjectRequest(project_name="keep")).body.project
    assert kept.description in ("kept",) or action == "UpdateProject"
