"""The document queries the code builds, derived from the code itself (tests/infra/test_cosmos_indexes.py).

Every query the app sends to Cosmos DB is a `Query(...)` of the document port (shared_code/ports/
documents.py), which the Cosmos adapter turns into `WHERE c.pk = @pk AND c.<field> = @v ... ORDER BY
c.<order_by>`. What the index needs from a query is its SHAPE: the container, the equality fields
and the order field (the values do not matter). `shapes()` finds every `Query(...)` under
shared_code/ with `ast` and evaluates its arguments just far enough to know those three things:

- literals, module constants (`CLINICS`, `CLOCK_PARTITION`) and `to_camel("...")`;
- a dict literal's keys, `**spread`s, `a if c else b`, and keys added later by `d["k"] = v` (each
  such key may or may not be there: both shapes);
- local names, and `for a, b in ((...), (...))` over literal tuples (one shape per element);
- parameters, bound at every call of the function in shared_code/ and functions/ (by name; a call
  that cannot bind, e.g. a blob store's `list`, is not one of its callers), recursively;
- `self.x` set in the class's methods, and fields of a dataclass built in the code (`notice.since`).

A part that cannot be followed comes out as UNKNOWN, and the test then fails naming the query: the
code should then say what it queries in a way that can be read (or this evaluator learn the form)."""
from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

from pydantic.alias_generators import to_camel

from tests.infra.bicep import REPO

SHARED = REPO / "shared_code"
CALLERS = (SHARED, REPO / "functions")
SKIP = ("shared_code/adapters/", "shared_code/ports/")  # the port's own implementations
_DEPTH = 6  # call levels followed to bind a parameter
_MAX = 64  # alternatives kept per expression


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Keys:
    """A dict, as far as a query cares: its keys, in order."""
    names: tuple


@dataclass(frozen=True)
class Obj:
    """An instance of a class built in the code, with its constructor's arguments by field name."""
    cls: str
    fields: tuple


@dataclass(frozen=True)
class Shape:
    container: Any
    equals: tuple  # the equality fields, in the order the code writes them
    order_by: Any
    descending: Any
    where: str  # file:line of the Query(...)

    @property
    def known(self) -> bool:
        return all(isinstance(v, str) for v in (self.container, self.order_by, *self.equals))


@dataclass(frozen=True)
class Func:
    rel: str
    cls: str | None
    node: ast.FunctionDef


