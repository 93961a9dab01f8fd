"""Tasks: the units of work a flow chains together.

A task wraps a function (``@task``) or is a :class:`Task` subclass with a ``run()`` method, plus
the options that tell the engine how to run it: retries, timeout, trigger, skip behaviour, state
handlers. Inside ``with Flow(...)``, *calling* a task does not run it: it binds a copy of the task
into the flow, with its arguments as edges (tasks) or bound constants (anything else), and
returns the copy so it can be passed on. Outside a flow, call ``task.run(...)`` to run the
function itself, which is also how tasks are unit tested.

>>> from tideflow import Flow, task
>>> @task
... def add(x: int, y: int = 1) -> int:
...     return x + y
>>> add.run(1, 2)
3
>>> with Flow("adding") as flow:
...     total = add(add(1), 10)
>>> sorted(t.name for t in flow.tasks)
['add', 'add']
"""

from __future__ import annotations

import copy as copy_module
import inspect
import typing
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING, Any, overload

from tideflow.errors import TaskDefinitionError
from tideflow.tag_context import current_tags
from tideflow.task_operators import TaskOperators

if TYPE_CHECKING:
    from tideflow.flow import Flow
    from tideflow.states import State

    Trigger = Callable[[Mapping[Any, State]], bool]
    StateHandler = Callable[["Task", State, State], "State | None"]

__all__ = ["FunctionTask", "Task", "active_case", "active_flow", "task"]

RESERVED_ARGUMENTS = frozenset({"upstream_tasks", "mapped", "task_args", "flow"})

# The flow that ``with Flow(...)`` is building, if any (set by Flow.__enter__).
active_flow: ContextVar[Flow | None] = ContextVar("tideflow_active_flow", default=None)

# The innermost `with case(...)` block being built, if any: it is told of every task added to a
# flow inside it (see tideflow.tasks.control_flow.case).
active_case: ContextVar[Any] = ContextVar("tideflow_active_case", default=None)


def _seconds(value: float | timedelta | None, option: str, owner: str) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 0 or (option == "timeout" and seconds == 0):
        raise TaskDefinitionError(
            f"task {owner!r}: {option} must be a positive number of seconds or a timedelta, "
            f"got {value!r}"
        )
    return seconds


def _tags(tags: Iterable[str] | None, owner: str) -> frozenset[str]:
    if isinstance(tags, str):
        raise TaskDefinitionError(
            f"task {owner!r}: tags must be a collection of strings such as "
            f"tags=[{tags!r}], not the single string {tags!r}"
        )
    return frozenset(tags or ())


def _check_signature(sig: inspect.Signature, owner: str) -> None:
    for param in sig.parameters.values():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            raise TaskDefinitionError(
                f"task {owner!r}: run() cannot take *{param.name}; tasks bind arguments by "
                "name, so give each argument a name"
            )
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise TaskDefinitionError(
                f"task {owner!r}: run() cannot take the positional-only argument "
                f"{param.name!r}; remove the '/' from its signature"
            )
        if param.name in RESERVED_ARGUMENTS:
            raise TaskDefinitionError(
                f"task {owner!r}: run() cannot take an argument named {param.name!r}; that "
                f"name is reserved for binding ({', '.join(sorted(RESERVED_ARGUMENTS))})"
            )


def _tuple_length(fn: Callable[..., Any]) -> int | None:
    """``n`` when ``fn`` is annotated to return ``tuple[a, b, ...]`` with ``n`` fixed items."""
    try:
        annotation = typing.get_type_hints(fn).get("return")
    except Exception:  # unresolvable annotations: no inference, never an error
        return None
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        if args and Ellipsis not in args:
            return len(args)
    return None


