"""The HTTP face: the intake API, server-sent events and metrics over the live system.

It calls the same operations as ``run.py``; nothing below it knows it exists.
"""

from console._app import create_app
from console._http import HttpFace
from console._limits import HttpLimits
from console._token import TOKEN_ENV, TOKEN_FILE, load_token

__all__ = ["TOKEN_ENV", "TOKEN_FILE", "HttpFace", "HttpLimits", "create_app", "load_token"]