class _Code:
    def __init__(self) -> None:
        self.modules: dict[str, ast.Module] = {}
        for root in CALLERS:
            for path in sorted(root.rglob("*.py")):
                rel = str(path.relative_to(REPO))
                self.modules[rel] = ast.parse(path.read_text(), filename=rel)
        self.constants: dict[str, dict[str, Any]] = {}
        self.dataclasses: dict[str, list[str]] = {}
        self.funcs: dict[str, list[Func]] = {}
        self.enclosing: dict[int, Func | None] = {}
        self.calls: dict[str, list[ast.Call]] = {}
        self.self_attrs: dict[tuple[str, str], list[tuple[Func, ast.expr]]] = {}
        for rel, tree in self.modules.items():
            self.constants[rel] = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                                   and isinstance(n.value, ast.Constant) for t in n.targets if isinstance(t, ast.Name)}
            self._walk(rel, tree, None, None)

    def _walk(self, rel: str, node: ast.AST, cls: str | None, func: Func | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                self.dataclasses[child.name] = [s.target.id for s in child.body
                                                if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
                self._walk(rel, child, child.name, func)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = Func(rel, cls, child)
                self.funcs.setdefault(child.name, []).append(inner)
                self._walk(rel, child, None, inner)
            else:
                if isinstance(child, ast.Call):
                    self.enclosing[id(child)] = func
                    name = child.func.attr if isinstance(child.func, ast.Attribute) else getattr(child.func, "id", None)
                    if name:
                        self.calls.setdefault(name, []).append(child)
                if isinstance(child, ast.Assign) and func is not None and func.cls:  # self.x = ... in a method
                    for target in child.targets:
                        if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                                and target.value.id == "self"):
                            self.self_attrs.setdefault((func.cls, target.attr), []).append((func, child.value))
                self._walk(rel, child, cls, func)

    def constant(self, rel: str, name: str) -> Any:
        """A module constant: this module's, else the one module constant of that name anywhere."""
        if name in self.constants.get(rel, {}):
            return self.constants[rel][name]
        found = {c[name] for c in self.constants.values() if name in c and isinstance(c[name], (str, int, bool))}
        return found.pop() if len(found) == 1 else UNKNOWN


class _Evaluator:
    def __init__(self, code: _Code) -> None:
        self.code = code
        self._envs: dict[tuple, list[dict]] = {}

    # --- a function's local facts ---
    @staticmethod
    def params(func: Func) -> list[str]:
        args = func.node.args
        names = [a.arg for a in args.posonlyargs + args.args]
        return names[1:] if func.cls and names and names[0] in ("self", "cls") else names

    @staticmethod
    def all_params(func: Func) -> set[str]:
        args = func.node.args
        names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        return names - {"self", "cls"}

    @lru_cache(maxsize=None)
    def locals_of(self, func: Func) -> tuple[dict, dict, list]:
        """(name -> assigned exprs, name -> keys added by `name["k"] = ...`, for-loops over literals)."""
        assigns: dict[str, list[ast.expr]] = {}
        added: dict[str, list[str]] = {}
        loops: list[tuple[list[str], list[list[ast.expr]]]] = []
        for node in ast.walk(func.node):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigns.setdefault(target.id, []).append(node.value)
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple) and \
                            len(target.elts) == len(node.value.elts):
                        for t, v in zip(target.elts, node.value.elts):
                            if isinstance(t, ast.Name):
                                assigns.setdefault(t.id, []).append(v)
                    elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                          and isinstance(target.slice, ast.Constant)):
                        added.setdefault(target.value.id, []).append(target.slice.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                assigns.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.For) and isinstance(node.iter, (ast.Tuple, ast.List)):
                names = [node.target.id] if isinstance(node.target, ast.Name) else \
                    [t.id for t in getattr(node.target, "elts", []) if isinstance(t, ast.Name)]
                rows = []
                for element in node.iter.elts:
                    if isinstance(node.target, ast.Name):
                        rows.append([element])
                    elif isinstance(element, ast.Tuple) and len(element.elts) == len(names):
                        rows.append(list(element.elts))
                if names and len(rows) == len(node.iter.elts):
                    loops.append((names, rows))
        return assigns, added, loops

    def names_needed(self, func: Func, exprs: list[ast.expr]) -> frozenset[str]:
        """The parameters (and loop variables) that `exprs` depend on, through local assignments."""
        assigns, _, loops = self.locals_of(func)
        loop_vars = {n for names, _ in loops for n in names}
        seen: set[str] = set()
        todo = [n.id for e in exprs for n in ast.walk(e) if isinstance(n, ast.Name)]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for value in assigns.get(name, []):
                todo += [n.id for n in ast.walk(value) if isinstance(n, ast.Name)]
            for names, rows in loops:
                if name in names:
                    todo += [n.id for row in rows for e in row for n in ast.walk(e) if isinstance(n, ast.Name)]
        return frozenset(seen & (self.all_params(func) | loop_vars))

    # --- environments: one binding of the needed names per way the function is reached ---
    def envs(self, func: Func | None, needed: frozenset[str], depth: int = 0) -> list[dict]:
        if func is None or not needed:
            return [{}]
        key = (id(func.node), needed, depth)
        if key not in self._envs:
            self._envs[key] = [{}]  # a recursive call sees no binding (UNKNOWN) rather than looping
            self._envs[key] = self._bind(func, needed, depth)
        return self._envs[key]

    def _bind(self, func: Func, needed: frozenset[str], depth: int) -> list[dict]:
        _, _, loops = self.locals_of(func)
        param_needed = needed & self.all_params(func)
        per_call: list[dict] = [{}]
        if param_needed:
            per_call = []
            if depth < _DEPTH:
                for call in self.code.calls.get(func.node.name, []):
                    per_call += self._bind_call(func, call, param_needed, depth)
            if not per_call:
                per_call = [{}]
        result = per_call
        for names, rows in loops:
            if not set(names) & needed:
                continue
            options = []
            for row in rows:
                for env in result:
                    values = [self.ev(func, e, env, depth) for e in row]
                    for combo in itertools.product(*values):
                        options.append({**env, **dict(zip(names, combo))})
            result = options[:_MAX]
        return _dedupe(result)

    def _bind_call(self, func: Func, call: ast.Call, needed: frozenset[str], depth: int) -> list[dict]:
        params = self.params(func)
        args = func.node.args
        kwonly = [a.arg for a in args.kwonlyargs]
        if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > len(params):
            return []
        bound: dict[str, ast.expr] = dict(zip(params, call.args))
        extra: list[ast.keyword] = []
        spreads: list[ast.expr] = []  # `**d` at the call: its keys go to the function's **kwargs
        for kw in call.keywords:
            if kw.arg is None:
                if args.kwarg is None:
                    return []
                spreads.append(kw.value)
                continue
            if kw.arg in params or kw.arg in kwonly:
                if kw.arg in bound:
                    return []
                bound[kw.arg] = kw.value
            elif args.kwarg is not None:
                extra.append(kw)
            else:
                return []
        defaults = dict(zip(params[len(params) - len(args.defaults):], args.defaults))
        defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
        if any(p not in bound and p not in defaults for p in params + kwonly):
            return []  # not a call of this function (another method of the same name)
        caller = self.code.enclosing.get(id(call))
        exprs = [bound.get(p, defaults.get(p)) for p in needed if p in bound or p in defaults]
        exprs += [kw.value for kw in extra] + spreads
        out = []
        for env in self.envs(caller, self.names_needed(caller, exprs) if caller else frozenset(), depth + 1):
            choices: dict[str, list] = {}
            for p in needed:
                if p in bound:
                    choices[p] = self.ev(caller, bound[p], env, depth + 1) if caller else [UNKNOWN]
                elif p in defaults:
                    choices[p] = self.ev(func, defaults[p], {}, depth + 1)
                elif args.kwarg is not None and p == args.kwarg.arg:
                    named = tuple(kw.arg for kw in extra)
                    spread = [[v.names if isinstance(v, Keys) else (UNKNOWN,) for v in self.ev(caller, e, env, depth + 1)]
                              for e in spreads]
                    choices[p] = [Keys(named + tuple(itertools.chain(*combo))) for combo in itertools.product(*spread)]
                else:
                    choices[p] = [Keys(())] if args.vararg is None else [UNKNOWN]
            names = list(choices)
            for combo in itertools.product(*(choices[n] for n in names)):
                out.append(dict(zip(names, combo)))
        return out[:_MAX]

    # --- expressions ---
    def ev(self, func: Func | None, expr: ast.expr | None, env: dict, depth: int) -> list:
        values = self._ev(func, expr, env, depth)
        return _dedupe(values)[:_MAX] or [UNKNOWN]

    def _ev(self, func: Func | None, expr: ast.expr | None, env: dict, depth: int) -> list:
        rel = func.rel if func else ""
        if expr is None:
            return [UNKNOWN]
        if isinstance(expr, ast.Constant):
            return [expr.value]
        if isinstance(expr, ast.Name):
            if expr.id in env:
                return [env[expr.id]]
            assigns, added, _ = self.locals_of(func) if func else ({}, {}, [])
            if expr.id in assigns:
                base = [v for value in assigns[expr.id] for v in self.ev(func, value, env, depth)]
                optional = added.get(expr.id, [])
                out = []
                for v in base:
                    if isinstance(v, Keys) and optional:
                        for mask in itertools.product((False, True), repeat=len(optional)):
                            extra = tuple(k for k, on in zip(optional, mask) if on and k not in v.names)
                            out.append(Keys(v.names + extra))
                    else:
                        out.append(v)
                return out
            if func and expr.id in self.all_params(func):
                return [UNKNOWN]
            return [self.code.constant(rel, expr.id)]
        if isinstance(expr, ast.Dict):
            parts: list[list[tuple]] = []
            for k, v in zip(expr.keys, expr.values):
                if k is None:
                    parts.append([x.names if isinstance(x, Keys) else (UNKNOWN,) for x in self.ev(func, v, env, depth)])
                else:
                    parts.append([(x,) for x in self.ev(func, k, env, depth)])
            return [Keys(tuple(itertools.chain(*combo))) for combo in itertools.islice(itertools.product(*parts), _MAX)]
        if isinstance(expr, ast.IfExp):
            return self._ev(func, expr.body, env, depth) + self._ev(func, expr.orelse, env, depth)
        if isinstance(expr, ast.Call):
            name = getattr(expr.func, "id", None)
            if name == "to_camel" and len(expr.args) == 1:
                return [to_camel(v) if isinstance(v, str) else UNKNOWN for v in self.ev(func, expr.args[0], env, depth)]
            if name in self.code.dataclasses and not expr.keywords:
                fields = self.code.dataclasses[name]
                values = [self.ev(func, a, env, depth) for a in expr.args]
                return [Obj(name, tuple(zip(fields, combo))) for combo in itertools.islice(itertools.product(*values), _MAX)]
            return [UNKNOWN]
        if isinstance(expr, ast.Attribute):
            if isinstance(expr.value, ast.Name) and expr.value.id == "self" and func and func.cls:
                return [v for method, value in self.code.self_attrs.get((func.cls, expr.attr), [])
                        for v in self.ev(method, value, {}, depth + 1)] or [UNKNOWN]
            out = []
            for owner in self.ev(func, expr.value, env, depth):
                out.append(dict(owner.fields).get(expr.attr, UNKNOWN) if isinstance(owner, Obj) else UNKNOWN)
            return out
        return [UNKNOWN]


