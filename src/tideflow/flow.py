"""Flows: tasks wired into a directed acyclic graph.

A :class:`Flow` is a :class:`~tideflow.graph.Graph` (plain data: string keys and edges) plus the
:class:`~tideflow.task.Task` objects behind the keys and the constant arguments bound to them.
It is built either functionally, by calling tasks inside ``with Flow(...) as flow:``, or
imperatively with :meth:`Flow.add_task`, :meth:`Flow.add_edge`, :meth:`Flow.set_dependencies` and
:meth:`Flow.chain`. Every edge is checked when added, so a cycle is reported at once, with its
path.

Arguments given to a task call become:

* an edge, when the argument is a task (its result is passed under that argument's name);
* a bound constant (``flow.constants[task]``), when it holds no task;
* a generated ``List``/``Tuple``/``Set``/``Dict`` task, when it is a collection holding tasks.

``upstream_tasks=[...]`` adds edges that carry no data: the task waits for those tasks' states.

Running is not the flow's job: :meth:`Flow.run` hands the flow to :mod:`tideflow.engine`, imported
inside the method so that building and inspecting flows never loads the runtime.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import Token
from typing import TYPE_CHECKING, Any

from tideflow import builtin_tasks, flow_edit
from tideflow.edge_annotations import EdgeAnnotation, flatten, unmapped
from tideflow.edge_annotations import mapped as mapped_argument
from tideflow.errors import FlowDefinitionError
from tideflow.flow_io import FlowFiles
from tideflow.graph import Edge, Graph, Node
from tideflow.parameter import Parameter
from tideflow.task import Task, active_case, active_flow

if TYPE_CHECKING:
    from tideflow.states import State

__all__ = ["Flow"]

FlowStateHandler = Callable[["Flow", "State", "State"], "State | None"]


class Flow(FlowFiles):
    """A named graph of tasks, with an optional schedule and executor.

    Args:
        name: the flow's name (required, non-empty).
        schedule: when ``flow.run()`` runs it (see :mod:`tideflow.schedules`).
        executor: how tasks run (default ``LocalExecutor``); ``flow.run(executor=...)`` wins.
        tasks: tasks to add up front.
        edges: ``(upstream, downstream)`` or ``(upstream, downstream, key)`` tuples to add.
        reference_tasks: the tasks whose states decide the run's state (default: terminal tasks).
        state_handlers: ``fn(flow, old_state, new_state) -> State | None`` for the flow run.
        on_failure: ``fn(flow, state)`` called when a run fails.
        validate: check every edge as it is added (its key must be an argument of the
            downstream task, at most one edge per key). Cycles are refused either way.
        result: a :class:`~tideflow.engine.results.Result` every task's value is written
            through, unless the task has its own ``result`` or ``checkpoint=False``.
    """

    result: Any = None  # Flow(result=...); also what a flow unpickled from an older version has

    def __init__(
        self,
        name: str,
        schedule: Any = None,
        executor: Any = None,
        tasks: Iterable[Task] | None = None,
        edges: Iterable[tuple[Any, ...]] | None = None,
        reference_tasks: Iterable[Task] | None = None,
        state_handlers: Sequence[FlowStateHandler] | None = None,
        on_failure: Callable[[Flow, State], None] | None = None,
        validate: bool | None = None,
        result: Any = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise FlowDefinitionError(f"a Flow needs a non-empty name, got {name!r}")
        self.name = name
        self.schedule = schedule
        self.executor = executor
        self.state_handlers: list[FlowStateHandler] = list(state_handlers or ())
        self.on_failure = on_failure
        self.result = result
        self.graph = Graph(name)
        self.constants: dict[Task, dict[str, Any]] = {}
        self._tasks: dict[str, Task] = {}
        self._keys: dict[Task, str] = {}
        self._name_counts: dict[str, int] = {}
        self._reference: list[Task] = []
        self._tokens: list[Token[Flow | None]] = []
        self.eager_validation = bool(validate)
        for t in tasks or ():
            self.add_task(t)
        for edge in edges or ():
            self.add_edge(*edge)
        if reference_tasks is not None:
            self.set_reference_tasks(reference_tasks)

    # -- the `with Flow(...)` block ------------------------------------------------------

    def __enter__(self) -> Flow:
        self._tokens.append(active_flow.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        active_flow.reset(self._tokens.pop())

    # -- building --------------------------------------------------------------------------

    def add_task(self, task: Task) -> Task:
        """Add ``task`` (if not already in the flow) and return it."""
        if not isinstance(task, Task):
            raise FlowDefinitionError(
                f"flow {self.name!r}: only tasks can be added, got {task!r}; wrap a function "
                "with @task first"
            )
        if task in self._keys:
            return task
        key = self._new_key(task)
        self.graph.add_node(Node(key, task.name, type(task).__name__, tuple(sorted(task.tags))))
        self._tasks[key] = task
        self._keys[task] = key
        case = active_case.get()
        if case is not None:
            case.add_task(task, self)
        return task

    def _new_key(self, task: Task) -> str:
        if task.slug is not None:
            if task.slug in self._tasks:
                existing = self._tasks[task.slug]
                kind = "parameter" if isinstance(existing, Parameter) else "task with the key"
                raise FlowDefinitionError(
                    f"flow {self.name!r} already has a {kind} {task.slug!r}; names of "
                    "parameters and explicit slugs must be unique within a flow"
                )
            return task.slug
        # The first task called `name` gets the key `name`, later ones `name-2`, `name-3`...
        n = self._name_counts.get(task.name, 0)
        key = task.name if n == 0 else f"{task.name}-{n + 1}"
        while key in self._tasks:  # an explicit slug took it
            n += 1
            key = f"{task.name}-{n + 1}"
        self._name_counts[task.name] = n + 1
        return key

    def add_edge(
        self,
        upstream_task: Any,
        downstream_task: Task,
        key: str | None = None,
        mapped: bool = False,
        flattened: bool = False,
        validate: bool | None = None,
    ) -> Edge:
        """``downstream_task`` waits for ``upstream_task`` (and gets its result as ``key``).

        ``validate`` (default: the flow's ``validate``) also checks the key against the
        downstream task's arguments; a cycle is refused whatever it says.
        """
        if key is not None and not isinstance(key, str):
            raise FlowDefinitionError(
                f"flow {self.name!r}: the key of an edge into {downstream_task!r} must be the "
                f"name of one of its arguments, got {key!r}"
            )
        if not isinstance(downstream_task, Task):
            raise FlowDefinitionError(
                f"flow {self.name!r}: an edge must end at a task, got {downstream_task!r}"
            )
        upstream = self._as_task(upstream_task)
        if upstream is None:
            upstream = builtin_tasks.Constant(upstream_task)
        if isinstance(downstream_task, Parameter):
            raise FlowDefinitionError(
                f"flow {self.name!r}: parameter {downstream_task.name!r} cannot have upstream "
                "tasks; parameters are the flow's inputs"
            )
        self.add_task(upstream)
        self.add_task(downstream_task)
        edge = Edge(self._keys[upstream], self._keys[downstream_task], key, mapped, flattened)
        if validate or (validate is None and self.eager_validation):
            flow_edit.check_edge(self, downstream_task, edge)
        self.graph.add_edge(edge)
        return edge

    def set_dependencies(
        self,
        task: Task,
        upstream_tasks: Iterable[Any] | None = None,
        downstream_tasks: Iterable[Task] | None = None,
        keyword_tasks: dict[str, Any] | None = None,
        mapped: bool = False,
        validate: bool | None = None,
    ) -> None:
        """Wire ``task``: state-only upstreams, downstreams, and keyword arguments."""
        self.add_task(task)
        for up in upstream_tasks or ():
            is_mapped = (mapped and not isinstance(up, unmapped)) or isinstance(up, mapped_argument)
            value = up.value if isinstance(up, EdgeAnnotation) else up
            self.add_edge(value, task, None, is_mapped, isinstance(up, flatten), validate)
        for down in downstream_tasks or ():
            self.add_edge(task, down, validate=validate)
        for name, arg in (keyword_tasks or {}).items():
            self._bind_argument(task, name, arg, mapped, validate)

    def _bind_argument(
        self, task: Task, name: str, arg: Any, mapped: bool, validate: bool | None = None
    ) -> None:
        is_mapped = (mapped and not isinstance(arg, unmapped)) or isinstance(arg, mapped_argument)
        flattened = isinstance(arg, flatten)
        value = arg.value if isinstance(arg, EdgeAnnotation) else arg
        upstream = self._as_task(value)
        if upstream is None and not is_mapped:
            self.constants.setdefault(task, {})[name] = value
            return
        self.add_edge(
            value if upstream is None else upstream, task, name, is_mapped, flattened, validate
        )

    def _as_task(self, value: Any) -> Task | None:
        """``value`` as a task of this flow, or ``None`` when it is a constant."""
        if isinstance(value, Task):
            return value
        if not _holds_task(value):
            return None
        if isinstance(value, dict):
            collector: Task = builtin_tasks.Dict(name="Dict")
            items: dict[str, Any] = {"keys": list(value)}
            items.update({f"arg_{i}": v for i, v in enumerate(value.values())})
        else:
            kind: type[Task] = (
                builtin_tasks.List
                if isinstance(value, list)
                else builtin_tasks.Tuple
                if isinstance(value, tuple)
                else builtin_tasks.Set
            )
            collector = kind(name=kind.__name__)
            items = {f"arg_{i}": v for i, v in enumerate(value)}
        self.set_dependencies(collector, keyword_tasks=items)
        return collector

    def chain(self, *tasks: Task, validate: bool | None = None) -> list[Edge]:
        """Make each task wait for the one before it; returns the edges added."""
        return [self.add_edge(a, b, validate=validate) for a, b in itertools.pairwise(tasks)]

    def set_reference_tasks(self, tasks: Iterable[Task]) -> None:
        """The tasks whose final states decide the flow run's state."""
        tasks = list(tasks)
        for t in tasks:
            self._key(t)
        self._reference = tasks

    # -- introspection -----------------------------------------------------------------------

    @property
    def tasks(self) -> set[Task]:
        return set(self._tasks.values())

    @property
    def edges(self) -> set[Edge]:
        return set(self.graph.edges)

    def key(self, task: Task) -> str:
        """The task's key in this flow (its node name in :attr:`graph`)."""
        return self._key(task)

    def _key(self, task: Task) -> str:
        try:
            return self._keys[task]
        except (KeyError, TypeError):
            raise FlowDefinitionError(f"task {task!r} is not part of flow {self.name!r}") from None

    def task(self, key: str) -> Task:
        """The task with ``key``."""
        try:
            return self._tasks[key]
        except KeyError:
            raise FlowDefinitionError(
                f"flow {self.name!r} has no task {key!r}; its tasks are {sorted(self._tasks)}"
            ) from None

    def _tasks_of(self, keys: Iterable[str]) -> set[Task]:
        return {self._tasks[k] for k in keys}

    def root_tasks(self) -> set[Task]:
        return self._tasks_of(self.graph.roots())

    def terminal_tasks(self) -> set[Task]:
        return self._tasks_of(self.graph.terminals())

    def reference_tasks(self) -> set[Task]:
        """The tasks whose final states decide a run's state: those set, else the terminal tasks
        (a resource's cleanup task stands aside for the tasks it waits for, see
        :mod:`tideflow.resources`)."""
        if self._reference:
            return set(self._reference)
        terminal = self.terminal_tasks()
        if not any(getattr(t, "is_resource_cleanup", False) for t in terminal):
            return terminal
        return self._past_cleanups(terminal)

    def _past_cleanups(self, tasks: set[Task]) -> set[Task]:
        found: set[Task] = set()
        for t in tasks:
            if getattr(t, "is_resource_cleanup", False):
                ups = {u for u in self.upstream_tasks(t) if self.key(u) != _init_key(self, t)}
                found |= self._past_cleanups(ups)
            else:
                found.add(t)
        return found

    def parameters(self) -> set[Parameter]:
        return {t for t in self._tasks.values() if isinstance(t, Parameter)}

    def upstream_tasks(self, task: Task) -> set[Task]:
        return self._tasks_of(self.graph.upstream(self._key(task)))

    def downstream_tasks(self, task: Task) -> set[Task]:
        return self._tasks_of(self.graph.downstream(self._key(task)))

    def edges_to(self, task: Task) -> set[Edge]:
        return set(self.graph.upstream_edges(self._key(task)))

    def edges_from(self, task: Task) -> set[Edge]:
        return set(self.graph.downstream_edges(self._key(task)))

    def sorted_tasks(self) -> tuple[Task, ...]:
        """Every task, each after all of its upstream tasks."""
        return tuple(self._tasks[k] for k in self.graph.toposort())

    def __iter__(self) -> Iterator[Task]:
        return iter(self.sorted_tasks())

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, task: object) -> bool:
        return task in self._keys

    def get_tasks(
        self,
        name: str | None = None,
        slug: str | None = None,
        tags: Iterable[str] | None = None,
        task_type: type[Task] | None = None,
        key: str | None = None,
    ) -> list[Task]:
        """Tasks matching every given criterion, in topological order.

        ``slug`` (or its synonym ``key``) is the task's key in this flow: its explicit slug, or
        its name, then ``name-2``, ``name-3``... for later tasks of the same name.
        """
        wanted_tags = set(tags or ())
        key = slug if slug is not None else key
        return [
            t
            for t in self.sorted_tasks()
            if (name is None or t.name == name)
            and (key is None or self._keys[t] == key)
            and wanted_tags <= t.tags
            and (task_type is None or isinstance(t, task_type))
        ]

    @property
    def slug(self) -> str:
        """The flow's name as a file- and URL-safe word (``"Ticket model"`` -> ``ticket-model``)."""
        return flow_edit.slugify(self.name)

    @property
    def slugs(self) -> dict[Task, str]:
        """Every task's key in this flow (Prefect 1's ``flow.slugs``)."""
        return dict(self._keys)

    def update(
        self, flow: Flow, merge_parameters: bool = False, validate: bool | None = None
    ) -> None:
        """Add every task, edge and constant of ``flow`` to this one.

        A parameter of ``flow`` whose name this flow already uses is an error, unless
        ``merge_parameters`` is true: then ``flow``'s tasks take this flow's parameter.
        """
        flow_edit.update(self, flow, merge_parameters, validate)

    def replace(self, old: Task, new: Any, validate: bool = True) -> None:
        """Put ``new`` (a task, or a constant made a task) in ``old``'s place, edges included."""
        flow_edit.replace(self, old, new, validate)

    def validate(self) -> None:
        """Check the flow's invariants (acyclicity is kept as edges are added)."""
        for p in self.parameters():
            if self.graph.upstream_edges(self._key(p)):
                raise FlowDefinitionError(f"parameter {p.name!r} cannot have upstream tasks")
        for t in self._reference:
            self._key(t)

    def copy(self) -> Flow:
        """A new flow with the same tasks, edges, constants and settings."""
        new = Flow(
            self.name, self.schedule, self.executor, on_failure=self.on_failure, result=self.result
        )
        new.state_handlers = list(self.state_handlers)
        new.graph = Graph.from_dict(self.graph.to_dict())
        new._tasks = dict(self._tasks)
        new._keys = dict(self._keys)
        new._name_counts = dict(self._name_counts)
        new.constants = {t: dict(c) for t, c in self.constants.items()}
        new._reference = list(self._reference)
        new.eager_validation = self.eager_validation
        return new

    def __repr__(self) -> str:
        return f"<Flow {self.name!r}: {len(self._tasks)} tasks, {len(self.graph.edges)} edges>"

    # -- running ---------------------------------------------------------------------------

    def run(
        self,
        parameters: dict[str, Any] | None = None,
        run_on_schedule: bool | None = None,
        **kwargs: Any,
    ) -> State:
        """Run the flow and return its final State (see :func:`tideflow.engine.run_flow`).

        ``flow.run(x=1)`` and ``flow.run(parameters={"x": 1})`` both set parameters; the
        keyword arguments ``executor``, ``context``, ``clock`` and ``observers`` configure the
        run. With a schedule (and ``run_on_schedule`` not False) it runs at each fire time.
        """
        if active_flow.get() is self:
            raise FlowDefinitionError(
                f"flow {self.name!r}: flow.run() was called inside its own `with Flow(...)` "
                "block; call it after the block ends"
            )
        from tideflow.engine.api import run

        return run(self, parameters, run_on_schedule, **kwargs)


def _init_key(flow: Flow, cleanup: Task) -> str | None:
    """The key of the task that gives a cleanup task its manager (its ``mgr`` argument)."""
    for edge in flow.edges_to(cleanup):
        if edge.key == "mgr":
            return edge.upstream
    return None


def _holds_task(value: Any) -> bool:
    if isinstance(value, Task):
        return True
    if isinstance(value, dict):
        return any(_holds_task(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_task(v) for v in value)
    return False
