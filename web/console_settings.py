"""The province console's settings page of one module (/quan-tri/tinh/<code>/mo-dun/<module>/
cai-dat): a form generated from the JSON schema of the module's configuration model (through
`Module.configSchema`), filled from the province's stored configuration (`Module.config`, secrets
masked), saved through `enableModule(config:)`: the module's own model checks it, and its first
error (INVALID_CONFIG naming the field) is shown under that field. A secret left blank is sent as
the mask, which keeps the stored secret.

Fields the form can edit: text, numbers, yes/no, a choice (an enum), several choices (an array of
an enum), secrets, and nested settings (a fieldset each; an optional one left blank is none).
Anything else (a map, say) is kept as stored and changed through the API."""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from eiso.core.plugins.config_secrets import MASK, JSONSchema, is_secret, options
from eiso.web import csrf
from eiso.web.console import Admin, admin_page, context_of
from eiso.web.desk_auth import CONSOLE
from eiso.web.pages import render
from eiso.web.portal import failed, posted_form, written
from eiso.web.run import OperationFailed, run

MAX_FIELDS = 200  # inputs of one settings form


@dataclasses.dataclass
class Field:
    name: str  # the dotted path in the configuration, also the input's name
    label: str
    description: str
    kind: str  # text, integer, number, boolean, select, checks, secret
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    limits: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")


@dataclasses.dataclass
class Group:
    name: str  # "" for the top level
    label: str
    description: str
    optional: bool
    fields: list[Field] = dataclasses.field(default_factory=list)

    @property
    def id(self) -> str:
        return "g-" + (self.name.replace(".", "-") or "top")


def _shape(schema: JSONSchema, root: JSONSchema) -> tuple[str, JSONSchema]:
    """The form's kind of a property and its (resolved, non-null) schema."""
    found = options(schema, root)
    shape = found[0] if len(found) == 1 else {}
    if is_secret(schema, root):
        return "secret", shape
    if "properties" in shape:
        return "object", shape
    if "enum" in shape:
        return "select", shape
    items = shape.get("items")
    if shape.get("type") == "array" and isinstance(items, dict):
        item = options(items, root)
        if len(item) == 1 and "enum" in item[0]:
            return "checks", {**shape, "enum": item[0]["enum"]}
    kind = shape.get("type")
    if kind in ("string", "integer", "number", "boolean"):
        return str(kind), shape
    return "other", shape


def _title(key: str, schema: JSONSchema, shape: JSONSchema) -> str:
    return str(schema.get("title") or shape.get("title") or key)


def groups_of(schema: JSONSchema) -> tuple[list[Group], list[str]]:
    """The form's fieldsets (top level first, then each nested setting, depth first) and the
    names of the properties it cannot edit."""
    groups: list[Group] = []
    others: list[str] = []

    def walk(shape: JSONSchema, group: Group) -> None:
        groups.append(group)
        required = set(shape.get("required", ()))
        for key, prop in shape.get("properties", {}).items():
            name = f"{group.name}.{key}" if group.name else key
            kind, inner = _shape(prop, schema)
            label = _title(key, prop, inner)
            description = str(prop.get("description") or "")
            if kind == "object":
                nullable = any(s.get("type") == "null" for s in prop.get("anyOf", ()))
                walk(inner, Group(name, label, description, nullable))
            elif kind == "other":
                others.append(name)
            else:
                limits: dict[str, Any] = {
                    k: inner[k]
                    for k in (
                        "minimum",
                        "maximum",
                        "exclusiveMinimum",
                        "exclusiveMaximum",
                        "maxLength",
                        "minLength",
                    )
                    if k in inner
                }
                group.fields.append(
                    Field(
                        name,
                        label,
                        description,
                        "text" if kind == "string" else kind,
                        required=key in required,
                        choices=tuple(str(c) for c in inner.get("enum", ())),
                        default=prop.get("default"),
                        limits=limits,
                    )
                )

    walk(schema, Group("", "", "", False))
    return [g for g in groups if g.fields], others


def flat(config: Any, prefix: str = "") -> dict[str, Any]:
    """The stored configuration by dotted path (a nested setting's values under its path)."""
    if not isinstance(config, dict):
        return {}
    found: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            found.update(flat(value, name))
        found[name] = value
    return found


