"""Per-province schemas: the core plus the modules a province enabled, one Strawberry schema
per set of modules, cached (bounded).

One naming rule for every field a module adds, query and mutation alike: a root field named
`<moduleName><FieldName>` (the module's name in camel case, then the field's):
`Query.vendorDemoNameAvailable`, `Mutation.vendorDemoReserveName`. Flat, because only
top-level mutation fields run one after another, and queries follow the same rule so that a
client writes one form. The namespaced query field of before (`Query.vendorDemo {
nameAvailable }`) is still served, marked `@deprecated`, for the clients that use it. The
assembler (not the module author)
attaches `ModuleGate` to every root field a module owns, as defence in depth behind the
schema itself. Name clashes fail at build and name both owners.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Iterable
from typing import Any

import strawberry
from strawberry.exceptions import DuplicatedTypeName
from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver, SyncExtensionResolver
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import create_type, merge_types
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from eiso.core.errors import DomainError
from eiso.core.plugins.declarations import LocalizedText
from eiso.core.plugins.registry import PluginRegistry
from eiso.graphql.server.execution import EisoSchema
from eiso.graphql.server.limits import DEFAULT_LIMITS, Limits


class SchemaClash(Exception):
    """Two owners (modules or the core) define the same GraphQL name."""


def namespace_field(module: str) -> str:
    return to_camel_case(module)


def module_field(module: str, field_name: str) -> str:
    """The root name of a module's field, in `Query` and `Mutation` alike."""
    return to_camel_case(module) + field_name[:1].upper() + field_name[1:]


NAMESPACE_DEPRECATION = (
    "Use the root fields `{prefix}<Field>` (`{example}`): one naming rule for a module's "
    "queries and mutations (docs/plugins.md, 'How eiso loads modules')."
)


class _Renamed:
    """A module's query object seen under a root field's Python name: the default resolver
    of an attribute field reads `getattr(source, <the flat field's python name>)`."""

    __slots__ = ("_alias", "_name", "_target")

    def __init__(self, target: object, alias: str, name: str) -> None:
        self._target, self._alias, self._name = target, alias, name

    def __getattr__(self, item: str) -> Any:
        return getattr(self._target, self._name if item == self._alias else item)


