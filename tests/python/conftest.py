"""Rules every Python test here follows (scripts/test relies on them):
- no silent skip: a test that skips fails, unless its reason begins with
  "optional: " and names a part README lists as optional;
- the reference data (../shared/sam-reference) and the oracle packages are
  requirements: a missing one is a failure, never a skip."""
import os

import pytest

from model_paths import REFERENCE


@pytest.fixture
def require_reference():
    if not os.path.isdir(REFERENCE):
        pytest.fail(f"{REFERENCE} not found: the tests need ../shared/sam-reference beside the checkout "
                    "(or SAM_REFERENCE=<folder laid out like it>)", pytrace=False)
    return REFERENCE


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not getattr(report, "wasxfail", None):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not reason.removeprefix("Skipped: ").startswith("optional: "):
            report.outcome = "failed"
            report.longrepr = f"skipped without being optional (see tests/python/conftest.py): {reason}"