def _scalar(field: Field, raw: str) -> Any:
    """The typed value of a filled input (the model refuses what does not convert)."""
    try:
        if field.kind == "integer":
            return int(raw)
        if field.kind == "number":
            return float(raw)
    except ValueError:
        return raw
    return raw


def config_of(
    form: FormData, groups: list[Group], others: list[str], stored: dict[str, Any]
) -> dict[str, Any]:
    """The configuration the form describes: a blank input is left out (the model's default),
    a blank secret that is stored is sent as the mask (kept), an optional setting with nothing
    filled is none, and what the form cannot edit is sent back as stored."""
    config: dict[str, Any] = {}
    filled: dict[str, bool] = {}

    def place(name: str, value: Any) -> None:
        *parents, last = name.split(".")
        target = config
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value

    for group in groups:
        for field in group.fields:
            if field.kind == "boolean":
                place(field.name, form.get(field.name) == "on")
                continue
            if field.kind == "checks":
                place(field.name, [str(v) for v in form.getlist(field.name)])
                continue
            raw = str(form.get(field.name) or "").strip()
            if field.kind == "secret":
                if raw:
                    place(field.name, raw)
                elif stored.get(field.name) == MASK:
                    place(field.name, MASK)
                continue
            if raw:
                place(field.name, _scalar(field, raw))
                for i in range(field.name.count(".")):
                    filled[field.name.rsplit(".", i + 1)[0]] = True
    for group in sorted(groups, key=lambda g: -g.name.count(".")):
        if group.optional and not filled.get(group.name):
            place(group.name, None)
    for name in others:
        if name in stored:
            place(name, stored[name])
    return config


async def _module(request: Request, admin: Admin) -> dict[str, Any] | Response:
    """The path's module with its schema and the province's configuration, or the 404."""
    name = request.path_params["module"]
    try:
        data = await run(
            request,
            "ConsoleModuleSettings",
            {"provinceId": admin.province["id"]},
            token=admin.token,
        )
    except OperationFailed as error:
        return failed(request, error)
    module = next((m for m in data["modules"] if m["name"] == name), None)
    if module is None or not module["installed"] or not module["configSchema"]:
        return failed(
            request,
            OperationFailed(
                "NOT_FOUND",
                f"no settings for module {name!r}",
                f"không có cấu hình cho mô-đun {name!r}",
            ),
        )
    return dict(module)


async def _settings(request: Request, admin: Admin) -> Response:
    """GET: the module's settings form. POST: save it (the module is switched on with it)."""
    module = await _module(request, admin)
    if isinstance(module, Response):
        return module
    groups, others = groups_of(module["configSchema"])
    stored = flat(module["config"] or {})
    context = {
        **context_of(admin, "modules"),
        "module": module,
        "groups": groups,
        "others": others,
        "values": stored,
        "stored": stored,
        "mask": MASK,
        "done": request.query_params.get("xong") == "1",
    }
    if request.method == "GET":
        return render(request, "console_module_settings.html", context)
    form = await posted_form(request, MAX_FIELDS)
    if isinstance(form, Response):
        return form
    config = config_of(form, groups, others, stored)
    variables = {"module": module["name"], "provinceId": admin.province["id"], "config": config}

    async def again(error: OperationFailed) -> Response:
        posted = {key: form.getlist(key) for key in form if key != csrf.FIELD}
        values = {
            field.name: (
                posted.get(field.name, [])
                if field.kind == "checks"
                else (posted.get(field.name) or [""])[0]
            )
            for group in groups
            for field in group.fields
            if field.kind != "secret"
        }
        field = (error.field or "").removeprefix("config.").removeprefix("config")
        return render(
            request,
            "console_module_settings.html",
            {**context, "values": {**stored, **values}, "error": error, "error_field": field},
            422,
        )

    write = ("ConsoleSaveModuleSettings", variables, admin.token)
    done = f"{CONSOLE}/tinh/{admin.province['code']}/mo-dun/{module['name']}/cai-dat?xong=1"
    return await written(request, write, done, again)


settings = admin_page(_settings)