class Task(TaskOperators):
    """A unit of work; subclass it and define ``run()``, or use the ``@task`` decorator.

    Args:
        name: display name (default: the class or function name).
        slug: the task's key within a flow (default: derived from the name, unique per flow).
        tags: a collection of strings.
        max_retries: how many times to run again after a failure; needs ``retry_delay``.
        retry_delay: seconds or timedelta between attempts; needs ``max_retries``.
        retry_on: exception type(s) that may be retried (default: any); needs ``max_retries``.
        timeout: seconds or timedelta; a run over it ends ``TimedOut`` (retries apply).
        trigger: ``fn(upstream_states) -> bool`` deciding whether to run (default
            ``all_successful``).
        skip_on_upstream_skip: skip this task when an upstream task was skipped (default True).
        state_handlers: ``fn(task, old_state, new_state) -> State | None`` called on each change.
        on_failure: ``fn(task, state)`` called when the task fails.
        log_stdout: send ``print`` output inside the task to the task's logger.
        checkpoint: keep the task's return value: through its ``result`` (or the flow's) when
            there is one, else in the run history (it must then be JSON-serialisable).
            ``checkpoint=False`` writes nothing, even with a ``result`` or ``target``.
        cache_for: seconds or timedelta to keep a successful result in the cache
            (``$TIDEFLOW_HOME/cache``); later runs, in any process, reuse it meanwhile.
        cache_validator: ``fn(state, inputs, parameters) -> bool`` deciding whether a cached
            result may be used (default with ``cache_for``: ``duration_only``; see
            :mod:`tideflow.engine.cache_validators`).
        cache_key: share the cache between every task (of any flow) with this key (default:
            the flow's name and the task's key).
        result: a :class:`~tideflow.engine.results.Result` the return value is written
            through (default: the flow's ``result``).
        target: a location template (``"{task_name}-{today}"``) or ``fn(**names) -> str``; when
            the task's result exists there, the task is not run and ends ``Cached`` with it.
        nout: number of results for tuple unpacking (``a, b = split(x)``).
    """

    # Class-level defaults of the caching options: a task unpickled from an older version, or a
    # subclass that sets up its own attributes, reads as "no caching".
    cache_for: timedelta | None = None
    cache_validator: Callable[..., bool] | None = None
    cache_key: str | None = None
    result: Any = None
    target: str | Callable[..., str] | None = None

    def __init__(
        self,
        name: str | None = None,
        slug: str | None = None,
        tags: Iterable[str] | None = None,
        max_retries: int | None = None,
        retry_delay: float | timedelta | None = None,
        retry_on: type[BaseException] | Iterable[type[BaseException]] | None = None,
        timeout: float | timedelta | None = None,
        trigger: Trigger | None = None,
        skip_on_upstream_skip: bool = True,
        state_handlers: Sequence[StateHandler] | None = None,
        on_failure: Callable[[Task, State], None] | None = None,
        log_stdout: bool = False,
        checkpoint: bool | None = None,
        nout: int | None = None,
        cache_for: float | timedelta | None = None,
        cache_validator: Callable[..., bool] | None = None,
        cache_key: str | None = None,
        result: Any = None,
        target: str | Callable[..., str] | None = None,
    ) -> None:
        self.name = name or type(self).__name__
        self.slug = slug
        self.tags = _tags(tags, self.name) | current_tags()
        self._set_retries(max_retries, retry_delay, retry_on)
        self.timeout = _seconds(timeout, "timeout", self.name)
        self.trigger = trigger
        self.skip_on_upstream_skip = skip_on_upstream_skip
        self.state_handlers: list[StateHandler] = list(state_handlers or ())
        self.on_failure = on_failure
        self.log_stdout = log_stdout
        self.checkpoint = checkpoint
        self._set_caching(cache_for, cache_validator, cache_key, result, target)
        if nout is None:
            nout = _tuple_length(self._callable())
        if nout is not None and (not isinstance(nout, int) or nout < 1):
            raise TaskDefinitionError(f"task {self.name!r}: nout must be an int >= 1, got {nout!r}")
        self.nout = nout
        self.signature = inspect.signature(self._callable())
        _check_signature(self.signature, self.name)

    def _set_retries(
        self,
        max_retries: int | None,
        retry_delay: float | timedelta | None,
        retry_on: type[BaseException] | Iterable[type[BaseException]] | None,
    ) -> None:
        if (max_retries is None) != (retry_delay is None):
            raise TaskDefinitionError(
                f"task {self.name!r}: give max_retries and retry_delay together, e.g. "
                "max_retries=3, retry_delay=timedelta(seconds=10) (retry_delay=0 retries at once)"
            )
        if max_retries is not None and (not isinstance(max_retries, int) or max_retries < 0):
            raise TaskDefinitionError(
                f"task {self.name!r}: max_retries must be an int >= 0, got {max_retries!r}"
            )
        if retry_on is not None and not max_retries:
            raise TaskDefinitionError(
                f"task {self.name!r}: retry_on needs max_retries and retry_delay as well"
            )
        self.max_retries = max_retries or 0
        self.retry_delay = _seconds(retry_delay, "retry_delay", self.name) or 0.0
        if retry_on is None:
            self.retry_on: tuple[type[BaseException], ...] = (Exception,)
        elif isinstance(retry_on, type):
            self.retry_on = (retry_on,)
        else:
            self.retry_on = tuple(retry_on)

    def _set_caching(
        self,
        cache_for: float | timedelta | None,
        cache_validator: Callable[..., bool] | None,
        cache_key: str | None,
        result: Any,
        target: str | Callable[..., str] | None,
    ) -> None:
        seconds = _seconds(cache_for, "cache_for", self.name)
        self.cache_for = None if seconds is None else timedelta(seconds=seconds)
        if cache_validator is not None and not callable(cache_validator):
            raise TaskDefinitionError(
                f"task {self.name!r}: cache_validator must be a function such as "
                f"tideflow.engine.cache_validators.all_inputs, got {cache_validator!r}"
            )
        if cache_validator is not None and cache_for is None:
            warnings.warn(
                f"task {self.name!r}: cache_validator was given without cache_for, so nothing "
                "is cached; give cache_for=timedelta(...) too",
                UserWarning,
                stacklevel=4,
            )
        self.cache_validator = cache_validator
        if cache_key is not None and (not isinstance(cache_key, str) or not cache_key):
            raise TaskDefinitionError(
                f"task {self.name!r}: cache_key must be a non-empty string, got {cache_key!r}"
            )
        self.cache_key = cache_key
        if result is not None and not all(
            callable(getattr(result, m, None)) for m in ("exists", "read", "write")
        ):
            raise TaskDefinitionError(
                f"task {self.name!r}: result must be a Result such as "
                f"tideflow.engine.results.LocalResult(dir=...), got {result!r}"
            )
        self.result = result
        if target is not None and not (isinstance(target, str) and target) and not callable(target):
            raise TaskDefinitionError(
                f"task {self.name!r}: target must be a location template such as "
                f"'{{task_name}}-{{today}}' or a function returning one, got {target!r}"
            )
        self.target = target

    # -- what runs ---------------------------------------------------------------------------

    if TYPE_CHECKING:
        # Subclasses define run() with their own arguments; typed loosely so that any
        # signature is a valid override under mypy --strict.
        run: Callable[..., Any]
    else:

        def run(self) -> Any:
            """The work; subclasses override this. Call it directly to run the task by hand."""
            raise NotImplementedError(f"task {self.name!r}: subclasses of Task must define run()")

    def _callable(self) -> Callable[..., Any]:
        """The function whose signature defines the task's arguments."""
        return self.run

    # -- binding into flows ----------------------------------------------------------------

    def __call__(
        self,
        *args: Any,
        upstream_tasks: Iterable[Any] | None = None,
        mapped: bool = False,
        task_args: dict[str, Any] | None = None,
        flow: Flow | None = None,
        **kwargs: Any,
    ) -> Task:
        """Bind a copy of this task into the active flow with these arguments; return the copy."""
        new = self.copy(**(task_args or {}))
        return new.bind(*args, upstream_tasks=upstream_tasks, mapped=mapped, flow=flow, **kwargs)

    def bind(
        self,
        *args: Any,
        upstream_tasks: Iterable[Any] | None = None,
        mapped: bool = False,
        flow: Flow | None = None,
        **kwargs: Any,
    ) -> Task:
        """Bind this very task (not a copy) into the flow with these arguments."""
        flow = flow if flow is not None else self._require_flow("bind")
        try:
            arguments = dict(self.signature.bind(*args, **kwargs).arguments)
        except TypeError as exc:
            raise TaskDefinitionError(
                f"task {self.name!r} was called with arguments that do not fit run"
                f"{self.signature}: {exc}"
            ) from None
        var_keyword = self._var_keyword()
        if var_keyword is not None:
            arguments.update(arguments.pop(var_keyword, {}))
        flow.set_dependencies(
            self, upstream_tasks=upstream_tasks, keyword_tasks=arguments, mapped=mapped
        )
        return self

    def map(
        self,
        *args: Any,
        upstream_tasks: Iterable[Any] | None = None,
        task_args: dict[str, Any] | None = None,
        flow: Flow | None = None,
        **kwargs: Any,
    ) -> Task:
        """Bind a copy that runs once per item of its mapped inputs (see ``unmapped``)."""
        return self(
            *args,
            upstream_tasks=upstream_tasks,
            mapped=True,
            task_args=task_args,
            flow=flow,
            **kwargs,
        )

    def _var_keyword(self) -> str | None:
        for param in self.signature.parameters.values():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                return param.name
        return None

    def _require_flow(self, action: str) -> Flow:
        flow = active_flow.get()
        if flow is None:
            raise TaskDefinitionError(
                f"task {self.name!r} was called outside a `with Flow(...)` block. Inside a flow, "
                f"calling a task adds it to the flow; to {action} it elsewhere pass flow=..., and "
                f"to run the function itself call {self.name}.run(...) instead."
            )
        return flow

    def copy(self, **task_args: Any) -> Task:
        """A copy of this task (a new identity) with ``task_args`` overriding its attributes."""
        new = copy_module.copy(self)
        new.state_handlers = list(self.state_handlers)
        new.slug = None  # a copy is a new task; the flow gives it a key of its own
        for attr, value in task_args.items():
            if not hasattr(self, attr):
                raise TaskDefinitionError(f"task {self.name!r} has no option {attr!r} to override")
            setattr(new, attr, value)
        if task_args.keys() & {"max_retries", "retry_delay", "retry_on"}:
            # Overrides keep the options they do not name (a copy may raise max_retries and keep
            # its retry_delay), then pass the constructor's checks.
            keep_retry_on = None if self.retry_on == (Exception,) else self.retry_on
            new._set_retries(
                task_args.get("max_retries", self.max_retries),
                task_args.get("retry_delay", self.retry_delay),
                task_args.get("retry_on", keep_retry_on),
            )
        if "tags" in task_args:  # tags given to a copy add to the task's own, as in Prefect 1
            new.tags = self.tags | _tags(task_args["tags"], new.name)
        if "timeout" in task_args:
            new.timeout = _seconds(task_args["timeout"], "timeout", new.name)
        block_tags = current_tags()  # `with tags(...)` around the call
        if block_tags:
            new.tags = new.tags | block_tags
        if task_args.keys() & {"cache_for", "cache_validator", "cache_key", "result", "target"}:
            new._set_caching(
                new.cache_for, new.cache_validator, new.cache_key, new.result, new.target
            )
        return new

    def set_upstream(
        self, task: Any, flow: Flow | None = None, key: str | None = None, mapped: bool = False
    ) -> Task:
        """Make this task depend on ``task`` (as argument ``key`` when given).

        The arguments are in Prefect 1's order: ``b.set_upstream(a, flow)`` works as it did.
        """
        flow = self._flow_argument(flow, "set_upstream")
        flow.add_edge(task, self, key=key, mapped=mapped)
        return self

    def set_downstream(
        self, task: Task, flow: Flow | None = None, key: str | None = None, mapped: bool = False
    ) -> Task:
        """Make ``task`` depend on this task (receiving it as argument ``key`` when given)."""
        flow = self._flow_argument(flow, "set_downstream")
        flow.add_edge(self, task, key=key, mapped=mapped)
        return self

    def _flow_argument(self, flow: Any, method: str) -> Flow:
        if flow is None:
            return self._require_flow("set dependencies of")
        from tideflow.flow import Flow

        if not isinstance(flow, Flow):
            raise TaskDefinitionError(
                f"task {self.name!r}: {method}() takes the flow as its second argument, got "
                f"{flow!r}; pass the argument name as key=..., e.g. {method}(t, key={flow!r})"
            )
        return flow

    def set_dependencies(
        self,
        flow: Flow | None = None,
        upstream_tasks: Iterable[Any] | None = None,
        downstream_tasks: Iterable[Task] | None = None,
        keyword_tasks: dict[str, Any] | None = None,
        mapped: bool = False,
    ) -> Task:
        """Wire this task in ``flow`` (default: the active one); Prefect 1's argument order."""
        flow = self._flow_argument(flow, "set_dependencies")
        flow.set_dependencies(
            self,
            upstream_tasks=upstream_tasks,
            downstream_tasks=downstream_tasks,
            keyword_tasks=keyword_tasks,
            mapped=mapped,
        )
        return self

    # -- results as tasks: t[key] and tuple unpacking -------------------------------------

    def __getitem__(self, key: Any) -> Task:
        return self._operator("GetItem", self, key, name=f"{self.name}[{key!r}]")

    def _operator(self, kind: str, *args: Any, name: str | None = None) -> Task:
        from tideflow.tasks.core import operators

        cls: type[Task] = getattr(operators, kind)
        flow = active_flow.get()
        if flow is None:
            raise TaskDefinitionError(
                f"an operator on task {self.name!r} builds a {kind} task, which needs a "
                "`with Flow(...)` block; use it inside one, or call .run() on the tasks instead"
            )
        return cls(name=name or kind).bind(*args, flow=flow)

    def __iter__(self) -> Iterator[Task]:
        flow = active_flow.get()
        if flow is not None and self in flow and any(e.mapped for e in flow.edges_to(self)):
            raise TypeError(
                f"task {self.name!r} is mapped, so its result is a list with one item per "
                "child and cannot be unpacked into nout tasks; index each child's tuple with a "
                f"mapped task instead, e.g. first = GetItem().map({self.name}, unmapped(0))"
            )
        if self.nout is None:
            raise TypeError(
                f"task {self.name!r} cannot be unpacked: set nout=N in its options or annotate "
                "its return type as tuple[...] with a fixed number of items"
            )
        return (self[i] for i in range(self.nout))

    def __repr__(self) -> str:
        return f"<Task: {self.name}>"


class FunctionTask(Task):
    """A task made from a plain function by ``@task``."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise TaskDefinitionError(f"@task needs a function, got {fn!r}")
        self.fn = fn
        super().__init__(name=name or getattr(fn, "__name__", type(fn).__name__), **kwargs)
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def _callable(self) -> Callable[..., Any]:
        return self.fn


@overload
def task(fn: Callable[..., Any], /) -> FunctionTask: ...


@overload
def task(
    fn: None = None, /, **task_options: Any
) -> Callable[[Callable[..., Any]], FunctionTask]: ...


def task(
    fn: Callable[..., Any] | None = None, /, **task_options: Any
) -> FunctionTask | Callable[[Callable[..., Any]], FunctionTask]:
    """Turn a function into a task: ``@task`` or ``@task(max_retries=3, retry_delay=10)``."""
    if fn is not None:
        return FunctionTask(fn, **task_options)

    def decorate(f: Callable[..., Any]) -> FunctionTask:
        return FunctionTask(f, **task_options)

    return decorate
