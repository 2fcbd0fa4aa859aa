"""The engine's SQL: the rows one commit reads and writes, by key."""
