"""clipforge's shared package: what every service and every plugin author imports."""
