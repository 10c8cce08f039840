"""The plugin-runner worker: consumes `clip.captured`, runs the enabled plugins, publishes
`clip.processed`. Stateless apart from the loaded plugins; replicas share the work through the
`plugin-runner` consumer group."""
