"""Observability: what the gateway says about itself — structured logs carrying a request id, Prometheus metrics.

`context` holds what the current log lines are about, `logging` formats them, `metrics` counts,
`http` ties the three to Flask requests.
"""
