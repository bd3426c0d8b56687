"""The runnable examples: the quickstart and the case studies (real fine-tuning: slow)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlang.lang import api

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted([ROOT / "examples" / "quickstart.m", *(ROOT / "examples" / "case_studies").glob("*.m")])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_passes_m_check(path):
    assert [d.format() for d in api.check_file(path)] == []


def run_example(path: Path, m_home: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "mlang", "run", str(path)], capture_output=True,
                            text=True, timeout=1800, cwd=ROOT,
                            env={**os.environ, "M_HOME": str(m_home)})
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_quickstart_beats_chance_and_saves_the_model(m_home):
    out = run_example(ROOT / "examples" / "quickstart.m", m_home)
    minilm = re.search(r"fine-tuned MiniLM-L6 \(M\)\s+([\d.]+)\s+([\d.]+)", out)
    assert minilm, out
    accuracy, macro_f1 = map(float, minilm.groups())
    assert accuracy > 0.70 and macro_f1 > 0.60  # the majority class alone gives 0.658 / 0.397
    assert "saved as sentiment:1" in out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bbc_news.m", "lfw_faces.m", "sp500.m"])
def test_case_study_runs_and_reports(name, m_home):
    out = run_example(ROOT / "examples" / "case_studies" / name, m_home)
    assert "(M)" in out


@pytest.mark.slow
def test_resume_case_study_reports_every_model_beside_the_majority_class(m_home):
    out = run_example(ROOT / "examples" / "case_studies" / "resume.m", m_home)
    rows = dict(re.findall(r"^(\S.*?)\s+(0\.\d{3}\s+0\.\d{3})$", out, flags=re.MULTILINE))
    scores = {name: tuple(map(float, pair.split())) for name, pair in rows.items()}
    assert {"MiniLM text + tabular (M)", "same M classifier, one-hot tabular only", "SVM (RBF)",
            "random forest", "decision tree", "majority class (never called back)"} <= scores.keys(), out
    # 78 of the 974 stratified test résumés were called back: never calling back scores 896/974.
    assert scores["majority class (never called back)"] == (0.920, 0.479)
    # Trained with both classes weighted equally, the M model must not collapse to the majority.
    assert scores["MiniLM text + tabular (M)"][1] > 0.479, out
