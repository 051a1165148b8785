"""Finding handlers: the plugin manager, discovery, and the cached dispatch table.

Building the registry is the slow part (pluggy, hookspec validation, scanning
installed distributions for the ``orchestra`` entry-point group), so it is done
once and the result — which functions to call for each hook, in pluggy's call
order — is cached as JSON under ``<root>/cache/``. The hot path then imports only
the handler modules the event needs. The cache is rebuilt when its fingerprint
changes: the interpreter, the plugin environment variables, the config file, the
files of the cached handler modules, and the folders that hold installed packages —
those on ``sys.path`` when the table was built (installing or removing a package
changes their mtime), and any folder on this process's ``sys.path`` that was not
there then. The registered hook command starts without ``site`` (:mod:`hooks.boot`),
so its ``sys.path`` is a part of that list: it shares the cache with ``python -m
hooks.dispatch`` and the console scripts, and a table is always built with ``site``
loaded, so that it sees every installed plugin. A plugin that fails to
load (import error, misspelled hook name...) is left out, shown by ``python -m
plugins list`` and written to the dispatch log each time the table is rebuilt.

Environment (also documented in the README):

* ``ORCHESTRA_LOAD_PLUGINS`` — comma-separated allow-list of third-party plugins;
  set but empty loads none. Unset loads every installed one.
* ``ORCHESTRA_DISABLED_PLUGINS`` — comma-separated block-list (built-in or
  third-party), added to ``plugins.disabled`` from the config.
* ``ORCHESTRA_NO_CACHE=1`` — build the registry on every call (debugging).
"""

from __future__ import annotations

import os
import sys

from hooks import GUARD_ATTR, NAME, NEEDS_ATTR, TOOLS_ATTR
from state.process import OWN_PACKAGES, search_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

__all__ = ["TOOL_EVENTS", "WAIT_EVENTS", "Call", "DispatchTable", "build_table", "load_table"]

ENV_LOAD = "ORCHESTRA_LOAD_PLUGINS"
ENV_DISABLED = "ORCHESTRA_DISABLED_PLUGINS"
ENV_NO_CACHE = "ORCHESTRA_NO_CACHE"
_CACHE_FORMAT = 4  # 2: calls carry their tools filter; 3: the folders; 4: their needs

#: Events about one tool call: their matcher in Claude Code's settings is the tool name.
TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure",
                         "PermissionRequest", "PermissionDenied"})
#: Events that may start a wait for a person (``on_needs_attention``; hooks.specs).
WAIT_EVENTS = frozenset({"Notification", "PermissionRequest", "Elicitation"})
#: Hooks called for every event, whose implementations may say which they need.
EVERY_EVENT_HOOKS = ("on_event", "after_dispatch")


class Call:
    """One handler function to call for one hook."""

    __slots__ = ("args", "attr", "function", "guard", "needs", "plugin", "ref", "tools")

    def __init__(self, plugin: str, ref: str | None, attr: str, guard: bool,
                 args: tuple[str, ...], function: Any = None,
                 tools: tuple[str, ...] | None = None,
                 needs: tuple[str, ...] | None = None) -> None:
        self.plugin = plugin
        self.ref = ref  # "pkg.module" or "pkg.module:object"; None if not importable by name
        self.attr = attr
        self.guard = guard
        self.args = args
        self.function = function
        self.tools = tools  # only for events about these tools (hookimpl(tools=...))
        self.needs = needs  # every-event hooks: the events it needs sent (None: all)

    @property
    def builtin(self) -> bool:
        """True for Orchestra's own handlers (their modules need no ``site``)."""
        return self.ref is not None and self.ref.partition(".")[0] in OWN_PACKAGES

    def wants(self, tool_name: str | None) -> bool:
        """False if a tools filter leaves this call out for an event about ``tool_name``."""
        return self.tools is None or tool_name in self.tools

    def resolve(self) -> Any:
        """The callable, importing its module on first use."""
        if self.function is None:
            if self.ref is None:
                raise LookupError(f"handler {self.plugin}.{self.attr} cannot be resolved")
            module_name, _, obj_path = self.ref.partition(":")
            if not self.builtin:
                from hooks.boot import full_site

                full_site()  # a plugin finds its packages as in a normal start
            __import__(module_name)
            target: Any = sys.modules[module_name]
            for part in obj_path.split(".") if obj_path else ():
                target = getattr(target, part)
            self.function = getattr(target, self.attr)
        return self.function

    def to_json(self) -> list[Any]:
        tools = None if self.tools is None else list(self.tools)
        needs = None if self.needs is None else list(self.needs)
        return [self.plugin, self.ref, self.attr, self.guard, list(self.args), tools, needs]


