"""The API's business actions, one module per resource: each takes a unit of work, changes rows
and emits the events that announce the change. Routes parse, call one, and shape the answer."""
