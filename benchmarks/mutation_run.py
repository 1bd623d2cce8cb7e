"""Mutation testing of the delivery-decision code: do the tests notice when its logic changes?

For each target (the shared delivery-once logic and its outcome resolution, the operator's use of it,
the ledger, the retry policy's send/resend decisions, the deliver classification of the protocol) this
makes small changes
("mutants") to the functions named below with Python's :mod:`ast`, one at a time:

- comparisons negated (``<`` -> ``>=``, ``==`` -> ``!=``, ``in`` -> ``not in``, ``is`` -> ``is not``)
  and shifted at the boundary (``<`` -> ``<=``, ``>`` -> ``>=`` and back);
- ``and`` <-> ``or``; ``not x`` -> ``x``; conditions of ``if``, ``while`` and ``x if c else y`` negated;
- ``True`` <-> ``False``; numbers +1 and -1; ``+`` <-> ``-``, ``*`` <-> ``/``;
- the words of the model (``"sent"``, ``"sending"``, ``"draft"``, ``"check"``, ``"connect"``...)
  replaced by a sibling word;
- ``return x`` -> ``return None`` and ``return not x``;
- a statement deleted (replaced by ``pass``): a call (not a log line), a ``raise``, an assignment.

Each mutant is written into a private copy of the repository (``git archive HEAD``, one copy per
worker; the working tree is never touched, so an interrupted run leaves nothing behind), and only the
tests that can notice it run: the script first runs each module's tests once on the unmutated copy
under coverage, with one coverage context per test function (and stops if they fail there); a mutant
then runs only the test functions that executed the statement it changes (all of the module's tests
when none did in-process), with ``-x -q``, a per-mutant timeout, no bytecode cache and Hypothesis'
``mutation`` profile (no shrinking: a failure is enough). A mutant is *killed* when the tests fail (a
timeout counts as killed, and is listed), and *survives* when they pass.

    .venv/bin/python benchmarks/mutation_run.py [--jobs 2] [--module ledger] [--list]

It refuses to run on a working tree with uncommitted changes (the copies are of HEAD). It prints the
score per module and overall, and every surviving mutant as ``file:line:col  mutation``.
"""

from __future__ import annotations

import argparse
import ast
import collections
import concurrent.futures
import copy
import dataclasses
import os
import pathlib
import queue
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator

ROOT = pathlib.Path(__file__).resolve().parents[1]

_OPERATOR_TESTS = [
    "tests/operators/test_deliver.py",
    "tests/operators/test_deliver_properties.py",
    "tests/dags/test_delivery_outcomes.py",
    "tests/dags/test_delivery_retries.py",
    "tests/operators/test_bulk.py",
    "tests/dags/test_bulk_delivery.py",
]

_ANSWER_TESTS = (
    "tests/api/test_delivery_outcome.py",
    "tests/api/test_policy_properties.py",
    "tests/api/test_protocol.py",
    "tests/api/test_hostile_answers.py",
    "tests/api/test_replay.py",
    "tests/api/test_errors.py",
)


@dataclasses.dataclass(frozen=True)
class Target:
    """A module, the functions of it to mutate (qualified names), and the tests that guard them."""

    name: str
    path: str
    functions: tuple[str, ...]
    tests: tuple[str, ...]


TARGETS = [
    Target(
        "deliver",
        "airflow_provider_infakt/operators/deliver.py",
        ("InfaktDeliverInvoiceOperator._ledger", "InfaktDeliverInvoiceOperator._deliver_once"),
        tuple(_OPERATOR_TESTS),
    ),
    Target(
        "delivery",
        "airflow_provider_infakt/delivery.py",
        (
            "DeliveryProblem.airflow_exception",
            "with_ledger_asset",
            "window_seconds",
            "delivery_ledger",
            "OnceDelivery.deliver",
            "OnceDelivery._nothing_sent",
            "OnceDelivery._read_ledger",
            "OnceDelivery._write_ledger",
            "OnceDelivery._earlier_attempt_delivered",
        ),
        tuple(_OPERATOR_TESTS),
    ),
    Target(
        "ledger",
        "airflow_provider_infakt/ledger.py",
        (
            "ledger_key",
            "Entry.load",
            "Ledger.__init__",
            "Ledger.read",
            "Ledger._write",
            "Ledger.mark_sending",
            "Ledger.mark_sent",
            "Ledger.forget",
            "resolve",
            "seconds_until_settled",
        ),
        ("tests/operators/test_ledger_properties.py", *_OPERATOR_TESTS),
    ),
    Target(
        "policy",
        "airflow_provider_infakt/api/policy.py",
        ("retry_delay_after_response", "retry_delay_after_failure", "failure_error", "exchange"),
        (
            "tests/api/test_policy.py",
            "tests/api/test_policy_properties.py",
            "tests/api/test_delivery_outcome.py",
            "tests/api/test_client_transport.py",
        ),
    ),
    Target(
        "protocol",
        "airflow_provider_infakt/api/protocol.py",
        ("parse_deliver", "_parse_deliver"),
        _ANSWER_TESTS,
    ),
    Target(
        "answers",
        "airflow_provider_infakt/api/_answers.py",
        ("error_for", "_deliver_error", "_is_infakt_error"),
        _ANSWER_TESTS,
    ),
]

