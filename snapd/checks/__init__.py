"""The operator's checks around a snapshot: the health check (HTTP) and the hooks (argv).

Both report problems in their result and never raise; the pipeline only reads the result.
"""
