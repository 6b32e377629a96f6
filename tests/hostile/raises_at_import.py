"""A plug-in that raises while being imported."""
raise RuntimeError("plug-in misconfigured: set DEQ_HOME")