#: Words of the delivery-outcome model and their sibling (the mutation replaces one by the other).
WORDS = {
    "sent": "sending",
    "sending": "sent",
    "draft": "printed",
    "printed": "draft",
    "paid": "sent",
    "delivered": "not_delivered",
    "not_delivered": "cannot_tell",
    "cannot_tell": "delivered",
    "check": "resend",
    "resend": "fail",
    "fail": "check",
    "connect": "maybe_sent",
    "maybe_sent": "connect",
    "fatal": "connect",
    "too_large": "sent",
    "xml": "json",
    "json": "xml",
    "v2": "v3",
    "v3": "v2",
}
NEGATED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
BOUNDARY: dict[type[ast.cmpop], type[ast.cmpop]] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
ARITHMETIC: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
}
SYMBOLS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One change: where (in the original file) and what, and the module's source with it."""

    target: Target
    line: int
    col: int
    description: str
    source: str
    statement_line: int  # the first line of the statement holding the change: what coverage records

    @property
    def where(self) -> str:
        return f"{self.target.path}:{self.line}:{self.col + 1}"


# -- making mutants -------------------------------------------------------------------------------
def _functions(tree: ast.Module, names: tuple[str, ...]) -> list[ast.AST]:
    """The function nodes of ``tree`` with the given qualified names (``Class.method`` or ``function``)."""
    found: dict[str, ast.AST] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[prefix + child.name] = child
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")

    visit(tree, "")
    missing = [n for n in names if n not in found]
    if missing:
        raise SystemExit(f"functions not found: {', '.join(missing)}")
    return [found[n] for n in names]


def _skipped(tree: ast.Module) -> set[int]:
    """Ids of nodes never mutated: docstrings, f-strings and everything in them, log calls' arguments."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                skipped.update(id(n) for n in ast.walk(body[0]))
        if isinstance(node, ast.JoinedStr) or _is_log_call(node):
            skipped.update(id(n) for n in ast.walk(node))
        if isinstance(node, ast.Expr) and _is_log_call(node.value):  # the log line itself: not deleted
            skipped.add(id(node))
    return skipped


def _is_log_call(node: ast.AST) -> bool:
    """``self.log.info(...)``, ``log.warning(...)``: deleting or changing them changes no decision."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    return node.func.attr in ("debug", "info", "warning", "error", "exception") and (
        (isinstance(owner, ast.Attribute) and owner.attr == "log")
        or (isinstance(owner, ast.Name) and owner.id == "log")
    )


Change = Callable[[ast.AST, dict[int, tuple[ast.AST, str, int | None]]], None]


