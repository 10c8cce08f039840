"""clipforge's benchmark (`make bench`): every stage against a baseline measured in the same run."""
