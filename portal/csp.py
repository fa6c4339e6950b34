"""The Content-Security-Policy header (settings.CONTENT_SECURITY_POLICY) on every response.

"{nonce}" in the policy becomes a fresh nonce per response, `request.csp_nonce` for the page
(static/js/csp_nonce.js stamps it on the <style> elements xterm.js creates).
"""
import secrets

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        policy = settings.CONTENT_SECURITY_POLICY
        if settings.CSP_REPORT_URI:
            policy = f"{policy}; report-uri {settings.CSP_REPORT_URI}"
        self.policy = policy

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.policy.replace("{nonce}", request.csp_nonce))
        return response
