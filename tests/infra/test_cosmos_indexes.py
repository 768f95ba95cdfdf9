"""Cosmos DB indexing policy (infra/modules/cosmos.bicep) against the queries the code sends.

Each ordered query with an equality filter (every list and every timer's index read) needs a
composite index of its equality fields then its ORDER BY field, or Cosmos DB filters the partition's
range index and a page of 50 costs more RU the more the partition holds (issue 12.3; learn.microsoft.com
/azure/cosmos-db/index-policy#composite-indexes). The shapes come from the code (tests/infra/
query_shapes.py), so a new list, a new filter or a new order without its index fails here."""
from __future__ import annotations

import json
import re

from shared_code import settings as s
from shared_code.ports.documents import Query
from tests.infra.bicep import REPO, doc, one
from tests.infra.query_shapes import SHARED, SKIP, shapes

COSMOS = "modules/cosmos.bicep"
INDEXES = REPO / "infra" / "modules" / "cosmos-indexes.json"
CONTAINERS = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"


def _policy() -> dict:
    return one(doc(COSMOS), CONTAINERS)["config"]["config"]["properties"]["resource"]["indexingPolicy"]


def _indexes() -> dict[str, list[list[dict]]]:
    assert doc(COSMOS)["variables"]["compositeIndexes"]["value"]["function"] == {
        "type": "load_json_content", "parameters": {"file_path": "cosmos-indexes.json", "json_path": None,
                                                    "encoding": None}}
    return json.loads(INDEXES.read_text())


def _served(index: list[dict], equals: tuple, order_by: str) -> bool:
    """The index serves `WHERE <equals> ORDER BY <index fields>`, which is what the adapter sends
    (Query.index_fields): exactly those paths in that sequence, ascending (Cosmos DB also serves the
    same paths all descending from it)."""
    fields = Query("pk", dict.fromkeys(equals), order_by=order_by).index_fields()
    return ([p["path"] for p in index] == [f"/{f}" for f in fields]
            and all(p.get("order", "ascending") == "ascending" for p in index))


def _ordered_with_filter():
    return [shape for shape in shapes() if shape.equals]


def test_every_query_the_code_builds_is_read_to_its_shape():
    """Each Query(...) of the port in shared_code gives at least one shape, and every part of every
    shape is known (an UNKNOWN names the query the evaluator could not follow)."""
    sites = set()
    for path in sorted(SHARED.rglob("*.py")):
        rel = str(path.relative_to(REPO))
        text = path.read_text()
        if rel.startswith(SKIP) or not re.search(r"from shared_code\.ports\.documents import[^\n]*\bQuery\b", text):
            continue
        sites |= {f"{rel}:{text.count(chr(10), 0, m.start()) + 1}" for m in re.finditer(r"(?<![\w.])Query\(", text)}
    found = {shape.where for shape in shapes()}
    assert sites and sites == found, f"Query(...) calls not read: {sorted(sites - found)}"
    unknown = [shape for shape in shapes() if not shape.known]
    assert not unknown, f"query shapes that could not be read from the code: {unknown}"


def test_the_worklists_of_issue_12_are_among_the_shapes():
    """The evaluator finds the queries the bench measures (if it found none, nothing below would fail)."""
    found = {(x.container, frozenset(x.equals), x.order_by) for x in shapes()}
    assert (s.CLINICS, frozenset({"type", "received", "status"}), "reviewDueBy") in found  # referral worklist
    assert (s.CLINICS, frozenset({"type", "revoked"}), "createdAt") in found  # clinic worklist, filtered
    assert (s.PATIENTS, frozenset({"type"}), "createdAt") in found  # folder list
    assert (s.DIRECTORY, frozenset({"type", "status", "overdueNotified"}), "reviewDueBy") in found  # referral clock


def test_every_ordered_query_with_a_filter_has_its_composite_index():
    indexes = _indexes()
    missing = sorted({f"{x.container}: {' + '.join(x.equals)} ORDER BY {x.order_by}  ({x.where})"
                      for x in _ordered_with_filter()
                      if not any(_served(i, x.equals, x.order_by) for i in indexes.get(x.container, []))})
    assert not missing, "composite indexes missing in infra/modules/cosmos-indexes.json:\n  " + "\n  ".join(missing)


def test_every_composite_index_serves_a_query_of_its_container():
    """No index for a query that is gone: each one costs RU on every write of the container."""
    queries = _ordered_with_filter()
    stale = [(container, [p["path"] for p in index]) for container, found in _indexes().items() for index in found
             if not any(x.container == container and _served(index, x.equals, x.order_by) for x in queries)]
    assert not stale, f"composite indexes no query uses: {stale}"


def test_every_container_has_its_index_list():
    # The containers' loop reads compositeIndexes[containerName]: a missing key fails the deployment.
    assert set(_indexes()) == set(s.DOCUMENT_CONTAINERS)


def test_indexing_is_consistent_automatic_and_ranges_over_everything_queried():
    policy = _policy()
    assert policy["indexingMode"] == "consistent" and policy["automatic"] is True
    assert [p["path"] for p in policy["includedPaths"]] == ["/*"]
    assert policy["compositeIndexes"]["operator"]["operands"] == {"operand_1": "compositeIndexes",
                                                                  "operand_2": "containerName"}
    assert policy["excludedPaths"] == "unindexedPaths"
    excluded = [p["path"] for p in doc(COSMOS)["variables"]["unindexedPaths"]["value"]]
    queried = {f for x in shapes() for f in (*x.equals, x.order_by)}
    covered = [(path, field) for path in excluded for field in queried
               if path.split("/")[1].strip('"') == field]
    assert not covered, f"excluded from the index but queried: {covered}"
