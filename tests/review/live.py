"""A sales rep using the running review app over HTTP, as a browser would (cookies and the
CSRF token of each page), for tests against the real servers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import requests

from tests.review.factories import PASSWORD

TOKEN = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


@dataclass
class RepBrowser:
    base_url: str
    email: str
    http: requests.Session = field(default_factory=requests.Session)

    def log_in(self, password: str = PASSWORD) -> RepBrowser:
        response = self.post("/login", "/login", email=self.email, password=password)
        assert response.status_code == 302, response.text[-2000:]
        return self

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=30)

    def post(self, path: str, page: str, **data: str) -> requests.Response:
        """Submit a form of `page` to `path`, with that page's CSRF token."""
        match = TOKEN.search(self.get(page).text)
        assert match, f"no form on {page}"
        return self.http.post(
            self.base_url + path,
            data={"csrf_token": match.group(1), **data},
            allow_redirects=False,
            timeout=30,
        )
