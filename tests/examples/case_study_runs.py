"""Running a case study as a user runs it (`m run examples/case_studies/NAME.m`), for both case-study test files."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STUDIES = ROOT / "examples" / "case_studies"


def run_study(name: str, m_home: Path) -> str:
    """The study's standard output; its exit status must be 0."""
    result = subprocess.run([sys.executable, "-m", "mlang", "run", str(STUDIES / name)], capture_output=True,
                            text=True, timeout=5400, cwd=ROOT, env={**os.environ, "M_HOME": str(m_home)})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
