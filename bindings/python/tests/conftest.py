# The tests must run against the module just built (CTest sets
# LSMKV_PY_EXPECT_DIR and PYTHONPATH), never an installed copy.
import os

import pytest

import lsmkv


def pytest_configure(config):
    expect = os.environ.get("LSMKV_PY_EXPECT_DIR")
    if expect and not os.path.realpath(lsmkv.__file__).startswith(os.path.realpath(expect)):
        raise pytest.UsageError(f"lsmkv imported from {lsmkv.__file__}, not from {expect}")


@pytest.fixture
def db(tmp_path):
    d = lsmkv.DB(str(tmp_path / "db"), create_if_missing=True)
    yield d
    d.close()
