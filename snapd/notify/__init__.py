"""Notifications for those without Prometheus: a dead man's switch ping and webhooks.

``settings`` is the ``notify`` policy key (its JSON Schema and validation), ``messages``
turns outcomes into bodies, ``delivery`` sends them from a bounded queue on its own
worker thread, and ``command`` is ``snapd notify test``.
"""
