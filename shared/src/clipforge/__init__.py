"""clipforge's shared package: what every service and every plugin author imports."""

from importlib.metadata import version

__version__ = version("clipforge")
