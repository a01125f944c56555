"""The docs name only commands and flags that exist, carry no machine paths and link to real files.

Checks README.md, WORKSPACE.md and whatever docs/*.md exist (docs are added over time; each is
checked once it is there). A command's flags are read from the source with ``ast`` (its DEFINE_*
calls and the define_* functions it calls, through the modules it imports), so nothing here
imports a command or TensorFlow; one test holds that reading against absl itself for every
registered trainer.
"""
import ast
import functools
import pathlib
import re

from absl import flags as absl_flags
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
OURS = ("models", "training", "datasets", "evaluation", "flags")
# Other projects' modules a doc may run with python -m; anything else must be one of our commands.
EXTERNAL_MODULES = {"pytest", "pip", "venv", "tensorboard", "http.server"}
# Flags absl's app.run and logging add to every command.
ABSL_FLAGS = {"flagfile", "undefok", "help", "helpshort", "helpfull", "helpxml", "only_check_args",
              "logtostderr", "alsologtostderr", "log_dir", "verbosity", "v", "stderrthreshold",
              "showprefixforinfo", "logger_levels", "pdb", "pdb_post_mortem", "run_with_pdb"}
# Flags of other tools that prose may quote in `code` (pytest, pip, a headless browser).
EXTERNAL_FLAGS = {"dist", "timeout", "durations", "maxfail", "headless", "screenshot", "upgrade",
                  "quiet", "index", "constraint", "editable", "logdir"}
# Docs written in parallel on other branches: a link to one of them passes while it is absent.
# Once merged they exist, and then they are checked like every other doc.
PENDING_DOCS = set()  # docs linked before they are written (none now)

FLAG = re.compile(r"(?<![\w=-])--([A-Za-z][A-Za-z0-9_]*)(?![\w-])")
COMMAND = re.compile(r"\bpython3? -m ([A-Za-z_][\w.]*)")
QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
SPAN = re.compile(r"(`+)(.+?)\1")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)|<img [^>]*src=\"([^\"]+)\"")
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(work|root|home|Users|tmp)/")


def is_known(flag, known):
    """``flag`` is defined, or is a boolean's --no form."""
    return flag in known or (flag.startswith("no") and flag[2:] in known)


def doc_files():
    return [p for p in (REPO / "README.md", REPO / "WORKSPACE.md") if p.exists()] + sorted(
        (REPO / "docs").glob("*.md"))


def doc_id(path):
    return str(path.relative_to(REPO))


# ---- reading Markdown: code (blocks and spans) apart from prose ---------------------------------

def split_markdown(text):
    """(code_blocks, prose_lines): fenced and indented code blocks as lists of lines, the rest."""
    blocks, prose, block, fenced = [], [], None, False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            if fenced:
                blocks.append(block)
                block, fenced = None, False
            else:
                if block is not None:
                    blocks.append(block)
                block, fenced = [], True
            continue
        if fenced:
            block.append(line)
        elif line.startswith("    ") and (block is not None or not prose or not prose[-1].strip()):
            block = [] if block is None else block
            block.append(line)
        elif block is not None and not line.strip():
            block.append(line)
        else:
            if block is not None:
                blocks.append(block)
                block = None
            prose.append(line)
    if block is not None:
        blocks.append(block)
    return blocks, prose


def logical_lines(block):
    """A code block's commands, continuation lines joined: after a trailing backslash, or more
    indented than the command they continue (the bracketed option lines of a usage block)."""
    lines, indent = [], None
    for line in block:
        if not line.strip():
            indent = None
            continue
        depth = len(line) - len(line.lstrip())
        continues = lines and (lines[-1].endswith("\\") or (
            indent is not None and depth > indent and not COMMAND.search(line)))
        if continues:
            lines[-1] = lines[-1].rstrip("\\") + " " + line.strip()
        else:
            lines.append(line.strip())
            indent = depth
    return lines


