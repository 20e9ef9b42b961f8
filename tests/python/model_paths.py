"""Paths shared by the tests/python/test_model_*.py files (imports sam_model from scripts/model)."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_DIR = os.path.join(ROOT, "scripts", "model")
REFERENCE = os.environ.get("SAM_REFERENCE", os.path.abspath(os.path.join(ROOT, "..", "shared", "sam-reference")))
TINY = os.path.join(ROOT, "tests", "fixtures", "tiny")
if MODEL_DIR not in sys.path:
    sys.path.insert(0, MODEL_DIR)
TINY_SAM2 = os.path.join(ROOT, "tests", "fixtures", "tiny_sam2")


def native_tool(name):
    """build/native/<name> (src/tools), brought up to date first: cmake --build is a
    no-op when nothing changed, so a test never runs a stale tool."""
    import subprocess

    out = os.path.join(ROOT, "build", "native")
    if not os.path.isfile(os.path.join(out, "build.ninja")):
        subprocess.run(["cmake", "-S", ROOT, "-B", out, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"], check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", out, "--target", name], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, name)
