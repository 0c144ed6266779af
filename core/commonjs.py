"""One browser script from an npm package's CommonJS modules, made in Python at run time.

Why: the portal has no JavaScript build step (htmx is served straight from node_modules), but JsSIP
3.13 ships only CommonJS (`lib/*.js` calling `require`), no browser build. This follows `require`
from the package's entry through relative paths and other packages in node_modules (a package.json's
`browser` entry wins over `main`, as bundlers do), wraps each module in a function and adds a
small loader. Node built-ins (`util`, `tty`) are reached only on Node code paths; they resolve
to empty modules.
"""

import json
import re
from pathlib import Path

REQUIRE_RE = re.compile(r"""\brequire\(\s*['"]([^'"]+)['"]\s*\)""")
EMPTY_BUILTINS = frozenset({"util", "tty", "os", "fs", "path", "net", "crypto", "supports-color"})

LOADER = """\
(function (modules, entry, global) {
  var cache = {};
  function load(id) {
    if (id === null) return {};
    if (!cache[id]) {
      var module = (cache[id] = { exports: {} });
      modules[id][0].call(module.exports, function (name) { return load(modules[id][1][name]); },
        module, module.exports);
    }
    return cache[id].exports;
  }
  global[%s] = load(entry);
})({%s}, %s, typeof window !== "undefined" ? window : this);
"""


class BundleError(RuntimeError):
    """A module the bundle needs is missing (the npm package is not installed)."""


def bundle(node_modules: Path, package: str, global_name: str) -> str:
    """The script that runs `package` and puts its exports on `window[global_name]`."""
    node_modules = node_modules.resolve()  # a shared node_modules may be a symlink
    modules: dict[str, tuple[str, dict[str, str | None]]] = {}
    entry = _package_entry(node_modules / package)
    pending = [entry]
    while pending:
        path = pending.pop()
        key = str(path.relative_to(node_modules))
        if key in modules:
            continue
        source = path.read_text()
        if path.suffix == ".json":
            modules[key] = (f"module.exports = {source};", {})
            continue
        resolved: dict[str, str | None] = {}
        for name in REQUIRE_RE.findall(source):
            target = _resolve(node_modules, path.parent, name)
            resolved[name] = str(target.relative_to(node_modules)) if target else None
            if target:
                pending.append(target)
        modules[key] = (source, resolved)
    body = ",\n".join(
        f"{json.dumps(key)}: [function (require, module, exports) {{\n{source}\n}}, {json.dumps(deps)}]"
        for key, (source, deps) in sorted(modules.items())
    )
    entry_key = json.dumps(str(entry.relative_to(node_modules)))
    return LOADER % (json.dumps(global_name), body, entry_key)


def _resolve(node_modules: Path, directory: Path, name: str) -> Path | None:
    if name.startswith("."):
        return _file(directory / name) or _fail(name, directory)
    if name in EMPTY_BUILTINS:
        return None
    package, _, inner = name.partition("/") if not name.startswith("@") else (name, "", "")
    root = node_modules / package
    if not root.is_dir():
        _fail(name, directory)
    return _file(root / inner) if inner else _package_entry(root)


def _package_entry(root: Path) -> Path:
    manifest = json.loads((root / "package.json").read_text())
    browser = manifest.get("browser")
    main = browser if isinstance(browser, str) else manifest.get("main", "index.js")
    return _file(root / main) or _fail(main, root)


def _file(path: Path) -> Path | None:
    for candidate in (path, path.with_name(path.name + ".js"), path / "index.js"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _fail(name: str, directory: Path) -> Path:
    raise BundleError(f"cannot find module {name!r} required from {directory}")