def commands_in(code):
    """(module, argument text) of every ``python -m`` in a piece of code, quotes and comments
    dropped, chained commands (&&, ;, a pipe) cut apart."""
    code = QUOTED.sub("", code)
    code = re.sub(r"(^|\s)#.*", "", code)
    found = []
    for part in re.split(r"\s(?:&&|\|\||;|\|)\s", code):
        matches = list(COMMAND.finditer(part))
        for i, m in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(part)
            found.append((m.group(1), part[m.end():end]))
    return found


def code_pieces(text):
    """Every code block's logical lines and every inline code span of the prose."""
    blocks, prose = split_markdown(text)
    pieces = [line for block in blocks for line in logical_lines(block)]
    pieces += [m.group(2) for line in prose for m in SPAN.finditer(line)]
    return pieces, prose


# ---- our commands and their flags, read from the source --------------------------------------------

def module_file(name):
    path = REPO.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def is_command(name):
    """An importable module of ours that runs as ``python -m name``."""
    path = module_file(name)
    if path is None:
        return False
    if path.name == "__init__.py":
        return (path.parent / "__main__.py").is_file()
    return any(_is_main_guard(node) for node in _tree(name).body)


def all_commands():
    return sorted(".".join(p.relative_to(REPO).with_suffix("").parts) for top in OURS
                  for p in (REPO / top).rglob("*.py") if is_command(
                      ".".join(p.relative_to(REPO).with_suffix("").parts)))


@functools.lru_cache(maxsize=None)
def _tree(name):
    return ast.parse(module_file(name).read_text(encoding="utf-8"))


def _is_main_guard(node):
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def _top_statements(name, as_main):
    """What runs when the module is imported (or, as_main, run): no function or class bodies."""
    for node in _tree(name).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if _is_main_guard(node):
            if as_main:
                yield from node.body
            continue
        yield node


@functools.lru_cache(maxsize=None)
def _bindings(name):
    """Names the module binds: ours as ('module', m) or ('attr', m, attr); its own functions as
    ('def', node); module-level constants as ('const', value)."""
    out = {}
    package = name if module_file(name).name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in OURS:
                    out[alias.asname or alias.name.split(".")[0]] = ("module", alias.name if alias.asname
                                                                     else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + [base]).strip(".")
            if base.split(".")[0] not in OURS:
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out[alias.asname or alias.name] = (("module", full) if module_file(full)
                                                   else ("attr", base, alias.name))
    for node in _tree(name).body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = ("def", node)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ("const", ast.literal_eval(node.value))
            except ValueError:
                pass
    return out


def _value(node, module, env):
    """A string (or tuple of strings) the source spells out, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        bound = _bindings(module).get(node.id)
        return bound[1] if bound and bound[0] == "const" else None
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_value(e, module, env) for e in node.elts)
    if isinstance(node, ast.JoinedStr):
        parts = [_value(v.value if isinstance(v, ast.FormattedValue) else v, module, env)
                 for v in node.values]
        return "".join(parts) if all(isinstance(p, str) for p in parts) else None
    return None


def _function(module, node):
    """(module, FunctionDef) that a call's ``func`` names, following our imports."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        bound = _bindings(module).get(node.value.id)
        if bound and bound[0] == "module":
            return _function_named(bound[1], node.attr)
    elif isinstance(node, ast.Name):
        return _function_named(module, node.id)
    return None


def _function_named(module, name, depth=0):
    bound = _bindings(module).get(name)
    if bound is None or depth > 5:
        return None
    if bound[0] == "def":
        return module, bound[1]
    if bound[0] == "attr":
        return _function_named(bound[1], bound[2], depth + 1)
    return None


def _defined(nodes, module, env, seen):
    """Flag names defined by running ``nodes`` of ``module``."""
    names = set()
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name):
            values = _value(node.iter, module, env)
            if isinstance(values, tuple):
                for v in values:
                    names |= _defined(node.body, module, {**env, node.target.id: v}, seen)
                continue
        if isinstance(node, ast.Call):
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if func.startswith("DEFINE"):
                first = node.args[0] if node.args else next(
                    (k.value for k in node.keywords if k.arg == "name"), None)
                if func == "DEFINE_flag" and isinstance(first, ast.Call) and first.args:
                    first = first.args[0]
                name = _value(first, module, env) if first is not None else None
                assert isinstance(name, str), f"{module}:{node.lineno}: a flag name the test cannot read"
                names.add(name)
            elif func.startswith("define_"):
                target = _function(module, node.func)
                if target and (target[0], target[1].name) not in seen:
                    names |= _defined(target[1].body, target[0], {}, seen | {(target[0], target[1].name)})
        names |= _defined(list(ast.iter_child_nodes(node)), module, env, seen)
    return names