class ModuleRoot(FieldExtension):
    """Resolves a module's query field flattened onto `Query` on a new object of the module's
    query type, as the namespaced field did (its resolvers see that object as `self`)."""

    def __init__(self, query_type: type, alias: str, name: str) -> None:
        super().__init__()
        self.query_type, self.alias, self.name = query_type, alias, name

    def _source(self) -> _Renamed:
        return _Renamed(self.query_type(), self.alias, self.name)

    def resolve(
        self, next_: SyncExtensionResolver, source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        return next_(self._source(), info, **kwargs)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        result = next_(self._source(), info, **kwargs)
        return await result if inspect.isawaitable(result) else result


class ModuleGate(FieldExtension):
    """Answers MODULE_NOT_ACTIVE when the caller's province has not enabled the module."""

    def __init__(self, module: str) -> None:
        super().__init__()
        self.module = module

    def _check(self, info: strawberry.Info) -> None:
        extras = getattr(info.context, "extras", None) or {}
        if self.module not in extras.get("modules", frozenset()):
            raise DomainError(
                f"Module {self.module!r} is not active in your province",
                f"Mô-đun {self.module!r} chưa được bật cho tỉnh của bạn",
                code="MODULE_NOT_ACTIVE",
                module=self.module,
            )

    def resolve(
        self, next_: SyncExtensionResolver, source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        self._check(info)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        self._check(info)
        result = next_(source, info, **kwargs)
        return await result if inspect.isawaitable(result) else result


def _field_names(part: type) -> list[str]:
    return [
        f.graphql_name or to_camel_case(f.python_name)
        for f in get_object_definition(part, strict=True).fields
    ]


class _Owners:
    """Who defines each field of one root type, the core's parts first: a second definer of a
    name is a SchemaClash."""

    def __init__(self, root: str, core_parts: Iterable[type]) -> None:
        self.root, self.owners = root, dict[str, str]()
        for part in core_parts:
            for name in _field_names(part):
                self.claim(name, "core")

    def claim(self, name: str, owner: str) -> None:
        if name in self.owners:
            raise SchemaClash(
                f"{self.root}.{name} is defined by both {self.owners[name]} and {owner}"
            )
        self.owners[name] = owner


class SchemaAssembler:
    def __init__(
        self,
        registry: PluginRegistry,
        query_parts: tuple[type, ...],
        mutation_parts: tuple[type, ...] = (),
        limits: Limits = DEFAULT_LIMITS,
        cache_size: int = 64,
        subscription_parts: tuple[type, ...] = (),
    ) -> None:
        self.registry = registry
        self.query_parts, self.mutation_parts = query_parts, mutation_parts
        # Subscriptions are the core's only (modules have no subscription hook).
        self.subscription_parts = subscription_parts
        self.limits = limits
        self.schema_for = functools.lru_cache(maxsize=cache_size)(self._build)

    def modules(self, names: Iterable[str] | None = None) -> frozenset[str]:
        """The loaded modules among `names` (all loaded ones for None)."""
        loaded = self.registry.names()
        return loaded if names is None else loaded & frozenset(names)

    def get(self, names: Iterable[str] | None = None) -> strawberry.Schema:
        return self.schema_for(self.modules(names))

    def _build(self, modules: frozenset[str]) -> strawberry.Schema:
        queries = _Owners("Query", self.query_parts)
        query_fields = []
        for module in sorted(modules):
            record = self.registry.records[module]
            if record.query_type is None or record.info is None:  # a loaded module has info
                continue
            name = namespace_field(module)
            queries.claim(name, f"module {module}")
            roots = [
                self._flat(module, field, record.query_type)
                for field in record.query_type.__strawberry_definition__.fields
            ]
            for root, _ in roots:
                queries.claim(root, f"module {module}")
            example = roots[0][0] if roots else name
            query_fields.append(
                self._namespace(module, name, record.query_type, record.info.title, example)
            )
            query_fields.extend(field for _, field in roots)
        query_parts = list(self.query_parts)
        if query_fields:
            query_parts.append(create_type("ModuleQueries", query_fields))

        mutations = _Owners("Mutation", self.mutation_parts)
        mutation_fields = []
        for module in sorted(modules):
            record = self.registry.records[module]
            if record.mutation_type is None:
                continue
            for field in record.mutation_type.__strawberry_definition__.fields:
                root, flat = self._flat(module, field)
                mutations.claim(root, f"module {module}")
                mutation_fields.append(flat)
        mutation_parts = list(self.mutation_parts)
        if mutation_fields:
            mutation_parts.append(create_type("ModuleMutations", mutation_fields))

        query = merge_types("Query", tuple(query_parts))
        mutation = merge_types("Mutation", tuple(mutation_parts)) if mutation_parts else None
        subscription = (
            merge_types("Subscription", self.subscription_parts)
            if self.subscription_parts
            else None
        )
        try:
            return EisoSchema(
                query=query,
                mutation=mutation,
                subscription=subscription,
                limits=self.limits,
                config=StrawberryConfig(disable_field_suggestions=True),
            )
        except DuplicatedTypeName as error:
            first = self._owner(error.first_cls, modules)
            second = self._owner(error.second_cls, modules)
            raise SchemaClash(f"{error.message}: by both {first} and {second}") from error

    @staticmethod
    def _flat(
        module: str, field: StrawberryField, query_type: type | None = None
    ) -> tuple[str, StrawberryField]:
        """A module's field as a root field `<moduleName><FieldName>` (its name, the field),
        gated; a query field (`query_type` given) resolves on a new object of the module's
        query type."""
        original = field.graphql_name or to_camel_case(field.python_name)
        flat = copy.copy(field)
        flat.graphql_name = root = module_field(module, original)
        flat.python_name = f"{module}__{field.python_name}"
        flat.extensions = [*field.extensions, ModuleGate(module)]
        if query_type is not None:
            flat.extensions.append(ModuleRoot(query_type, flat.python_name, field.python_name))
        return root, flat

    @staticmethod
    def _namespace(
        module: str, name: str, query_type: type, title: LocalizedText, example: str
    ) -> StrawberryField:
        def resolve() -> query_type:  # type: ignore[valid-type]
            return query_type()

        resolve.__annotations__ = {"return": query_type}  # Strawberry reads the return type
        field: StrawberryField = strawberry.field(
            resolver=resolve,
            name=name,
            extensions=[ModuleGate(module)],
            description=f"Module {module}: {title.en} ({title.vi}).",
            deprecation_reason=NAMESPACE_DEPRECATION.format(prefix=name, example=example),
        )
        field.python_name = module
        return field

    def _owner(self, cls: type | None, modules: frozenset[str]) -> str:
        package = (getattr(cls, "__module__", "") or "").split(".")[0]
        for module in sorted(modules):
            record = self.registry.records[module]
            for part in (record.query_type, record.mutation_type, record.plugin):
                origin = getattr(part, "__module__", None) or getattr(part, "__name__", "")
                if origin and origin.split(".")[0] == package:
                    return f"module {module}"
        return f"core ({getattr(cls, '__module__', '?')})"
