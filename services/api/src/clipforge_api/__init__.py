"""The clipforge API: validate, write, answer. It never runs plugin code and never waits on Kafka."""
