"""The indexing policy the tests' (and the bench's) Cosmos containers are made with: the composite
indexes the deployment gets (infra/modules/cosmos-indexes.json), so every query the suite sends on
the `azure` family proves its index. cosmosdb-server refuses an ORDER BY of several fields without a
composite index of exactly those fields and directions; unlike Cosmos DB it does not serve a
descending ORDER BY from an ascending index, so each index is also given all descending here.

The `contract` container is the port's contract suite's (tests/contract/test_documents.py): its
indexes are that suite's query shapes, by the same rule (Query.index_fields). Tests also look into
the stores themselves (every document of a type in a partition: `Query(pk, {"type": t})`), a shape
the product never sends: that one index is added for the tests only."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared_code.ports.documents import Query

INDEXES = Path(__file__).resolve().parents[2] / "infra" / "modules" / "cosmos-indexes.json"

CONTRACT = "contract"
_CONTRACT_SHAPES = (Query("", {"kind": None}, order_by="rank"), Query("", {"kind": None}, order_by="at"),
                    Query("", {"kind": None}))
_INSPECTION = Query("", {"type": None})  # by id


def _composites(container: str) -> list[list[dict[str, str]]]:
    if container == CONTRACT:
        return [[{"path": f"/{f}"} for f in q.index_fields()] for q in _CONTRACT_SHAPES]
    deployed = json.loads(INDEXES.read_text())[container]
    inspection = [{"path": f"/{f}"} for f in _INSPECTION.index_fields()]
    return deployed if inspection in deployed else [*deployed, inspection]


def indexing_policy(container: str) -> dict[str, Any]:
    ascending = [[{"path": p["path"], "order": "ascending"} for p in index] for index in _composites(container)]
    descending = [[{"path": p["path"], "order": "descending"} for p in index] for index in ascending]
    return {"indexingMode": "consistent", "automatic": True, "includedPaths": [{"path": "/*"}],
            "compositeIndexes": ascending + descending}
