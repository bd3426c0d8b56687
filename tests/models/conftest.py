"""Shared set-up for the models tests."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # the `models_m` helper
