"""Paths shared by the tests/python/test_model_*.py files (imports sam_model from scripts/model)."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_DIR = os.path.join(ROOT, "scripts", "model")
REFERENCE = os.environ.get("SAM_REFERENCE", os.path.abspath(os.path.join(ROOT, "..", "shared", "sam-reference")))
TINY = os.path.join(ROOT, "tests", "fixtures", "tiny")
if MODEL_DIR not in sys.path:
    sys.path.insert(0, MODEL_DIR)