def _edits(node: ast.AST) -> Iterator[tuple[str, Change]]:
    """The mutations that apply to ``node``: (description, a function changing the node in a copy)."""
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            for table in (NEGATED, BOUNDARY):
                new = table.get(type(op))
                if new is not None:
                    yield (
                        f"{SYMBOLS[type(op)]} -> {SYMBOLS[new]}",
                        lambda n, _p, i=index, c=new: n.ops.__setitem__(i, c()),  # type: ignore[attr-defined]
                    )
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield (f"{'and -> or' if other is ast.Or else 'or -> and'}", lambda n, _p, c=other: setattr(n, "op", c()))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "not x -> x", lambda n, p: _replace(n, p, n.operand)  # type: ignore[attr-defined]
    elif isinstance(node, ast.BinOp) and type(node.op) in ARITHMETIC:
        new_op = ARITHMETIC[type(node.op)]
        yield (f"{SYMBOLS[type(node.op)]} -> {SYMBOLS[new_op]}", lambda n, _p, c=new_op: setattr(n, "op", c()))
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield f"{value} -> {not value}", lambda n, _p: setattr(n, "value", not n.value)  # type: ignore[attr-defined]
        elif isinstance(value, (int, float)):
            for delta in (1, -1):
                yield f"{value!r} -> {value + delta!r}", lambda n, _p, d=delta: setattr(n, "value", n.value + d)  # type: ignore[attr-defined]
        elif isinstance(value, str) and value in WORDS:
            yield f"{value!r} -> {WORDS[value]!r}", lambda n, _p: setattr(n, "value", WORDS[n.value])  # type: ignore[attr-defined]
    elif isinstance(node, (ast.If, ast.While, ast.IfExp)):
        yield "condition negated", lambda n, _p: setattr(n, "test", ast.UnaryOp(ast.Not(), n.test))  # type: ignore[attr-defined]
    if isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield "return x -> return None", lambda n, _p: setattr(n, "value", ast.Constant(None))
        yield "return x -> return not x", lambda n, _p: setattr(n, "value", ast.UnaryOp(ast.Not(), n.value))  # type: ignore[attr-defined]
    deletable = (
        (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call))
        or isinstance(node, (ast.Raise, ast.Assign, ast.AugAssign))
        or (isinstance(node, ast.AnnAssign) and node.value is not None)
    )
    if deletable:
        kind = type(node).__name__.lower() if not isinstance(node, ast.Expr) else "call"
        yield f"{kind} deleted", lambda n, p: _replace(n, p, ast.Pass())


def _replace(node: ast.AST, parents: dict[int, tuple[ast.AST, str, int | None]], new: ast.AST) -> None:
    parent, field, index = parents[id(node)]
    if index is None:
        setattr(parent, field, new)
    else:
        getattr(parent, field)[index] = new


def _parents(tree: ast.AST) -> dict[int, tuple[ast.AST, str, int | None]]:
    parents: dict[int, tuple[ast.AST, str, int | None]] = {}
    for node in ast.walk(tree):
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        parents[id(item)] = (node, field, index)
            elif isinstance(value, ast.AST):
                parents[id(value)] = (node, field, None)
    return parents


def mutants(target: Target, root: pathlib.Path = ROOT) -> list[Mutant]:
    """Every mutant of ``target``'s functions, in source order, made from the module under ``root``
    (a copy of HEAD for a run: the working tree may change while it runs)."""
    source = (root / target.path).read_text(encoding="utf-8")
    tree = ast.parse(source)
    skipped = _skipped(tree)
    order = list(ast.walk(tree))  # the same walk over a deep copy yields the copied nodes in this order
    position = {id(node): index for index, node in enumerate(order)}
    made: list[Mutant] = []
    for function in _functions(tree, target.functions):
        statement_of: dict[int, int] = {}
        for statement in ast.walk(function):  # breadth first: an inner statement overwrites its outer one
            if isinstance(statement, ast.stmt):
                for inner in ast.walk(statement):
                    statement_of[id(inner)] = statement.lineno
        for node in ast.walk(function):
            if node is function or id(node) in skipped or isinstance(node, ast.expr_context):
                continue
            for description, change in _edits(node):
                mutated = copy.deepcopy(tree)
                twin = list(ast.walk(mutated))[position[id(node)]]
                change(twin, _parents(mutated))
                ast.fix_missing_locations(mutated)
                text = ast.unparse(mutated)
                if text == ast.unparse(tree):
                    continue
                line = node.lineno  # type: ignore[attr-defined]
                made.append(
                    Mutant(target, line, node.col_offset, description, text, statement_of.get(id(node), line))  # type: ignore[attr-defined]
                )
    made.sort(key=lambda m: (m.line, m.col, m.description))
    return made