def _hooks_for(event: str) -> tuple[str, ...]:
    """The hooks that can be called for ``event``, besides ``on_state_change``."""
    from hooks.events import SPEC_NAMES

    spec = SPEC_NAMES.get(event)
    hooks = (*EVERY_EVENT_HOOKS, *(("on_needs_attention",) if event in WAIT_EVENTS else ()))
    return hooks if spec is None else (spec, *hooks)


def _needs(hook: str, call: Call, event: str) -> bool:
    """Whether ``call`` of ``hook`` needs ``event`` sent (before its tools filter)."""
    return hook not in EVERY_EVENT_HOOKS or call.needs is None or event in call.needs


class DispatchTable:
    """Hook name -> calls in call order, plus the plugin report."""

    def __init__(self, calls: dict[str, list[Call]], plugins: list[dict[str, Any]],
                 cacheable: bool, raw: dict[str, list[list[Any]]] | None = None) -> None:
        self._calls = calls
        #: Hook -> its calls as cached (JSON lists), made into :class:`Call` objects on
        #: first use: an event asks for three or four hooks of the table's dozen.
        self._raw = raw if raw is not None else {}
        self.plugins = plugins
        self.cacheable = cacheable

    @property
    def calls(self) -> dict[str, list[Call]]:
        """Hook name -> calls in call order (every hook)."""
        for hook in list(self._raw):
            self.calls_for(hook)
        return self._calls

    def calls_for(self, hook: str) -> list[Call]:
        found = self._calls.get(hook)
        if found is None:
            entries = self._raw.pop(hook, None)
            if entries is None:
                return []
            found = self._calls[hook] = [
                Call(p, r, a, g, tuple(args), None, None if tools is None else tuple(tools),
                     None if needs is None else tuple(needs))
                for p, r, a, g, args, tools, needs in entries]
        return found

    def plugin_names(self) -> list[str]:
        """Every plugin with a handler in the table."""
        return sorted({call.plugin for calls in self.calls.values() for call in calls})

    def wanted(self, event: str, tool: str | None, off: set[str] | frozenset[str] = frozenset()
               ) -> bool:
        """True if a handler of a plugin not in ``off`` needs this event (about ``tool``):
        else the dispatcher leaves it at once (the plugin's hooks.json registers them all)."""
        for hook in _hooks_for(event):
            for call in self.calls_for(hook):
                if call.plugin not in off and call.wants(tool) and _needs(hook, call, event):
                    return True
        return False

    def registration(self, events: Iterable[str]) -> dict[str, tuple[str, ...] | None]:
        """Which of ``events`` some handler needs, each with the tools its matcher names
        (None: every tool, or an event about no tool): what ``orchestra install`` registers.
        """
        out: dict[str, tuple[str, ...] | None] = {}
        for event in events:
            tools: set[str] | None = set()
            needed = False
            for hook in _hooks_for(event):
                for call in self.calls_for(hook):
                    if not _needs(hook, call, event):
                        continue
                    if call.tools is None:
                        needed, tools = True, None
                    elif event in TOOL_EVENTS:  # (a filter on any other event: never called)
                        needed = True
                        if tools is not None:
                            tools.update(call.tools)
            if needed:
                out[event] = None if tools is None else tuple(sorted(tools))
        return out


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _config_path(home: str) -> str:
    return os.path.join(home, "config.json")


def _disabled(home: str) -> set[str]:
    from state.jsontext import loads

    names = set(_split(os.environ.get(ENV_DISABLED)))
    try:
        with open(_config_path(home), "rb") as fh:
            config = loads(fh.read())
        names.update(n for n in config.get("plugins", {}).get("disabled", []) if isinstance(n, str))
    except (OSError, ValueError, AttributeError, TypeError):  # a hand-edited config: ignored
        pass
    return names


def fingerprint(home: str) -> str:
    """What the table depends on besides the folders (:func:`folder_stamps`)."""
    parts = [sys.executable, sys.version, str(_CACHE_FORMAT),
             "load=" + str(os.environ.get(ENV_LOAD)), "off=" + os.environ.get(ENV_DISABLED, "")]
    path = _config_path(home)
    try:
        parts.append(f"{path}@{os.stat(path).st_mtime_ns}")
    except OSError:
        parts.append(f"{path}@-")
    return "\n".join(parts)


def folder_stamps(folders: Iterable[str]) -> dict[str, int | None]:
    """Each folder's mtime (None when it does not exist)."""
    stamps: dict[str, int | None] = {}
    for folder in folders:
        try:
            stamps[folder] = os.stat(folder).st_mtime_ns
        except OSError:
            stamps[folder] = None
    return stamps


