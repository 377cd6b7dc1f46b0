"""The people registry and utilization against capacity."""

from __future__ import annotations

import datetime as dt

from mesh.errors import InvalidArgument, NotFound
from mesh.paging import page_limit, split_page
from services.project.domain.model import LEGAL_ENTITIES, LegalEntities, entity_choices
from services.project.domain.people import Person, Utilization, capacity, check_range
from services.project.handlers import ProjectRepository


async def upsert_person(repo: ProjectRepository, person: Person) -> Person:
    """Creates or replaces a person; a new version only when something changed."""
    if await repo.add_person(person):
        return person
    current = await repo.person(person.id, for_update=True)
    assert current is not None, "the insert found it"
    if current.same_facts(person):
        return current
    current.name = person.name
    current.home_entity = person.home_entity
    current.weekly_capacity_hours = person.weekly_capacity_hours
    current.version += 1
    current.updated_at = person.updated_at
    await repo.update_person(current)
    return current


async def get_person(repo: ProjectRepository, person_id: str) -> Person:
    found = await repo.person(person_id)
    if found is None:
        raise NotFound("person", person_id[:64])
    return found


def _entity_filter(legal_entity: str, field: str, entities: LegalEntities) -> str | None:
    if legal_entity and legal_entity not in entities:
        raise InvalidArgument.one(field, entity_choices(entities))
    return legal_entity or None


async def list_people(
    repo: ProjectRepository,
    home_entity: str,
    *,
    page_size: int,
    after: tuple[str, str] | None,
    entities: LegalEntities = LEGAL_ENTITIES,
) -> tuple[list[Person], tuple[str, str] | None]:
    limit = page_limit(page_size)
    entity = _entity_filter(home_entity, "home_entity", entities)
    rows = await repo.page_people(entity, after=after, limit=limit + 1)
    page, last = split_page(rows, limit)
    return page, ((last.name, last.id) if last else None)


async def get_utilization(
    repo: ProjectRepository,
    start: dt.date | None,
    end: dt.date | None,
    legal_entity: str,
    *,
    page_size: int,
    after: tuple[str, str] | None,
    entities: LegalEntities = LEGAL_ENTITIES,
) -> tuple[list[Utilization], tuple[str, str] | None]:
    """Per person: capacity (weekly x weekdays / 5) against approved and submitted hours."""
    first, last_day = check_range(start, end)
    limit = page_limit(page_size)
    entity = _entity_filter(legal_entity, "legal_entity", entities)
    rows = await repo.utilization(first, last_day, entity, after=after, limit=limit + 1)
    page, last = split_page(rows, limit)
    people = [
        Utilization(
            r.person,
            capacity(r.person.weekly_capacity_hours, first, last_day),
            r.approved_hours,
            r.billable_hours,
            r.submitted_hours,
        )
        for r in page
    ]
    return people, ((last.person.name, last.person.id) if last else None)
