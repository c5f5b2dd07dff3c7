"""IMM 2020-09-30 RPC: `POST /` with the action in x-acs-action (V3) or Action= (V2). The route
table is ACTIONS at the bottom of build_imm: one handler per API action."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from emulator.auth.acs import SignedRequest, access_key_of, verify_pop_request
from emulator.core.errors import ServiceError
from emulator.core.runtime import Runtime
from emulator.core.service import Built, ServiceHandle
from emulator.services.imm import wire
from emulator.services.imm.convert import parse_convert_request
from emulator.services.imm.media_actions import media_actions
from emulator.services.imm.model import PROJECT_LIMITS, TASK_STATUSES, ImmModel, task_view
from emulator.services.imm.runner import SERVICE, TaskRunner
from emulator.services.imm.wire import Params, invalid

log = logging.getLogger("emulator.imm")



def _time_range(params: Params, name: str) -> tuple[float, float] | None:
    value = params.json(name, dict)
    if value is None:
        return None
    bounds = []
    for key, default in (("Start", float("-inf")), ("End", float("inf"))):
        raw = value.get(key)
        if raw in (None, ""):
            bounds.append(default)
            continue
        try:
            when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise invalid(f"{name}.{key}", "must be an ISO 8601 time.") from None
        bounds.append((when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp())
    return bounds[0], bounds[1]


def _project_fields(params: Params) -> dict[str, Any]:
    description = params.str("Description")
    if description is not None and len(description) > 256:
        raise invalid("Description", "must be at most 256 characters.")
    fields: dict[str, Any] = {"Description": description, "ServiceRole": params.str("ServiceRole"),
                              "TemplateId": params.str("TemplateId")}
    for name in PROJECT_LIMITS:
        fields[name] = params.int(name, low=0, high=2**62)
    tags = _tag_list(params)
    if tags is not None:
        fields["Tag"] = tags
    return fields


def _tag_list(params: Params) -> list[dict[str, Any]] | None:
    tags = params.json("Tag", list)
    if tags is not None and not all(isinstance(t, dict) for t in tags):
        raise invalid("Tag", "must be a JSON array of {Key, Value} objects.")
    return tags


def build_imm(runtime: Runtime, oss_model, mns_model) -> Built:
    model = ImmModel(runtime)
    runner = TaskRunner(runtime, model, oss_model, mns_model)
    config = runtime.config

    # ---- projects ------------------------------------------------------------------------

    def create_project(ns: str, params: Params, request_id: str) -> dict[str, Any]:
        name = params.str("ProjectName", required=True)
        fields = _project_fields(params)
        project = model.create_project(
            ns, name, fields.pop("Description") or "", fields.pop("ServiceRole"),
            fields.pop("TemplateId") or "", fields.pop("Tag", None),
            {k: v for k, v in fields.items() if v is not None})
        return {"Project": project}

    def get_project(ns: str, params: Params, request_id: str) -> dict[str, Any]:
        params.bool("WithStatistics")
        return {"Project": model.get_project(ns, params.str("ProjectName", required=True))}

    def update_project(ns: str, params: Params, request_id: str) -> dict[str, Any]:
        name = params.str("ProjectName", required=True)
        return {"Project": model.update_project(ns, name, _project_fields(params))}

    def delete_project(ns: str, params: Params, request_id: str) -> dict[str, Any]:
        name = params.str("ProjectName", required=True)
        model.delete_project(ns, name)
        return {}

    def list_projects(ns: str, params: Params, request_id: str) -> dict[str, Any]:
        max_results = params.int("MaxResults", 0, low=0, high=200) or 100
        prefix = params.str("Prefix", default="")
        if len(prefix) > 128:
            raise invalid("Prefix", "must be at most 128 characters.")
        projects, next_token = model.list_projects(ns, prefix, max_results,
                                                   params.str("NextToken", default=""),
                                                   _tag_list(params))
        return {"NextToken": next_token, "Projects": projects}

    # ---- tasks ---------------------------------------------------------------------------

    async def create_media_convert_task(ns: str, params: Params, request_id: str) -> dict[str, Any]:
        project = params.str("ProjectName", required=True)
        model.get_project(ns, project)
        parsed = {name: params.json(name, kind) for name, kind in (
            ("Sources", list), ("Targets", list), ("TargetGroups", list), ("Notification", dict),
            ("Tags", dict), ("CredentialConfig", dict))}
        user_data = params.str("UserData")
        alignment = params.int("AlignmentIndex", 0, low=0, high=10)
        request = parse_convert_request(parsed["Sources"], parsed["Targets"], parsed["TargetGroups"],
                                        parsed["Notification"], user_data, parsed["Tags"], alignment)
        definition = {"ProjectName": project, **{k: v for k, v in parsed.items() if v is not None},
                      **({"UserData": user_data} if user_data is not None else {}),
                      "AlignmentIndex": alignment}
        task = {
            "ProjectName": project, "TaskId": f"MediaConvert-{runtime.ids.uuid()}",
            "TaskType": "MediaConvert",
            "EventId": f"{runtime.ids.hex(3, upper=True)}-{runtime.ids.token(27)}",
            "RequestId": request_id, "Status": "Running", "Code": "", "Message": "",
            "StartTime": runtime.clock.now(), "EndTime": None, "Progress": 0,
            "UserData": user_data or "", "Tags": request.tags,
            "Definition": json.dumps(definition, ensure_ascii=False, separators=(",", ":"))}
        model.add_task(ns, task)
        runtime.events.record(ns, SERVICE, task["TaskId"], "submitted", project=project,
                              outputs=len(request.outputs))
        runner.submit(ns, task, request)
        return {"TaskId": task["TaskId"], "EventId": task["EventId"]}

    def get_task(ns: str, params: Params, request_id: str) -> dict[str, Any]:
        task = model.get_task(ns, params.str("ProjectName", required=True),
                              params.str("TaskType", required=True), params.str("TaskId", required=True))
        return task_view(task, params.bool("RequestDefinition"))

    def list_tasks(ns: str, params: Params, request_id: str) -> dict[str, Any]:
        project = params.str("ProjectName", required=True)
        task_types = params.json("TaskTypes", list)
        status = params.str("Status")
        if status is not None and status not in TASK_STATUSES:
            raise invalid("Status", f"must be one of {', '.join(TASK_STATUSES)}.")
        sort = params.str("Sort", default="TaskId")
        if sort not in ("TaskId", "StartTime", "EndTime"):
            raise invalid("Sort", "must be TaskId, StartTime or EndTime.")
        order = (params.str("Order", default="asc") or "asc").lower()
        if order not in ("asc", "desc"):
            raise invalid("Order", "must be asc or desc.")
        max_results = params.int("MaxResults", 0, low=0, high=100) or 100
        tasks, next_token = model.list_tasks(
            ns, project, task_types, status, _time_range(params, "StartTimeRange"),
            _time_range(params, "EndTimeRange"), params.str("TagSelector"), sort, order,
            max_results, params.str("NextToken"))
        with_definition = params.bool("RequestDefinition")
        body: dict[str, Any] = {"ProjectName": project, "MaxResults": str(max_results),
                                "Tasks": [task_view(t, with_definition, for_list=True) for t in tasks]}
        if next_token:
            body["NextToken"] = next_token
        return body

    ACTIONS: dict[str, Callable[..., Any]] = {
        "CreateProject": create_project,
        "GetProject": get_project,
        "UpdateProject": update_project,
        "DeleteProject": delete_project,
        "ListProjects": list_projects,
        "CreateMediaConvertTask": create_media_convert_task,
        "GetTask": get_task,
        "ListTasks": list_tasks,
        **media_actions(runtime, model, oss_model),
    }

    # ---- dispatch ------------------------------------------------------------------------

    def secret_for(access_key_id: str) -> str | None:
        creds = runtime.accounts.by_access_key(access_key_id)
        return creds.access_key_secret if creds else None

    def namespace_of(signed: SignedRequest) -> str:
        if config.verify_signatures:
            access_key_id = verify_pop_request(signed, secret_for, config.max_clock_skew_seconds)
        else:
            access_key_id = access_key_of(signed) or ""
        creds = runtime.accounts.by_access_key(access_key_id)
        return creds.namespace if creds else runtime.accounts.default.namespace

    async def handle(request: Request, request_id: str) -> dict[str, Any]:
        body = await request.body()
        query = parse_qsl(request.scope.get("query_string", b"").decode("utf-8", "replace"),
                          keep_blank_values=True)
        form: list[tuple[str, str]] = []
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]]
        params = Params(query + form)
        action = request.headers.get("x-acs-action") or params.str("Action")
        version = request.headers.get("x-acs-version") or params.str("Version")
        if not action or action not in ACTIONS:
            raise ServiceError(404, "InvalidApi.NotFound",
                               "Specified api is not found, please check your url and method.")
        if version != wire.API_VERSION:
            raise ServiceError(400, "InvalidVersion", f"Specified parameter Version is not valid: {version}.")
        # V3 signs the query (the body goes in by its hash); V2 signs query and form together.
        authorization = request.headers.get("authorization", "")
        signed_params = query if authorization else query + form
        ns = namespace_of(SignedRequest(request.method, request.url.path, signed_params, headers, body))
        result = ACTIONS[action](ns, params, request_id)
        if hasattr(result, "__await__"):
            result = await result
        return result

    async def app(scope, receive, send) -> None:
        request = Request(scope, receive)
        request_id = runtime.ids.uuid().upper()
        response: Response
        try:
            response = wire.ok(request_id, await handle(request, request_id))
        except ServiceError as err:
            response = wire.error(request_id, config.region, err)
        except Exception:  # never a traceback on the wire
            log.exception("IMM request failed")
            response = wire.error(request_id, config.region,
                                  ServiceError(500, "InternalError", "The request processing has failed "
                                               "due to some unknown error."))
        await response(scope, receive, send)

    def describe(scope, body: bytes | None) -> dict[str, Any]:
        """Facts about a request for fault rules and the request journal."""
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        query = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
        params = dict(query)
        action = dict((k.lower(), v) for k, v in headers).get("x-acs-action") or params.get("Action")
        creds = runtime.accounts.by_access_key(
            access_key_of(SignedRequest(scope["method"], scope["path"], query, headers, b"")) or "")
        return {"action": action, "project": params.get("ProjectName"),
                "namespace": (creds or runtime.accounts.default).namespace}

    def render_error(err: ServiceError, scope) -> Response:
        return wire.error(runtime.ids.uuid().upper(), config.region, err)

    return Built(model, ServiceHandle(
        "imm", app, startup=runner.resume, shutdown=runner.close, reset=runner.cancel,
        billing=model.billing, info=lambda: {"status": "running", "actions": sorted(ACTIONS)},
        describe=describe, render_error=render_error, media_type=wire.JSON_TYPE, tasks=model.admin_tasks,
        throttle=(400, "Throttling.User", "Request was denied due to user flow control.", None)))
