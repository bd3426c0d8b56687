"""The text case studies (BBC News topics, résumé call-backs), run as a user runs them: their
paper-style tables have the rows and columns the README shows, and every claim the README
(examples/case_studies/README.md) makes about them holds.  Real fine-tuning: slow."""
import re

import pytest
from case_study_runs import run_study

SCORE = r"(\d\.\d{3})"


def table_rows(out: str, columns: int) -> dict[str, tuple]:
    """The table's rows: the name, then `columns` scores (and any words after them)."""
    scores = r"\s+".join([SCORE] * columns)
    pattern = r"^(\S.*?)\s+" + scores + r"(.*)$"
    return {m.group(1): (*map(float, m.groups()[1:1 + columns]), m.group(columns + 2).strip())
            for m in re.finditer(pattern, out, flags=re.MULTILINE)}


@pytest.mark.slow
def test_bbc_news_table_and_the_readme_claims(m_home):
    out = run_study("bbc_news.m", m_home)
    rows = table_rows(out, 2)
    m_row, svm_row = "MiniLM-L6, whole article, head trained (M)", "TF-IDF + linear SVM (grid search)"
    lstm_row, majority = "LSTM over words (autoTuneModel)", "majority class"
    assert {m_row, svm_row, lstm_row, majority} <= rows.keys(), out
    assert rows[m_row][2] == "0.92 / 0.91"  # the paper's figures beside M's
    # 444 stratified test articles; sport (102 of them) is the largest topic
    assert rows[majority][:2] == (0.230, 0.075)
    assert "grid search picked" in out and "LSTM: autoTuneModel picked" in out
    # The README's claims: M's model reaches the grid-searched SVM (and says so), the SVM is above
    # 0.95, and the LSTM from scratch is far behind both.
    assert rows[m_row][0] >= rows[svm_row][0] and "M's model reaches the best baseline" in out
    assert rows[m_row][1] >= rows[svm_row][1]
    assert rows[svm_row][0] > 0.95
    assert rows[lstm_row][0] < 0.85


@pytest.mark.slow
def test_resume_table_says_where_every_model_is_at_chance(m_home):
    out = run_study("resume.m", m_home)
    rows = table_rows(out, 3)
    names = {"MiniLM text + tabular (M, autoTuneModel)", "same M classifier, one-hot tabular only",
             "LSTM over the text's words (autoTuneModel)", "SVM (RBF, grid search)", "random forest (grid search)",
             "decision tree (grid search)", "majority class (never called back)"}
    assert names <= rows.keys(), out
    assert all(row[3].split("   ")[0] in ("at chance", "beats chance") for row in rows.values()), out
    # 78 of the 974 stratified test résumés were called back: never calling back scores 896/974,
    # and shuffling a constant prediction changes nothing.
    assert rows["majority class (never called back)"][:3] == (0.920, 0.479, 1.000)
    assert rows["majority class (never called back)"][3] == "at chance"
    assert rows["MiniLM text + tabular (M, autoTuneModel)"][3].endswith("0.89 / 0.88")
    assert out.count("autoTuneModel picked") == 3
    # The README's claims: every model close to chance, none as accurate as never calling back ...
    assert all(0.45 <= row[1] <= 0.60 for row in rows.values()), out
    assert all(row[0] < 0.920 for name, row in rows.items() if not name.startswith("majority")), out
    # ... the grid-searched baselines and both M models are not at chance, the LSTM is ...
    baselines = ["SVM (RBF, grid search)", "random forest (grid search)", "decision tree (grid search)"]
    assert all(rows[name][2] <= 0.007 and rows[name][3] == "beats chance" for name in baselines), out
    assert rows["LSTM over the text's words (autoTuneModel)"][3] == "at chance"
    # ... and M's model is behind the three baselines, ahead of the LSTM and of itself without text.
    m_f1 = rows["MiniLM text + tabular (M, autoTuneModel)"][1]
    assert all(m_f1 < rows[name][1] for name in baselines), out
    assert m_f1 > rows["LSTM over the text's words (autoTuneModel)"][1]
    assert m_f1 > rows["same M classifier, one-hot tabular only"][1]
