"""Operations: what a service tells the people running it (metrics, health, its status
report, traces)."""
