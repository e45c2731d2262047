"""The Content-Security-Policy header: the browser runs only our own scripts and styles, from our own origin.

The fans' pages have no inline <script>, no inline style attribute or <style> element and no event-handler
attribute (tests/security/test_csp.py renders every page and checks), so their policy needs no
'unsafe-inline' and no nonce. Django's admin and the RQ dashboard (staff only) ship inline styles and
scripts of their own; paths under CSP_STAFF_PATH_PREFIXES get CSP_STAFF_POLICY, which allows them.
"""

from django.conf import settings


def policy_header(directives):
    """{"script-src": ["'self'"], ...} → "script-src 'self'; ..." (directives without sources stand alone)."""
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    """Adds Content-Security-Policy to every response that does not set one itself."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = policy_header(settings.CSP_POLICY)
        self.staff_header = policy_header(settings.CSP_STAFF_POLICY)
        self.staff_prefixes = tuple(settings.CSP_STAFF_PATH_PREFIXES)
        self.header_name = (
            "Content-Security-Policy-Report-Only" if settings.CSP_REPORT_ONLY else "Content-Security-Policy"
        )

    def __call__(self, request):
        response = self.get_response(request)
        if self.header_name not in response:
            staff = request.path_info.startswith(self.staff_prefixes)
            response[self.header_name] = self.staff_header if staff else self.header
        return response
