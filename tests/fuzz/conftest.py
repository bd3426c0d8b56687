"""The fuzz tests reuse the text generators of tests/lang/test_property.py."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lang"))