def _dedupe(values: list) -> list:
    out, seen = [], set()
    for v in values:
        key = repr(v) if isinstance(v, dict) else v
        try:
            if key in seen:
                continue
            seen.add(key)
        except TypeError:
            pass
        out.append(v)
    return out


def _query_calls(code: _Code) -> Iterator[tuple[Func, ast.Call, ast.expr | None]]:
    """Each Query(...) of the port in shared_code (outside the adapters), with the container argument
    of the store call that runs it: `x.query(C, Query(...))`, `paging.read_page(docs, C, Query(...))`,
    or `q = Query(...)` then `paging.every(docs, C, q)`."""
    for name, funcs in code.funcs.items():
        for func in funcs:
            if not func.rel.startswith("shared_code/") or func.rel.startswith(SKIP):
                continue
            imports = [n for n in code.modules[func.rel].body if isinstance(n, ast.ImportFrom)
                       and n.module == "shared_code.ports.documents" and any(a.name == "Query" for a in n.names)]
            if not imports:
                continue
            runs: dict[str, ast.expr] = {}  # query variable -> container expr
            inline: dict[int, ast.expr] = {}
            for node in ast.walk(func.node):
                if isinstance(node, ast.Call) and len(node.args) >= 2:
                    last = node.args[-1]
                    container = node.args[-2]
                    if isinstance(last, ast.Name):
                        runs[last.id] = container
                    elif isinstance(last, ast.Call) and getattr(last.func, "id", None) == "Query":
                        inline[id(last)] = container
            for node in ast.walk(func.node):
                if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Query"):
                    continue
                if _nearest_function(func.node, node) is not func.node:
                    continue
                container = inline.get(id(node))
                if container is None:
                    for assign in ast.walk(func.node):
                        if isinstance(assign, ast.Assign) and assign.value is node:
                            target = assign.targets[0]
                            container = runs.get(target.id) if isinstance(target, ast.Name) else None
                yield func, node, container


