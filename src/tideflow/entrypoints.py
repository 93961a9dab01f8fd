"""Loading a flow from a reference such as ``path/to/file.py:flow`` or ``package.module:flow``.

The part before the last ``:`` is a Python file (when it ends in ``.py`` or contains a path
separator) or an importable module; the part after it names the flow object. Without ``:name``
the module must hold exactly one :class:`~tideflow.Flow`. A file's directory is put first on
``sys.path`` while it loads, so the file can import its neighbours, as ``python file.py`` would.
Every failure raises :class:`~tideflow.errors.FlowLoadError` with a one-line explanation.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tideflow.errors import FlowLoadError
from tideflow.flow import Flow


def split_ref(ref: str) -> tuple[str, str | None]:
    """``("path/or.module", "attr")``; the attribute is ``None`` when not given."""
    where, sep, attr = ref.rpartition(":")
    if not sep or (len(where) == 1 and where.isalpha()):  # no ':' (or a Windows drive letter)
        return ref, None
    if not attr.isidentifier():
        raise FlowLoadError(f"{ref!r}: {attr!r} is not a Python name; use path/to/file.py:flow")
    return where, attr


def is_file_ref(where: str) -> bool:
    """Whether ``where`` (the part of a reference before ``:``) names a file, not a module.

    >>> is_file_ref("flows/etl.py"), is_file_ref("package.module")
    (True, False)
    """
    return where.endswith(".py") or "/" in where or "\\" in where


def load_module(where: str) -> ModuleType:
    """Import a module given as a file path or a dotted module name."""
    if is_file_ref(where):
        return _load_file(Path(where))
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        raise FlowLoadError(
            f"cannot import module {where!r}: {exc}; give a file path (path/to/file.py:flow) or "
            "a module on the Python path"
        ) from None
    except Exception as exc:
        origin = getattr(importlib.util.find_spec(where), "origin", None)
        line = _failing_line(exc, Path(origin)) if origin else ""
        raise FlowLoadError(
            f"importing module {where!r} failed{line}: {type(exc).__name__}: {exc}"
        ) from exc


def _load_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise FlowLoadError(f"no such file: {str(path)!r}")
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"tideflow_user_{resolved.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise FlowLoadError(f"{str(path)!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(resolved.parent))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        line = _failing_line(exc, resolved)
        raise FlowLoadError(
            f"loading {str(path)!r} failed{line}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        sys.path.remove(str(resolved.parent))
    _ship_by_value(module)
    return module


def _ship_by_value(module: ModuleType) -> None:
    """Let cloudpickle send this module's tasks by value: other processes cannot import it."""
    try:
        import cloudpickle
    except ImportError:  # the dask extra is not installed: nothing will be shipped
        return
    cloudpickle.register_pickle_by_value(module)


def _failing_line(exc: BaseException, path: Path) -> str:
    tb, line = exc.__traceback__, None
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and exc.lineno:
        line = exc.lineno
    return f" at line {line}" if line else ""


def load_flow(ref: str) -> Flow:
    """The flow named by ``ref``; see the module docstring."""
    where, attr = split_ref(ref)
    module = load_module(where)
    flows = {k: v for k, v in vars(module).items() if isinstance(v, Flow)}
    if attr is None:
        if len(flows) != 1:
            found = ", ".join(sorted(flows)) or "none"
            raise FlowLoadError(
                f"{where!r} holds {len(flows)} flows ({found}); name one, e.g. {where}:flow"
            )
        return next(iter(flows.values()))
    if not hasattr(module, attr):
        found = ", ".join(sorted(flows)) or "none"
        raise FlowLoadError(f"{where!r} has no flow named {attr!r}; flows in it: {found}")
    obj = getattr(module, attr)
    if not isinstance(obj, Flow):
        raise FlowLoadError(f"{where}:{attr} is a {type(obj).__name__}, not a tideflow Flow")
    return obj
