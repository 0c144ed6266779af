"""The direction of dependencies between our packages (docs/architecture.md, "Dependencies"), read
from the source with `ast`: every import, at module level or inside a function, of every .py file
of our packages outside migrations and tests.

Lower layers never import higher ones. A failure names the file, the line and the import.
"""

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The layers are the diagram in docs/architecture.md, read from there so that the picture and the
# rule cannot drift apart: an arrow is "imports", solid for an import that exists, dotted for a package
# with nothing in it yet; a package may import whatever its arrows lead to, however far down.
DIAGRAM = re.search(r"```mermaid\n(.*?)```", (ROOT / "docs/architecture.md").read_text(), re.DOTALL)
assert DIAGRAM, "docs/architecture.md has lost its dependency diagram"
ARROWS = re.findall(r"^\s*(\w+) (-->|-\.->) (\w+)$", DIAGRAM.group(1), re.MULTILINE)
DRAWN = {(importer, imported) for importer, arrow, imported in ARROWS if arrow == "-->"}


def _below(package: str) -> set[str]:
    reached: set[str] = set()
    todo = [package]
    while todo:
        current = todo.pop()
        for importer, _, imported in ARROWS:
            if importer == current and imported not in reached:
                reached.add(imported)
                todo.append(imported)
    return reached


# What each package may import of ours besides itself. `config` is the project (settings, URLs, ASGI)
# at the bottom of the diagram: every package that reaches core may read its settings.
ALLOWED = {package: _below(package) for arrow in ARROWS for package in arrow[::2] if package != "config"}
# Ours too, but above every layer: nothing in a layer imports them.
TOP = {"config", "tests", "bench", "scripts"}
OURS = set(ALLOWED) | TOP

# Only mediaserver speaks ARI: its ARI modules are imported by mediaserver itself, by voice's ARI
# worker, call control (which run TwiML over it) and supervisors' monitors, and by the SIP MESSAGE
# carrier, which sends texts through mediaserver's client (the issue: one media-server package voice
# and messaging use).
ARI_MODULE = "mediaserver.ari"


def _speaks_ari(module: str) -> bool:
    return module.split(".")[0] == "mediaserver" or module in {
        "voice.worker",
        "voice.ari_control",
        "voice.ari_monitor",
        "messaging.carriers.sip",
    }


# Literals that address Asterisk: ARI's URLs, PJSIP endpoint strings and the media URIs it plays,
# built only in mediaserver.
ASTERISK_LITERALS = ("/ari/", "PJSIP/", "pjsip:", "sound:")

# A function-level import of our own packages is a cycle dodged (import it at module level, or turn
# the dependency around) or a layer crossed in hiding, except in an app's `apps.py` importing its own
# modules in `AppConfig.ready`: Django's place for registering signal receivers and extensions.


def _is_ready_hook(importer: str, imported: str) -> bool:
    """An app config's `ready` importing its own app's modules (`contactcenter.taskrouter.apps` those
    of `contactcenter.taskrouter`, or of its parent package)."""
    package, _, module = importer.rpartition(".")
    return module == "apps" and imported.split(".")[0] == package.split(".")[0]


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    importer: str  # the importing module, dotted
    imported: str  # the module imported, dotted (a name imported from a package counts as its module)
    in_function: bool

    def __str__(self) -> str:
        where = "inside a function" if self.in_function else "at module level"
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.importer} imports {self.imported} ({where})"


def _sources() -> Iterator[Path]:
    for package in ALLOWED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                yield path


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(source: str, filename: str) -> Iterator[tuple[ast.AST, bool]]:
    """Every import statement of the source, and whether it sits inside a function."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.AST, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from walk(child, nested)

    yield from walk(ast.parse(source, filename), False)


def all_imports() -> list[Import]:
    found = []
    for path in _sources():
        importer = _module(path)
        for node, in_function in _imports(path.read_text(), str(path)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                assert isinstance(node, ast.ImportFrom)
                module = _absolute(node, importer, path.name == "__init__.py")
                # `from mediaserver import ari` imports mediaserver.ari: count the submodule too.
                names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            found += [
                Import(path, node.lineno, importer, name, in_function)  # type: ignore[attr-defined]
                for name in names
                if name.split(".")[0] in OURS
            ]
    return found


IMPORTS = all_imports()


def _package(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    crossing = [
        str(i)
        for i in IMPORTS
        if _package(i.importer) == package and _package(i.imported) not in {package, *ALLOWED[package]}
    ]
    assert not crossing, f"{package} may import only {sorted(ALLOWED[package])}:\n" + "\n".join(crossing)


def test_every_solid_arrow_of_the_diagram_is_an_import() -> None:
    """The picture shows the imports there are, not only the ones allowed."""
    made = {(_package(i.importer), _package(i.imported)) for i in IMPORTS}
    assert DRAWN - made == set(), "draw these arrows dotted, or remove them"


def test_every_package_of_ours_is_in_the_diagram() -> None:
    """A new app is placed in the layers before it is used, or no rule would see it."""
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert packages - set(ALLOWED) - TOP == set(), "draw these in docs/architecture.md's diagram"


def test_only_mediaserver_and_its_callers_on_the_call_path_import_its_ari_modules() -> None:
    crossing = [
        str(i)
        for i in IMPORTS
        if (i.imported == ARI_MODULE or i.imported.startswith(ARI_MODULE + "."))
        and not _speaks_ari(i.importer)
    ]
    assert not crossing, "\n".join(crossing)


def test_ari_and_asterisk_code_lives_in_mediaserver() -> None:
    left = [str(p.relative_to(ROOT)) for p in (ROOT / "voice/ari", ROOT / "voice/asterisk") if p.exists()]
    assert not left, f"move into mediaserver/: {left}"
    moved = (["voice", "ari"], ["voice", "asterisk"])  # the packages, not voice.ari_control
    stale = [str(i) for i in IMPORTS if i.imported.split(".")[:2] in moved]
    assert not stale, "\n".join(stale)


def _literals(path: Path) -> Iterator[tuple[int, str]]:
    """The file's string literals and f-string parts, docstrings left out."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_only_mediaserver_addresses_asterisk() -> None:
    """ARI URLs and PJSIP endpoint strings are built in one package."""
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in _sources()
        if _package(_module(path)) != "mediaserver"
        for line, text in _literals(path)
        if any(literal in text for literal in ASTERISK_LITERALS)
    ]
    assert not found, "build these in mediaserver:\n" + "\n".join(found)


def test_no_function_level_import_of_our_packages_dodges_a_cycle() -> None:
    hidden = [
        str(i)
        for i in IMPORTS
        if i.in_function
        and not _is_ready_hook(i.importer, i.imported)
    ]
    assert not hidden, "import at module level, or turn the dependency around:\n" + "\n".join(hidden)


def test_the_dependency_reader_sees_imports_at_every_level() -> None:
    """The rules above are only as good as this reader."""
    source = (
        "import voice.models\n"
        "class A:\n"
        "    def f(self):\n"
        "        from conversations import services\n"
        "async def g():\n"
        "    if True:\n"
        "        import messaging.tasks\n"
    )
    found = [(type(node).__name__, in_function) for node, in_function in _imports(source, "x.py")]
    assert found == [("Import", False), ("ImportFrom", True), ("Import", True)]
    assert any(
        i.importer == "core.paging" and i.imported == "core.errors" and not i.in_function for i in IMPORTS
    )
    relative = ast.parse("from .models import Call\nfrom .. import x").body
    assert [_absolute(node, "voice.api.views", False) for node in relative] == ["voice.api.models", "voice"]