# -- running them ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Result:
    mutant: Mutant
    outcome: str  # "killed", "timeout" or "survived"
    seconds: float


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def _copy_of_head(into: pathlib.Path) -> pathlib.Path:
    """A copy of the committed tree (what the report's line numbers refer to)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def _environment(copy_root: pathlib.Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy_root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutant of the same size within the same second must not hit a .pyc
    env["HYPOTHESIS_PROFILE"] = "mutation"
    return env


def _pytest(copy_root: pathlib.Path, tests: tuple[str, ...], timeout: float) -> tuple[str, float]:
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=copy_root, env=_environment(copy_root), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - started
    return ("survived" if done.returncode == 0 else "killed"), time.monotonic() - started


def _test_id(copy_root: pathlib.Path, context: str) -> str | None:
    """The pytest node id of a coverage context (``tests.operators.test_deliver.Class.test_x``), or None."""
    parts = context.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        path = pathlib.Path(*parts[:cut]).with_suffix(".py")
        if (copy_root / path).is_file():
            return "::".join([path.as_posix(), *parts[cut:]])
    return None


def _coverage_map(copy_root: pathlib.Path, target: Target) -> tuple[str, dict[int, list[str]]]:
    """Run ``target``'s tests once under coverage with one context per test function; return the
    outcome and, for each line of the target module, the tests (pytest node ids) that ran it, the
    quickest first (so that a mutant that some test notices is usually noticed within seconds)."""
    import coverage  # the test extra installs it

    data_file = copy_root / f".coverage-{target.name}"
    rc = copy_root / f".coveragerc-{target.name}"
    rc.write_text(
        f"[run]\ndynamic_context = test_function\ndata_file = {data_file}\ninclude = {copy_root / target.path}\n"
        "concurrency = thread\n",
        encoding="utf-8",
    )
    junit = copy_root / f".junit-{target.name}.xml"
    command = [sys.executable, "-m", "coverage", "run", f"--rcfile={rc}", "-m", "pytest", "-q"]
    command += ["-p", "no:cacheprovider", f"--junitxml={junit}"]
    done = subprocess.run(
        [*command, *target.tests], cwd=copy_root, env=_environment(copy_root), capture_output=True, timeout=3600
    )
    if done.returncode != 0:
        return "killed", {}
    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    seconds: dict[str, float] = collections.defaultdict(float)  # per test function, its parameters summed
    for case in ET.parse(junit).iter("testcase"):  # noqa: S314 - pytest wrote it, just now
        test = _test_id(copy_root, f"{case.get('classname')}.{case.get('name', '').split('[')[0]}")
        if test is not None:
            seconds[test] += float(case.get("time") or 0)
    by_line: dict[int, list[str]] = {}
    for line, contexts in data.contexts_by_lineno(str(copy_root / target.path)).items():
        found = {i for i in (_test_id(copy_root, c) for c in contexts if c) if i is not None}
        ids = sorted(found, key=lambda test: (seconds.get(test, 1e9), test))
        if ids:
            by_line[line] = ids
    return "survived", by_line


def _check_copy(copy_root: pathlib.Path) -> None:
    """The copy's package, not the working tree's, is the one the tests import."""
    probe = [sys.executable, "-c", "import airflow_provider_infakt as m; print(m.__file__)"]
    found = subprocess.run(
        probe, cwd=copy_root, env=_environment(copy_root), capture_output=True, text=True, check=True
    )
    if not pathlib.Path(found.stdout.strip()).resolve().is_relative_to(copy_root.resolve()):
        raise SystemExit(f"the copy's package is not the one imported: {found.stdout.strip()}")


def run(targets: list[Target], jobs: int, timeout_factor: float, lines: set[int]) -> list[Result]:
    """Test every mutant of ``targets`` (only those at ``lines``, when given) and return the results."""
    with tempfile.TemporaryDirectory(prefix="infakt-mutation-") as scratch:
        pristine = _copy_of_head(pathlib.Path(scratch) / "head")  # mutants are made from it; never run in
        copies: queue.Queue[pathlib.Path] = queue.Queue()
        for worker in range(jobs):
            copy_root = _copy_of_head(pathlib.Path(scratch) / f"copy{worker}")
            _check_copy(copy_root)
            copies.put(copy_root)

        baseline: dict[str, float] = {}
        covering: dict[str, dict[int, list[str]]] = {}
        for target in targets:
            copy_root = copies.get()
            started = time.monotonic()
            outcome, covering[target.name] = _coverage_map(copy_root, target)
            seconds = time.monotonic() - started  # under coverage: slower than a plain run, a generous base
            copies.put(copy_root)
            if outcome != "survived":
                raise SystemExit(f"the tests of {target.name} fail without any mutant ({outcome}): fix that first")
            baseline[target.name] = seconds
            tests = len({t for ids in covering[target.name].values() for t in ids})
            print(
                f"baseline {target.name}: {len(target.tests)} test files pass in {seconds:.0f} s; "
                f"{tests} test functions run its lines",
                flush=True,
            )

        def attempt(mutant: Mutant) -> Result:
            copy_root = copies.get()
            module = copy_root / mutant.target.path
            original = module.read_text(encoding="utf-8")
            try:
                module.write_text(mutant.source, encoding="utf-8")
                limit = baseline[mutant.target.name] * timeout_factor + 30
                # only the tests that run the changed statement can notice the change; a statement no
                # test runs in-process (e.g. only in a subprocess) gets every test of its module
                tests = covering[mutant.target.name].get(mutant.statement_line) or list(mutant.target.tests)
                outcome, seconds = _pytest(copy_root, tuple(tests), timeout=limit)
            finally:
                module.write_text(original, encoding="utf-8")
                copies.put(copy_root)
            return Result(mutant, outcome, seconds)

        all_mutants = [m for t in targets for m in mutants(t, pristine) if not lines or m.line in lines]
        results: list[Result] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            for number, result in enumerate(pool.map(attempt, all_mutants), 1):
                results.append(result)
                mark = {"killed": ".", "timeout": "T", "survived": "S"}[result.outcome]
                print(
                    f"[{number}/{len(all_mutants)}] {mark} {result.mutant.where}  {result.mutant.description} "
                    f"({result.seconds:.0f} s)",
                    flush=True,
                )
        return results


def report(targets: list[Target], results: list[Result]) -> float:
    print()
    print(f"{'module':<10} {'mutants':>8} {'killed':>7} {'timeout':>8} {'survived':>9} {'score':>7}")
    total = killed_all = 0
    for target in targets:
        mine = [r for r in results if r.mutant.target is target]
        killed = sum(r.outcome != "survived" for r in mine)
        timeouts = sum(r.outcome == "timeout" for r in mine)
        score = 100.0 * killed / len(mine) if mine else 100.0
        print(f"{target.name:<10} {len(mine):>8} {killed:>7} {timeouts:>8} {len(mine) - killed:>9} {score:>6.1f}%")
        total += len(mine)
        killed_all += killed
    overall = 100.0 * killed_all / total if total else 100.0
    print(f"{'overall':<10} {total:>8} {killed_all:>7} {'':>8} {total - killed_all:>9} {overall:>6.1f}%")
    survivors = [r for r in results if r.outcome == "survived"]
    if survivors:
        print("\nsurviving mutants:")
        for r in survivors:
            print(f"  {r.mutant.where}  {r.mutant.description}")
    timeouts = [r for r in results if r.outcome == "timeout"]
    if timeouts:
        print("\ntimed out (counted as killed):")
        for r in timeouts:
            print(f"  {r.mutant.where}  {r.mutant.description}")
    return overall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (one repository copy each)")
    parser.add_argument("--module", action="append", choices=[t.name for t in TARGETS], help="only these (repeatable)")
    parser.add_argument("--timeout-factor", type=float, default=3.0, help="per-mutant timeout: baseline x this + 30 s")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--line", type=int, action="append", help="only mutants at these lines (repeatable)")
    args = parser.parse_args()
    targets = [t for t in TARGETS if not args.module or t.name in args.module]
    if args.list:
        for target in targets:
            for m in mutants(target):
                if not args.line or m.line in args.line:
                    print(f"{m.where}  {m.description}")
        return 0
    if _git("status", "--porcelain", "--untracked-files=no").strip():
        raise SystemExit("the working tree has uncommitted changes: commit them (the run tests a copy of HEAD)")
    if shutil.which("tar") is None:
        raise SystemExit("tar is needed to unpack the copies of HEAD")
    started = time.monotonic()
    results = run(targets, args.jobs, args.timeout_factor, set(args.line or ()))
    overall = report(targets, results)
    print(f"\n{len(results)} mutants in {(time.monotonic() - started) / 60:.1f} min; overall score {overall:.1f}%")
    return 0 if overall >= 90.0 else 1


if __name__ == "__main__":
    sys.exit(main())
