"""viewer: who the caller is, so a client (the console) shows only what the caller may do."""

from __future__ import annotations

import strawberry
from strawberry.types.base import StrawberryObjectDefinition

from gateway.auth import MUTATION_ROLES
from gateway.context import Info
from gateway.operations.queries import READERS


@strawberry.type(description="The caller, as the gateway verified the bearer token.")
class Viewer:
    subject: str
    roles: list[str]
    entities: list[str] = strawberry.field(description='["*"] for every legal entity')
    sees_costs: bool = strawberry.field(description="Cost, margin and margin % are visible.")
    reads_integrations: bool = strawberry.field(
        description="integrationStatus and dead letters are readable (admin, finance)."
    )
    mutations: list[str] = strawberry.field(description="Mutations the caller's roles allow.")


@strawberry.type
class ViewerQueries:
    @strawberry.field
    def viewer(self, info: Info) -> Viewer:
        p = info.context.principal
        mutation = info.schema.get_type_by_name("Mutation")
        assert isinstance(mutation, StrawberryObjectDefinition)
        names = [info.schema.config.name_converter.get_graphql_name(f) for f in mutation.fields]
        # The rule of Principal.require: the mutation's roles, and admin for every mutation.
        allowed = [n for n in names if p.roles & (MUTATION_ROLES.get(n, frozenset()) | {"admin"})]
        return Viewer(
            subject=p.subject,
            roles=sorted(p.roles),
            entities=["*"] if p.entities is None else sorted(p.entities),
            sees_costs=p.sees_costs,
            reads_integrations=bool(p.roles & READERS),
            mutations=sorted(allowed),
        )
