"""``resource_manager``: set up a resource before some tasks and clean it up after them.

Prefect 1's ``prefect.resource_manager``. Decorate a class with ``setup()`` (returns the resource)
and ``cleanup(resource)``; inside a flow, ``with MyResource(args) as resource:`` adds three tasks:

* an *init* task, which builds ``MyResource(args)`` (its arguments may be tasks or parameters);
* a *setup* task, which calls ``setup()`` and whose result is ``resource``;
* a *cleanup* task, which calls ``cleanup(resource)`` once every task created in the block has
  finished, whatever their outcome (failed, skipped, timed out), and is skipped only when setup
  did not succeed (there is nothing to clean up).

Tasks created in the block that wait for no other task of the block wait for setup (so they run
with the resource ready, even when they do not take it as an argument); tasks of the block that
no other task of the block waits for are waited for by cleanup. The cleanup task never decides a
run's state: where it is a terminal task, the run's state is decided by the tasks it waits for
(see ``Flow.reference_tasks``), so a block whose task failed fails the run even though cleanup
succeeded.

>>> from tideflow import Flow, resource_manager, task
>>> @resource_manager
... class Workspace:
...     def __init__(self, label):
...         self.label = label
...     def setup(self):
...         return f"/tmp/{self.label}"
...     def cleanup(self, resource):
...         pass
>>> @task
... def use(path):
...     return path.upper()
>>> with Flow("with-resource") as flow:
...     with Workspace("scratch") as path:
...         out = use(path)
>>> flow.run(store=None).result[out].result
'/TMP/SCRATCH'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tideflow.errors import FlowDefinitionError
from tideflow.flow import Flow
from tideflow.parameter import Parameter
from tideflow.signals import SKIP
from tideflow.states import State
from tideflow.task import Task, active_flow

__all__ = [
    "ResourceCleanupTask",
    "ResourceContext",
    "ResourceInitTask",
    "ResourceManager",
    "ResourceSetupTask",
    "resource_cleanup_trigger",
    "resource_manager",
]


class ResourceInitTask(Task):
    """Builds the resource manager's object from its arguments."""

    def __init__(self, resource_class: Callable[..., Any], **kwargs: Any) -> None:
        self.resource_class = resource_class
        super().__init__(**kwargs)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return self.resource_class(*args, **kwargs)

    def _callable(self) -> Callable[..., Any]:
        return self.resource_class


class ResourceSetupTask(Task):
    """Calls ``setup()`` on the object; its result is the resource."""

    def run(self, mgr: Any) -> Any:
        return mgr.setup()


def resource_cleanup_trigger(upstream_states: Mapping[Any, State]) -> bool:
    """Run once every upstream task finished; skip when the resource was never set up."""
    setup = [s for edge, s in upstream_states.items() if getattr(edge, "key", None) == "resource"]
    if any(not s.is_finished() for s in upstream_states.values()):
        return False
    if not setup or not all(s.is_successful() and not s.is_skipped() for s in setup):
        raise SKIP("the resource was not set up, so there is nothing to clean up")
    return True


class ResourceCleanupTask(Task):
    """Calls ``cleanup(resource)``; see :func:`resource_cleanup_trigger`."""

    is_resource_cleanup = True

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trigger", resource_cleanup_trigger)
        kwargs.setdefault("skip_on_upstream_skip", False)
        super().__init__(**kwargs)

    def run(self, mgr: Any, resource: Any) -> None:
        mgr.cleanup(resource)


class ResourceContext:
    """The ``with`` block of one use of a resource manager in a flow."""

    def __init__(self, init: Task, setup: Task, cleanup: Task, flow: Flow) -> None:
        self.init_task = init
        self.setup_task = setup
        self.cleanup_task = cleanup
        self.flow = flow
        self._before: set[Task] = set()

    def __enter__(self) -> Task:
        self._before = self.flow.tasks
        return self.setup_task

    def __exit__(self, *exc: object) -> None:
        flow = self.flow
        own = {self.init_task, self.setup_task, self.cleanup_task}
        block = {t for t in flow.tasks - self._before - own if not isinstance(t, Parameter)}
        for t in block:
            if not (flow.upstream_tasks(t) & block):
                flow.add_edge(self.setup_task, t)
            if not (flow.downstream_tasks(t) & block):
                flow.add_edge(t, self.cleanup_task)


class ResourceManager:
    """A class with ``setup()``/``cleanup(resource)``, made usable as ``with Cls(...) as r:`` in
    a flow (see the module docstring). Usually made by :func:`resource_manager`."""

    def __init__(
        self,
        resource_class: type,
        name: str | None = None,
        init_task_kwargs: dict[str, Any] | None = None,
        setup_task_kwargs: dict[str, Any] | None = None,
        cleanup_task_kwargs: dict[str, Any] | None = None,
    ) -> None:
        for method in ("setup", "cleanup"):
            if not callable(getattr(resource_class, method, None)):
                raise FlowDefinitionError(
                    f"resource manager {resource_class.__name__!r} needs a {method}() method "
                    "(setup() returns the resource, cleanup(resource) releases it)"
                )
        self.resource_class = resource_class
        self.name = name or resource_class.__name__
        self.init_task_kwargs = dict(init_task_kwargs or {})
        self.setup_task_kwargs = dict(setup_task_kwargs or {})
        self.cleanup_task_kwargs = dict(cleanup_task_kwargs or {})

    def __call__(self, *args: Any, flow: Flow | None = None, **kwargs: Any) -> ResourceContext:
        flow = flow if flow is not None else active_flow.get()
        if flow is None:
            raise FlowDefinitionError(
                f"resource manager {self.name!r} was used outside a `with Flow(...)` block; use "
                f"`with {self.name}(...) as resource:` inside the flow, or pass flow=..."
            )
        init = ResourceInitTask(self.resource_class, **{"name": self.name, **self.init_task_kwargs})
        init.bind(*args, flow=flow, **kwargs)
        setup = ResourceSetupTask(**{"name": f"{self.name}.setup", **self.setup_task_kwargs})
        setup.bind(mgr=init, flow=flow)
        cleanup = ResourceCleanupTask(
            **{"name": f"{self.name}.cleanup", **self.cleanup_task_kwargs}
        )
        cleanup.bind(mgr=init, resource=setup, flow=flow)
        return ResourceContext(init, setup, cleanup, flow)

    def __repr__(self) -> str:
        return f"<ResourceManager: {self.name}>"


def resource_manager(
    resource_class: type | None = None,
    *,
    name: str | None = None,
    init_task_kwargs: dict[str, Any] | None = None,
    setup_task_kwargs: dict[str, Any] | None = None,
    cleanup_task_kwargs: dict[str, Any] | None = None,
) -> Any:
    """Decorate a class with ``setup()``/``cleanup(resource)`` as a :class:`ResourceManager`;
    ``@resource_manager`` or ``@resource_manager(name=..., setup_task_kwargs=...)``."""

    def make(cls: type) -> ResourceManager:
        return ResourceManager(
            cls,
            name=name,
            init_task_kwargs=init_task_kwargs,
            setup_task_kwargs=setup_task_kwargs,
            cleanup_task_kwargs=cleanup_task_kwargs,
        )

    return make if resource_class is None else make(resource_class)