@functools.lru_cache(maxsize=None)
def _module_flags(name, as_main):
    statements = list(_top_statements(name, as_main))
    names = _defined(statements, name, {}, frozenset())
    for node in statements:
        for sub in ast.walk(node):
            targets = []
            if isinstance(sub, ast.Import):
                targets = [a.name for a in sub.names]
            elif isinstance(sub, ast.ImportFrom) and sub.level == 0 and sub.module:
                targets = [sub.module] + [f"{sub.module}.{a.name}" for a in sub.names]
            for target in targets:
                if target.split(".")[0] in OURS and module_file(target) and target != name:
                    names |= _module_flags(target, False)
    return frozenset(names)


def command_flags(name):
    """The flags ``python -m name`` accepts."""
    return _module_flags(name, True) | ABSL_FLAGS


# ---- the tests ----------------------------------------------------------------------------------------

DOCS = doc_files()


def test_there_are_docs_to_check():
    assert (REPO / "README.md") in DOCS and len(DOCS) >= 2


def test_the_flag_reader_agrees_with_absl():
    """For every registered trainer, the flags read from the source are exactly those absl gets
    from the trainer's define function (TF-free)."""
    import importlib

    from training import registry

    for trainer in registry.TRAINERS.values():
        fv = absl_flags.FlagValues()
        getattr(importlib.import_module(f"flags.{trainer.name}"), f"define_{trainer.name}_flags")(fv)
        read = _module_flags(trainer.command, True)
        assert read == set(fv), (trainer.command, read ^ set(fv))
    assert _module_flags("evaluation.fcn", True) == _module_flags("training.fcn", True)  # the alias
    reproduce = _module_flags("evaluation.reproduce", True)
    assert {"table", "preset", "cycle_flags", "fcn_flags", "table_flags"} <= reproduce
    assert {"conditions_per_reference", "inception_weights", "runs"} <= _module_flags("evaluation.table83", True)


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_commands_and_their_flags_exist(doc):
    pieces, _ = code_pieces(doc.read_text(encoding="utf-8"))
    problems = []
    for piece in pieces:
        for module, args in commands_in(piece):
            if module.split(".")[0] not in OURS:
                if module not in EXTERNAL_MODULES:
                    problems.append(f"python -m {module}: not one of our commands")
                continue
            if not is_command(module):
                problems.append(f"python -m {module}: no such module with a __main__ guard")
                continue
            known = command_flags(module)
            for flag in FLAG.findall(args):
                if not is_known(flag, known):
                    problems.append(f"python -m {module} ... --{flag}: not a flag of {module}")
    assert not problems, "\n".join(sorted(set(problems)))


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_flags_quoted_in_prose_exist(doc):
    """A `--flag` in running text (no command beside it) is a flag of at least one command."""
    known = set(EXTERNAL_FLAGS) | ABSL_FLAGS
    for command in all_commands():
        known |= command_flags(command)
    _, prose = code_pieces(doc.read_text(encoding="utf-8"))
    spans = [m.group(2) for line in prose for m in SPAN.finditer(line)]
    unknown = {f for span in spans if not COMMAND.search(span)
               for f in FLAG.findall(QUOTED.sub("", span)) if not is_known(f, known)}
    assert not unknown, f"flags no command defines: {sorted(unknown)}"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_no_machine_paths(doc):
    """No absolute path of a particular machine; /tmp/ only inside example commands."""
    pieces, prose = code_pieces(doc.read_text(encoding="utf-8"))
    prose_text = SPAN.sub("", "\n".join(prose))
    found = [m.group(0) for m in MACHINE_PATH.finditer(prose_text)]
    found += [m.group(0) for piece in pieces for m in MACHINE_PATH.finditer(piece) if m.group(1) != "tmp"]
    assert not found, f"machine paths: {found}"


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_relative_links_point_to_files(doc):
    _, prose = code_pieces(doc.read_text(encoding="utf-8"))
    broken = []
    for line in prose:
        for m in LINK.finditer(SPAN.sub("", line)):
            target = (m.group(1) or m.group(2)).split("#")[0]
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # an anchor in this file, or a URL
            path = (doc.parent / target).resolve()
            if path.is_relative_to(REPO) and path.exists():
                continue
            if path.parent == REPO / "docs" and path.name in PENDING_DOCS:
                continue
            broken.append(target)
    assert not broken, f"links to missing files: {broken}"


