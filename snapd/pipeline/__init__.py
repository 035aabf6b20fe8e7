"""One slot for one VM: decide, preflight, send, resolve, wait, verify, record."""
