"""Local servers for clipforge on machines without Docker.

Postgres runs from Debian's postgresql-15 binaries and Kafka from Maven Central jars; both keep
their data inside the repo (``.data/``) so a second start reuses it.
"""