def expand_braces(text):
    """``a/{b,c}.py`` -> ``a/b.py``, ``a/c.py`` (nested braces too)."""
    m = re.search(r"\{([^{}]*)\}", text)
    if not m:
        return [text]
    return [x for option in m.group(1).split(",")
            for x in expand_braces(text[:m.start()] + option + text[m.end():])]


@pytest.mark.parametrize("doc", DOCS, ids=doc_id)
def test_repository_paths_named_exist(doc):
    """A `path` of ours quoted in running text (`training/loop.py`, `models/{fcn,viton}.py`,
    `training/*_step.py`, `evaluation/presets/`) names files that exist: no stale module names."""
    _, prose = code_pieces(doc.read_text(encoding="utf-8"))
    roots = OURS + ("tests", "docs", ".ci")
    missing = []
    for line in prose:
        for m in SPAN.finditer(line):
            span = m.group(2).strip()
            if " " in span or "<" in span or span.split("/")[0] not in roots or "/" not in span:
                continue
            for path in expand_braces(span):
                if not any(REPO.glob(path.rstrip("/"))) and not (REPO / path).exists():
                    missing.append(path)
    assert not missing, f"no such files: {missing}"


def test_readme_stays_short():
    """The README is the front door (install, two commands, measured tables, where to go next);
    the rest belongs in docs/."""
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 220


def test_the_readers_see_through_markdown():
    """The Markdown reading the checks above rely on, on a hand-made page."""
    page = "\n".join([
        "Run `python -m training.cycle --M=2 --nojit_compile` or see [x](docs/a.md#b).",
        "",
        "    python -m evaluation.reproduce --table=8.1 \\",
        "        --cycle_flags=\"--epochs=5\"   # a comment --not_a_flag",
        "    python -m training.swapgan [--generators=I,II,III]",
        "        [--lambda_mask=5]",
        "",
        "```bash",
        "pip install -e \".[test]\" && python -m pytest -q --dist loadfile tests",
        "```",
    ])
    pieces, prose = code_pieces(page)
    commands = [(m, FLAG.findall(a)) for p in pieces for m, a in commands_in(p)]
    assert commands == [("evaluation.reproduce", ["table", "cycle_flags"]),
                        ("training.swapgan", ["generators", "lambda_mask"]),
                        ("pytest", ["dist"]),
                        ("training.cycle", ["M", "nojit_compile"])]
    assert FLAG.findall("chromium --headless --window-size=800,600 --no-sandbox") == ["headless"]
    assert [m.group(1) for line in prose for m in LINK.finditer(line)] == ["docs/a.md#b"]
    assert expand_braces("m/{a,b}_{x,y}.py") == ["m/a_x.py", "m/a_y.py", "m/b_x.py", "m/b_y.py"]
    assert MACHINE_PATH.search("see /work/x") and not MACHINE_PATH.search("../shared/data and ~/tmp/")


def test_the_module_map_names_every_module():
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = [p.relative_to(REPO).as_posix() for package in ("flags", "training", "datasets", "models",
                                                              "evaluation")
               for p in (REPO / package).rglob("*.py")
               if p.name != "__init__.py" and "__pycache__" not in p.parts]
    missing = [m for m in modules if f"`{m}`" not in text and not m.startswith("training/config/")]
    assert not missing, f"docs/architecture.md's module map lacks {missing}"
