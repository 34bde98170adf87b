"""Fixtures for the rule tests: the shipped company definition, loaded once."""

from __future__ import annotations

import pytest

from sync.config import Config, load_config
from sync.definitions import LeadRules
from sync.sla import SlaRules
from tests.sync.builders import SHIPPED_PATH


@pytest.fixture(scope="session")
def shipped() -> Config:
    """The shipped company definition, examples/leadloop.yaml."""
    return load_config(SHIPPED_PATH)


@pytest.fixture(scope="session")
def shipped_rules(shipped: Config) -> LeadRules:
    return LeadRules(shipped)


@pytest.fixture(scope="session")
def shipped_slas(shipped: Config) -> SlaRules:
    return SlaRules(shipped)
