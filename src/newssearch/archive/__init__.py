"""Archive-wide passes: work over the whole index that needs index and query together."""