def _cache_file(home: str) -> str:
    # One cache per interpreter. FNV-1a rather than hashlib, whose import (OpenSSL) would
    # cost more than the rest of the cache lookup on every event.
    tag = 0xCBF29CE484222325
    for byte in sys.executable.encode("utf-8", "replace"):
        tag = ((tag ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return os.path.join(home, "cache", f"dispatch-{tag:016x}.json")


def load_table(home: str) -> DispatchTable:
    """The dispatch table from the cache when still valid, else built and cached."""
    if os.environ.get(ENV_NO_CACHE):
        return build_table(home)
    path = _cache_file(home)
    stamp = fingerprint(home)
    cached = _read_cache(path, stamp)
    if cached is not None:
        return cached
    table = build_table(home)
    _log_load_errors(home, table)
    if table.cacheable:
        _write_cache(path, stamp, table, folder_stamps(search_path()))
    return table


def _log_load_errors(home: str, table: DispatchTable) -> None:
    """Say in the dispatch log (once per rebuild) which plugins failed to load."""
    failed = [p for p in table.plugins if p.get("status") == "error"]
    if failed:
        from hooks.log import DispatchLog

        log = DispatchLog(home)
        for entry in failed:
            log.error(f"plugin {entry['name']} was not loaded: {entry.get('error')} "
                      "(see `python -m plugins list`)")


def _read_cache(path: str, stamp: str) -> DispatchTable | None:
    from state.jsontext import loads

    try:
        if os.path.islink(os.path.dirname(path)):
            return None  # a symlinked cache folder leads outside the state root
        with open(path, "rb") as fh:
            data = loads(fh.read())
        if data.get("fingerprint") != stamp:
            return None
        folders = data["folders"]
        if any(folder not in folders for folder in search_path()):
            return None  # a folder the table was not built with (PYTHONPATH, ...)
        if folder_stamps(folders) != folders:
            return None  # a package was installed or removed
        for file, mtime in data["files"].items():
            if os.stat(file).st_mtime_ns != mtime:
                return None
        raw = data["calls"]
        for entries in raw.values():  # the shape Call objects are made from (calls_for)
            for entry in entries:
                if (len(entry) != 7 or not isinstance(entry[4], list)
                        or not all(x is None or isinstance(x, list) for x in entry[5:])):
                    return None
        return DispatchTable({}, data["plugins"], cacheable=True, raw=raw)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing, stale or damaged (even "[]"): rebuild it


def _module_file(name: str) -> str | None:
    module = sys.modules.get(name)
    if module is not None:
        return getattr(module, "__file__", None)
    try:  # a plugin that failed to import: watch its file too, so that fixing it is seen
        import importlib.util

        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.has_location else None


def _write_cache(path: str, stamp: str, table: DispatchTable,
                 folders: dict[str, int | None]) -> None:
    # Every plugin module, loaded or not: editing one changes no sys.path folder's mtime.
    names = {(call.ref or "").partition(":")[0] for calls in table.calls.values() for call in calls}
    names.update(str(p["module"]).partition(":")[0] for p in table.plugins if p.get("module"))
    import contextlib  # the slow path: the hot one reads the cache only

    files: dict[str, int] = {}
    for name in sorted(n for n in names if n):
        file = _module_file(name)
        if file:
            with contextlib.suppress(OSError):
                files[file] = os.stat(file).st_mtime_ns
    data = {"format": _CACHE_FORMAT, "fingerprint": stamp, "folders": folders,
            "files": files, "plugins": table.plugins,
            "calls": {hook: [c.to_json() for c in calls] for hook, calls in table.calls.items()}}
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        from state.paths import make_private_dirs

        make_private_dirs(os.path.dirname(path))  # the state root too, if this makes it
        if os.path.islink(os.path.dirname(path)):
            return  # nor through a symlinked cache folder
        # Private, never through a symlink: the table says which modules get imported.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        from state.jsontext import dumps

        with os.fdopen(os.open(tmp, flags, 0o600), "w", encoding="utf-8") as fh:
            fh.write(dumps(data))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


# -- building (slow path) -------------------------------------------------------------


def build_table(home: str, extra_plugins: Iterable[Any] = ()) -> DispatchTable:
    """Register built-ins, entry-point plugins and ``extra_plugins``; compute call order."""
    from hooks.boot import full_site

    full_site()  # pluggy, and every installed plugin's entry point
    pm, plugins, refs = build_plugin_manager(home, extra_plugins)
    calls: dict[str, list[Call]] = {}
    cacheable = True
    config: dict[str, Any] | None = None
    for hook_name in _hook_names(pm):
        caller = getattr(pm.hook, hook_name)
        entries = []
        for impl in reversed(caller.get_hookimpls()):  # pluggy calls them last-to-first
            ref = refs.get(impl.plugin_name)
            attr = _attribute_name(impl.plugin, impl.function)
            if ref is None or attr is None:
                cacheable = False
            tools = getattr(impl.function, TOOLS_ATTR, None)
            needs = getattr(impl.function, NEEDS_ATTR, None)
            if callable(needs):  # a function of the config (hookimpl(needs=...))
                if config is None:
                    config = _config_with_defaults(home)
                try:
                    needs = needs(config)
                except Exception:  # a broken function: every event, as without it
                    needs = None
            entries.append(Call(impl.plugin_name, ref, attr or impl.function.__name__,
                                bool(getattr(impl.function, GUARD_ATTR, False)),
                                tuple(impl.argnames), impl.function,
                                tuple(tools) if isinstance(tools, tuple | list) else None,
                                None if needs is None else tuple(str(e) for e in needs)))
        if entries:
            calls[hook_name] = entries
    return DispatchTable(calls, plugins, cacheable)


def _config_with_defaults(home: str) -> dict[str, Any]:
    from state.config import with_defaults
    from state.jsontext import loads

    try:
        with open(_config_path(home), "rb") as fh:
            stored = loads(fh.read())
    except (OSError, ValueError):
        stored = {}
    return with_defaults(stored if isinstance(stored, dict) else {})


def _hook_names(pm: Any) -> list[str]:
    return sorted(name for name in dir(pm.hook) if name.startswith(("on_", "after_")))


def _attribute_name(plugin: Any, function: Any) -> str | None:
    name = getattr(function, "__name__", None)
    if name and (getattr(plugin, name, None) is function
                 or getattr(getattr(plugin, name, None), "__func__", None) is function):
        return name
    for candidate in dir(plugin):
        value = getattr(plugin, candidate, None)
        if value is function or getattr(value, "__func__", None) is function:
            return candidate
    return None


def build_plugin_manager(
    home: str, extra_plugins: Iterable[Any] = ()
) -> tuple[Any, list[dict[str, Any]], dict[str, str]]:
    """(plugin manager, plugin report, plugin name -> importable reference)."""
    import importlib

    import pluggy

    from handlers import BUILTIN_HANDLERS
    from hooks import specs

    pm = pluggy.PluginManager(NAME)
    pm.add_hookspecs(specs)
    disabled = _disabled(home)
    report: list[dict[str, Any]] = []
    refs: dict[str, str] = {}
    version = _orchestra_version()

    for module_name in BUILTIN_HANDLERS:
        short = module_name.rsplit(".", 1)[-1]
        entry = {"name": short, "source": "builtin", "module": module_name, "version": version}
        report.append(entry)
        if short in disabled:
            entry["status"] = "disabled"
            continue
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            entry.update(status="error", error=f"{type(exc).__name__}: {exc}")
            continue
        if _register(pm, module, short, entry):
            refs[short] = module_name

    allowed = None if os.environ.get(ENV_LOAD) is None else set(_split(os.environ.get(ENV_LOAD)))
    for ep in _entry_points():
        entry = {"name": ep.name, "source": "entry point", "module": ep.value,
                 "version": _dist_version(ep)}
        report.append(entry)
        if allowed is not None and ep.name not in allowed:
            entry["status"] = f"not loaded ({ENV_LOAD} does not list it)"
            continue
        if ep.name in disabled:
            entry["status"] = "disabled"
            continue
        if pm.has_plugin(ep.name):
            entry.update(status="error", error=f"name {ep.name!r} is already taken")
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must not stop the others
            entry.update(status="error", error=f"{type(exc).__name__}: {exc}")
            continue
        if _register(pm, plugin, ep.name, entry):
            refs[ep.name] = ep.value

    for index, plugin in enumerate(extra_plugins):
        name = getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{index}"
        entry = {"name": name, "source": "extra", "module": None, "version": None}
        report.append(entry)
        if name in disabled:
            entry["status"] = "disabled"
            continue
        _register(pm, plugin, name, entry)
    return pm, report, refs


def _register(pm: Any, plugin: Any, name: str, entry: dict[str, Any]) -> bool:
    """Register ``plugin``; on a validation error unregister it and report why."""
    from pluggy import PluginValidationError

    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except PluginValidationError as exc:
        if pm.has_plugin(name):
            pm.unregister(name=name)
        message = str(exc)
        if "unknown hook" in message:
            message += " (misspelled hook name?)"
        entry.update(status="error", error=message)
        return False
    except Exception as exc:
        entry.update(status="error", error=f"{type(exc).__name__}: {exc}")
        return False
    entry["status"] = "loaded"
    entry["hooks"] = sorted(c.name for c in pm.get_hookcallers(plugin) or [])
    return True


def _entry_points() -> list[Any]:
    from importlib.metadata import distributions

    seen: set[str] = set()
    found = []
    for dist in distributions(path=search_path()):
        for ep in dist.entry_points:
            if ep.group == NAME and ep.name not in seen:
                seen.add(ep.name)
                found.append(ep)
    return found


def _dist_version(ep: Any) -> str | None:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "version", None)


def _orchestra_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("orchestra")
    except Exception:
        return None
