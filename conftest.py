"""Settings for every test tree (tests/ and hil/tests/unit)."""

from hypothesis import settings

# Timing belongs in `invoke bench`, not in tests: on a loaded machine the first example of a property test
# may take longer than hypothesis's default deadline, which would fail a test that found nothing wrong.
settings.register_profile("evy", deadline=None)
settings.load_profile("evy")
