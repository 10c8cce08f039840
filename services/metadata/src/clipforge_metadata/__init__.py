"""The metadata service: owns the merge of plugin results into the clip records."""
