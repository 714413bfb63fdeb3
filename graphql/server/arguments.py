"""A field's arguments converted by a converter made for that field (issue 18).

Strawberry converts each resolver's arguments at every call (`convert_arguments`): per
argument it finds the argument's GraphQL name again (`to_camel_case`), then walks the type
(`isinstance` against its ABCs, the scalar registry) down to a leaf that it hands over
unchanged. For the dossier page (`first`, `after`, `last`, `before`, `filter`) that was
~30–50 µs a request, 5.5% of the province page's CPU. Here each argument list is read once
(per schema configuration): a scalar or enum argument is taken as graphql-core coerced it,
any other (an input object, a list, a `Maybe`, a `GlobalID`) through Strawberry's own
`convert_argument`, with the same path, so its result and its errors stay Strawberry's.

`install()` puts `convert_arguments` where Strawberry's resolver wrapper looks it up
(`strawberry.schema.schema_converter`); it refuses to if that name is no longer Strawberry's
own function (a Strawberry upgrade that moved it: read it again before installing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from strawberry.schema import schema_converter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import arguments as strawberry_arguments
from strawberry.types.arguments import InputContext, StrawberryArgument, convert_argument
from strawberry.types.base import StrawberryOptional
from strawberry.types.unset import UNSET

from eiso.graphql.shared.arguments import is_leaf

# (the value as graphql-core coerced it, the request's info) -> the resolver's value
Convert = Callable[[Any, Any], Any]


class _Argument(NamedTuple):
    graphql_name: str
    python_name: str
    convert: Convert | None  # None: a leaf, taken unchanged


class _Converter(NamedTuple):
    # Held so that the ids in the key of `_CONVERTERS` are not reused while it is kept.
    arguments: list[StrawberryArgument]
    config: StrawberryConfig
    scalar_registry: Mapping[object, Any]
    plan: tuple[_Argument, ...]


# (id of a field's argument list, id of the schema's config) -> its converter. A field's
# StrawberryField keeps one list (`field.arguments`); schemas are built per set of modules,
# each with its config and registry, so the key holds both. Bounded: emptied when full.
_CONVERTERS: dict[tuple[int, int], _Converter] = {}
_CONVERTERS_SIZE = 4096

_STRAWBERRYS = strawberry_arguments.convert_arguments


def convert_arguments(
    value: dict[str, Any],
    arguments: list[StrawberryArgument],
    scalar_registry: Mapping[object, Any],
    config: StrawberryConfig,
    info: Any = None,
) -> dict[str, Any]:
    """Strawberry's `convert_arguments`, with the argument list's plan made once."""
    if not arguments:
        return {}
    converter = _CONVERTERS.get((id(arguments), id(config)))
    if converter is None or converter.scalar_registry is not scalar_registry:
        converter = _converter(arguments, scalar_registry, config)
    kwargs = {}
    for graphql_name, python_name, convert in converter.plan:
        if graphql_name in value:
            given = value[graphql_name]
            kwargs[python_name] = given if convert is None else convert(given, info)
    return kwargs


def _converter(
    arguments: list[StrawberryArgument],
    scalar_registry: Mapping[object, Any],
    config: StrawberryConfig,
) -> _Converter:
    plan = []
    for argument in arguments:
        name = config.name_converter.from_argument(argument)
        assert argument.python_name  # as Strawberry's conversion asserts
        convert = _convert(argument.type, name, scalar_registry, config)
        plan.append(_Argument(name, argument.python_name, convert))
    if len(_CONVERTERS) >= _CONVERTERS_SIZE:
        _CONVERTERS.clear()
    converter = _Converter(arguments, config, scalar_registry, tuple(plan))
    _CONVERTERS[id(arguments), id(config)] = converter
    return converter


def _convert(
    kind: Any, name: str, scalar_registry: Mapping[object, Any], config: StrawberryConfig
) -> Convert | None:
    """How an argument of `kind` named `name` is converted: None for a leaf (unchanged); an
    input object with its own `from_input` (optional or not) given to it directly, as
    Strawberry's `convert_argument` does after its checks; anything else through
    `convert_argument` itself."""
    if is_leaf(kind, scalar_registry):
        return None
    input_type = kind.of_type if type(kind) is StrawberryOptional else kind
    definition = getattr(input_type, "__strawberry_definition__", None)
    from_input = getattr(definition, "from_input", None)
    if isinstance(input_type, type) and definition is not None and from_input is not None:
        path = (name,)

        def build(value: Any, info: Any) -> Any:
            if value is None or value is UNSET:
                return value
            return from_input(input_type, value, InputContext(info, config, scalar_registry, path))

        return build

    def generic(value: Any, info: Any) -> Any:
        return convert_argument(value, kind, scalar_registry, config, info, path=(name,))

    return generic


def install() -> None:
    """Strawberry's resolvers convert their arguments with `convert_arguments` (idempotent)."""
    current: Callable[..., Any] = schema_converter.convert_arguments
    if current is convert_arguments:
        return
    if current is not _STRAWBERRYS:
        raise RuntimeError("strawberry.schema.schema_converter.convert_arguments has changed")
    schema_converter.convert_arguments = convert_arguments
