"""What every entry point shows a user before it runs: usage text and help wording."""
import ast
import pathlib
import re

from tests.conftest import REPO

ENTRY_POINTS = sorted(p for p in (*REPO.glob("training/*.py"), *REPO.glob("evaluation/*.py"),
                                  *REPO.glob("datasets/*.py"))
                      if "__main__" in p.read_text())


def test_usage_lines_carry_no_runs_of_spaces_from_line_continuations():
    assert len(ENTRY_POINTS) >= 14
    for path in ENTRY_POINTS:
        doc = ast.get_docstring(ast.parse(path.read_text()), clean=False) or ""
        for line in doc.splitlines():
            command = line.split("  #")[0].strip()  # aligned comments may keep their spaces
            assert not re.search(r"\S {2,}--", command), f"{pathlib.Path(path).name}: {line!r}"
