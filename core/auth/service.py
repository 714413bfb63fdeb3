"""What one app instance holds for auth: the key store, the authorization server, the JWT
authenticator and the federation clients. Built in the app's lifespan, once resources exist."""

from __future__ import annotations

import os

from eiso.core.auth.jwt_authenticator import JWTAuthenticator
from eiso.core.auth.keys import KeyStore
from eiso.core.auth.server import EisoAuthorizationServer
from eiso.core.resources import Resources


class AuthService:
    def __init__(self, resources: Resources) -> None:
        if resources.settings.env != "prod":
            # authlib refuses plain-http URLs unless told otherwise; dev and test run on http.
            # In production eiso sits behind TLS (uvicorn passes the proxy's scheme through).
            os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
        self.resources = resources
        self.keys = KeyStore(resources)
        self.server = EisoAuthorizationServer(resources, self.keys)
        self.authenticator = JWTAuthenticator(self.keys)
        self.federation_transport = None  # tests point federation at an in-process IdP
