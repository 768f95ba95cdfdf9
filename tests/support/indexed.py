"""What the Functions host would index from function_app.py: function name -> bindings.

`app.get_functions()` may be called only once per process (a second call raises on duplicate
names), so every test asks through this cache."""
from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def indexed_functions() -> dict[str, list[dict[str, Any]]]:
    import function_app

    return {f.get_function_name(): [b.get_dict_repr() for b in f.get_bindings()]
            for f in function_app.app.get_functions()}
