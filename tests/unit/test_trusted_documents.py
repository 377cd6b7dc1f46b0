"""Trusted documents (gateway/trusted.py): which document a request runs, or why none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import parse, validate

from gateway.errors import BadUserInput
from gateway.trusted import (
    DocumentNotTrusted,
    PersistedQueryNotFound,
    TrustedDocuments,
    load_manifest,
    sha256,
)
from mesh.envparse import SettingsError
from mesh.settings import load_settings
from tests.unit.test_gateway_cost import SCHEMA

VIEWER = "query Viewer { viewer { subject } }"
OTHER = "{ viewer { roles } }"


def persisted(document: str, version: object = 1) -> dict[str, object]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256(document)}}


def production() -> TrustedDocuments:
    return TrustedDocuments({sha256(VIEWER): VIEWER}, any_document=False)


def test_production_runs_a_registered_hash_as_the_registrys_own_string() -> None:
    documents = production()
    found = documents.resolve(None, persisted(VIEWER))
    assert found == VIEWER
    # The same object every time: the parser's and validator's caches find it at once.
    assert found is documents.resolve(None, persisted(VIEWER))
    copy = "".join(list(VIEWER))  # the text of a registered document, another object
    assert copy is not VIEWER
    assert documents.resolve(copy, None) is found


def test_production_refuses_a_document_it_does_not_know() -> None:
    documents = production()
    with pytest.raises(DocumentNotTrusted) as refused:
        documents.resolve(OTHER, None)
    assert refused.value.extensions["code"] == "DOCUMENT_NOT_TRUSTED"
    with pytest.raises(DocumentNotTrusted):  # nor may APQ register it
        documents.resolve(OTHER, persisted(OTHER))
    with pytest.raises(PersistedQueryNotFound):  # and so its hash stays unknown
        documents.resolve(None, persisted(OTHER))


def test_an_unknown_hash_is_apollos_persisted_query_not_found() -> None:
    with pytest.raises(PersistedQueryNotFound) as missing:
        TrustedDocuments({}, any_document=True).resolve(None, persisted(OTHER))
    assert str(missing.value) == "PersistedQueryNotFound"
    assert missing.value.extensions == {"code": "PERSISTED_QUERY_NOT_FOUND"}


def test_development_registers_a_document_sent_with_its_hash() -> None:
    documents = TrustedDocuments({}, any_document=True)
    assert documents.resolve(OTHER, None) == OTHER  # any document runs
    with pytest.raises(PersistedQueryNotFound):
        documents.resolve(None, persisted(OTHER))
    assert documents.resolve(OTHER, persisted(OTHER)) == OTHER
    assert documents.resolve(None, persisted(OTHER)) == OTHER


def test_what_apq_keeps_is_bounded_least_recently_used_first() -> None:
    documents = TrustedDocuments({}, any_document=True, apq_max_chars=2 * len(VIEWER))
    first, second, third = (f"query Q{n} {{ viewer {{ subject }} }}"[: len(VIEWER)] for n in "123")
    for document in (first, second):
        documents.resolve(document, persisted(document))
    documents.resolve(None, persisted(first))  # used: second is now the oldest
    documents.resolve(third, persisted(third))
    assert documents.resolve(None, persisted(first)) == first
    with pytest.raises(PersistedQueryNotFound):
        documents.resolve(None, persisted(second))


@pytest.mark.parametrize(
    ("query", "extensions", "message"),
    [
        (OTHER, persisted(VIEWER), "provided sha does not match query"),
        (None, persisted(VIEWER, version=2), "Unsupported persisted query version"),
        (None, persisted(VIEWER, version=True), "Unsupported persisted query version"),
        (None, {"persistedQuery": "x"}, "Unsupported persisted query version"),
        (None, {"persistedQuery": {"version": 1, "sha256Hash": 7}}, "sha256Hash must be"),
    ],
)
def test_a_malformed_persisted_query_is_bad_user_input(
    query: str | None, extensions: dict[str, object], message: str
) -> None:
    with pytest.raises(BadUserInput, match=message):
        production().resolve(query, extensions)


def test_nothing_to_decide_passes_through() -> None:
    """No document and no hash: the view answers that (400), as before."""
    assert production().resolve(None, None) is None
    assert production().resolve(None, {"other": 1}) is None


def test_the_console_manifest_is_its_documents_and_each_one_validates() -> None:
    manifest = load_manifest()
    sources = sorted((Path(__file__).parents[2] / "gateway/console/graphql").glob("*.graphql"))
    assert sorted(manifest.values()) == sorted(p.read_text() for p in sources)
    for document in manifest.values():
        assert validate(SCHEMA, parse(document)) == [], document


def test_settings_default_to_dev_mode_and_read_operator_documents(tmp_path: Path) -> None:
    assert load_settings({}).gateway_any_document is False
    assert load_settings({"WEFTWORK_DEV_MODE": "true"}).gateway_any_document is True
    env = {"WEFTWORK_DEV_MODE": "true", "WEFTWORK_GATEWAY_ANY_DOCUMENT": "false"}
    assert load_settings(env).gateway_any_document is False
    plain = {sha256(VIEWER): VIEWER}
    found = load_settings({"WEFTWORK_GATEWAY_TRUSTED_DOCUMENTS": json.dumps(plain)})
    assert dict(found.gateway_trusted_documents) == plain
    apollo = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": sha256(OTHER), "name": "O", "type": "query", "body": OTHER}],
    }
    path = tmp_path / "portal.json"
    path.write_text(json.dumps(apollo))
    found = load_settings({"WEFTWORK_GATEWAY_TRUSTED_DOCUMENTS": f"@{path}"})
    assert dict(found.gateway_trusted_documents) == {sha256(OTHER): OTHER}
    with pytest.raises(SettingsError, match="is not the SHA-256 of its document"):
        load_settings({"WEFTWORK_GATEWAY_TRUSTED_DOCUMENTS": json.dumps({sha256(OTHER): VIEWER})})
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings({"WEFTWORK_GATEWAY_TRUSTED_DOCUMENTS": f"@{tmp_path / 'missing.json'}"})
