"""The web page: server-rendered Jinja2 and a little htmx over the same views as the CLI and the API.

``create_site`` (``warexempt.web.app``) is the whole site: the API under ``/api/v1/`` and the pages beside it.
"""
