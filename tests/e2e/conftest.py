"""The end-to-end tests use the sync tests' fixtures: connectors on the emulators, the
shipped config and field maps."""

from tests.sync.conftest import crm, maps, shipped

__all__ = ["crm", "maps", "shipped"]
