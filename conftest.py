"""Hypothesis profiles, chosen by the HYPOTHESIS_PROFILE environment variable.

* ``dev`` (default): quick local runs.
* ``ci``: Hypothesis' built-in ``ci`` profile (derandomised, no deadline, prints the
  reproduction blob) with the example counts the suite promises.
* ``fuzz``: long campaigns against the assumptions; failures persist in ``.deqverify/examples``,
  the store ``deqverify fuzz`` uses too (``tox -e hypofuzz`` runs under this profile).
"""

import os

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile("dev", max_examples=30, deadline=None,
                          suppress_health_check=_SLOW_DATA)
settings.register_profile("ci", parent=settings.get_profile("ci"), max_examples=100,
                          deadline=None, suppress_health_check=_SLOW_DATA)
settings.register_profile("fuzz", max_examples=5000, deadline=None,
                          suppress_health_check=_SLOW_DATA,
                          database=DirectoryBasedExampleDatabase(".deqverify/examples"))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
