"""The daemon's jobs, one module each, in pipeline order: ingest, score, handoff, alerts,
feedback. Each is a `Job`: a function of a `JobContext` returning its `JobCounts`."""
