"""A module's secret settings (pydantic `SecretStr`: `writeOnly` in its JSON schema) never
leave the server: the stored configuration is shown with each secret replaced by `MASK`, and a
configuration sent back with `MASK` in a secret's place keeps the stored secret."""

from __future__ import annotations

from typing import Any

MASK = "********"
JSONSchema = dict[str, Any]


def resolve(schema: JSONSchema, root: JSONSchema) -> JSONSchema:
    """`schema` with its `$ref` followed (pydantic puts nested models in the root's `$defs`)."""
    for _ in range(10):
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            break
        schema = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
    return schema


def options(schema: JSONSchema, root: JSONSchema) -> list[JSONSchema]:
    """The non-null alternatives of a field (`X | None` is `anyOf: [X, null]`), resolved."""
    found = schema.get("anyOf") or [schema]
    return [resolve(s, root) for s in found if resolve(s, root).get("type") != "null"]


def is_secret(schema: JSONSchema, root: JSONSchema) -> bool:
    return any(s.get("writeOnly") or s.get("format") == "password" for s in options(schema, root))


def _walk(value: Any, other: Any, schema: JSONSchema, root: JSONSchema, keep: bool) -> Any:
    """Mask `value` (keep=False) or put `other`'s (the stored) secrets where `value` has MASK."""
    if is_secret(schema, root):
        if keep:
            return other if value == MASK else value
        return MASK if value not in (None, "") else value
    shapes = options(schema, root)
    if isinstance(value, dict):
        stored = other if isinstance(other, dict) else {}
        for shape in shapes:
            if "properties" in shape or isinstance(shape.get("additionalProperties"), dict):
                inner = shape.get("properties", {})
                extra = shape.get("additionalProperties")
                return {
                    key: _walk(
                        item,
                        stored.get(key),
                        inner.get(key, extra if isinstance(extra, dict) else {}),
                        root,
                        keep,
                    )
                    for key, item in value.items()
                }
    if isinstance(value, list):
        for shape in shapes:
            if isinstance(shape.get("items"), dict):
                stored_items = other if isinstance(other, list) else []
                return [
                    _walk(
                        item,
                        stored_items[i] if i < len(stored_items) else None,
                        shape["items"],
                        root,
                        keep,
                    )
                    for i, item in enumerate(value)
                ]
    return value


def masked(config: dict[str, Any], schema: JSONSchema) -> dict[str, Any]:
    """The stored `config` with every secret it holds replaced by MASK."""
    return dict(_walk(config, None, schema, schema, keep=False))


def kept(config: dict[str, Any], stored: dict[str, Any], schema: JSONSchema) -> dict[str, Any]:
    """`config` with MASK in a secret's place replaced by the `stored` secret (dropped when
    nothing was stored there)."""
    merged = _walk(config, stored, schema, schema, keep=True)
    return _without_none_secrets(merged, config)


def _without_none_secrets(merged: Any, sent: Any) -> Any:
    """A MASK sent where nothing was stored: the key is left out (the model's default)."""
    if isinstance(merged, dict) and isinstance(sent, dict):
        return {
            key: _without_none_secrets(value, sent.get(key))
            for key, value in merged.items()
            if not (value is None and sent.get(key) == MASK)
        }
    return merged