def _nearest_function(root: ast.AST, target: ast.AST) -> ast.AST | None:
    for node in ast.walk(root):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not root:
            if any(child is target for child in ast.walk(node)):
                return node
    return root


@lru_cache(maxsize=1)
def shapes() -> tuple[Shape, ...]:
    code = _Code()
    evaluator = _Evaluator(code)
    found: list[Shape] = []
    for func, call, container_expr in _query_calls(code):
        fields = ("partition_key", "equals", "order_by", "descending", "limit", "continuation")
        args = dict(zip(fields, call.args)) | {kw.arg: kw.value for kw in call.keywords if kw.arg}
        exprs = [e for e in (args.get("equals"), args.get("order_by"), args.get("descending"), container_expr) if e]
        where = f"{func.rel}:{call.lineno}"
        for env in evaluator.envs(func, evaluator.names_needed(func, exprs)):
            equals = evaluator.ev(func, args["equals"], env, 0) if "equals" in args else [Keys(())]
            order = evaluator.ev(func, args["order_by"], env, 0) if "order_by" in args else ["id"]
            descending = evaluator.ev(func, args["descending"], env, 0) if "descending" in args else [False]
            containers = evaluator.ev(func, container_expr, env, 0) if container_expr is not None else [UNKNOWN]
            for c, e, o, d in itertools.product(containers, equals, order, descending):
                keys = e.names if isinstance(e, Keys) else (UNKNOWN,)
                found.append(Shape(c, keys, o, d, where))
    return tuple(sorted(set(found), key=repr))
