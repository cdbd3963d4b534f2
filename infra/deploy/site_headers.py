"""The security headers each site's CloudFront distribution adds, read from template.yaml's
response headers policies, so the local static servers send exactly what CloudFront sends.

The policies' CSPs name the API as `${ApiOrigin}` (a `Fn::Sub` variable); locally it is the
local API's origin.
"""

from __future__ import annotations

from urllib.parse import urlsplit

API_ORIGIN_VARIABLE = "${ApiOrigin}"


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL (what a CSP source and an Origin header name)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _policy(template: dict, distribution: str) -> dict:
    behavior = template["Resources"][distribution]["Properties"]["DistributionConfig"][
        "DefaultCacheBehavior"
    ]
    policy_id = behavior["ResponseHeadersPolicyId"]["Ref"]
    return template["Resources"][policy_id]["Properties"]["ResponseHeadersPolicyConfig"]


def _csp(value, api_origin: str) -> str:
    if isinstance(value, str):
        return value
    text, variables = value["Fn::Sub"]
    if set(variables) != {"ApiOrigin"}:
        raise ValueError(f"unexpected CSP variables: {sorted(variables)}")
    return text.replace(API_ORIGIN_VARIABLE, api_origin)


def security_headers(distribution: str, api_origin: str, template: dict | None = None) -> dict:
    """HTTP headers of the distribution's response headers policy, its CSP naming
    `api_origin` as the API."""
    if template is None:
        from infra.deploy.template import load_template  # the SAM parser: only when needed

        template = load_template()
    config = _policy(template, distribution)["SecurityHeadersConfig"]
    headers = {}
    if "StrictTransportSecurity" in config:
        hsts = config["StrictTransportSecurity"]
        value = f"max-age={hsts['AccessControlMaxAgeSec']}"
        value += "; includeSubDomains" if hsts.get("IncludeSubdomains") else ""
        value += "; preload" if hsts.get("Preload") else ""
        headers["Strict-Transport-Security"] = value
    if "ContentTypeOptions" in config:
        headers["X-Content-Type-Options"] = "nosniff"
    if "ReferrerPolicy" in config:
        headers["Referrer-Policy"] = config["ReferrerPolicy"]["ReferrerPolicy"]
    if "FrameOptions" in config:
        headers["X-Frame-Options"] = config["FrameOptions"]["FrameOption"]
    if "ContentSecurityPolicy" in config:
        csp = config["ContentSecurityPolicy"]["ContentSecurityPolicy"]
        headers["Content-Security-Policy"] = _csp(csp, api_origin)
    return headers
