"""Publish a static site (the checkout SDK in `sdk/`, the dashboard) to its S3 bucket.

Every file goes up with an explicit Content-Type and Cache-Control: HTML is `no-cache` (always
revalidated, so a deploy is visible at once), scripts and styles are cached for five minutes.
Next to the files goes a generated `config.js` (`window.PAYGATE_CONFIG = {...};`, `no-cache`),
the same runtime config the local static server writes, made here from the stack outputs.

Both buckets are private, behind CloudFront. The checkout distribution serves keys as they
are: the SDK opens `/checkout?order_id=...`, so a `checkout` key (a copy of checkout.html,
served as text/html) is uploaded too. The dashboard's distribution maps `/login` and
`/dashboard/...` to their folders' index.html itself (a CloudFront Function). Security headers
come from the distributions' response headers policies, not from object metadata; none adds
`X-Frame-Options` to the checkout, which the SDK's modal frames.

The demo store (`demo.html`, with the seeded test credentials in it) is a local page: it is
published only with `--with-demo` (for a test stack, never production).

    python -m infra.deploy.static_site sdk <bucket> --api-url https://... --checkout-url https://...
"""

from __future__ import annotations

import argparse
import json
import mimetypes
from pathlib import Path

CONFIG_KEY = "config.js"
HTML_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=300"

# Deterministic types for what the sites hold (the host's mimetypes table varies).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".mjs": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}

# Extension-less keys for the CDN paths of the checkout site: key -> file it copies.
CHECKOUT_ALIASES = {"checkout": "checkout.html", "demo": "demo.html"}
# The local demo store and its alias: a merchant page holding the seeded test credentials.
DEMO_KEYS = frozenset({"demo.html", "demo.js", "demo.css", "demo"})
REPO = Path(__file__).resolve().parents[2]
# Files from outside a site's folder that it publishes too: the dashboard's docs page links the
# API's OpenAPI document, which lives at the top of the repository.
SITE_EXTRAS = {"dashboard_static": {"openapi.yaml": REPO / "openapi.yaml"}}
CONTENT_TYPES_EXTRA = {".yaml": "application/yaml; charset=utf-8"}


def content_type(path: Path | str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    if suffix in CONTENT_TYPES_EXTRA:
        return CONTENT_TYPES_EXTRA[suffix]
    return mimetypes.guess_type(str(path))[0] or "application/octet-stream"


def cache_control(path: Path | str) -> str:
    return HTML_CACHE if Path(path).suffix.lower() in (".html", ".htm") else ASSET_CACHE


def config_js(config: dict) -> bytes:
    """`window.PAYGATE_CONFIG = {...};`, as the local static server writes it."""
    return f"window.PAYGATE_CONFIG = {json.dumps(config)};\n".encode()


def site_files(directory: Path) -> list[Path]:
    """The files to publish: everything but hidden files and Python caches."""
    files = []
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if not path.is_file() or any(
            part.startswith(".") or part == "__pycache__" for part in relative.parts
        ):
            continue
        files.append(path)
    return files


def publish(
    directory: Path,
    bucket: str,
    config: dict,
    s3_client=None,
    *,
    aliases: dict[str, str] | None = None,
    prune: bool = False,
    with_demo: bool = False,
) -> list[str]:
    """Upload `directory` to `bucket` with a generated config.js; return the keys written.

    `aliases` maps extra keys to files of the site; by default the checkout site (a directory
    holding checkout.html) gets `checkout` (and `demo` with the demo). The demo store's files
    are left out unless `with_demo`. With `prune`, objects the site no longer has (the demo
    too, when it is left out) are deleted.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(directory)
    if s3_client is None:
        import boto3  # here, not at the top: the local static servers import this module too

        s3_client = boto3.client("s3")
    s3 = s3_client
    if aliases is None:
        aliases = CHECKOUT_ALIASES if (directory / "checkout.html").is_file() else {}

    uploads: dict[str, tuple[bytes, str, str]] = {}
    for path in site_files(directory):
        key = path.relative_to(directory).as_posix()
        if key == CONFIG_KEY:
            continue  # the generated one wins
        uploads[key] = (path.read_bytes(), content_type(path), cache_control(path))
    for key, target in aliases.items():
        source = directory / target
        if source.is_file():
            uploads[key] = (source.read_bytes(), content_type(source), cache_control(source))
    for key, source in SITE_EXTRAS.get(directory.resolve().name, {}).items():
        uploads[key] = (source.read_bytes(), content_type(source), cache_control(source))
    if not with_demo:
        uploads = {key: value for key, value in uploads.items() if key not in DEMO_KEYS}
    uploads[CONFIG_KEY] = (config_js(config), content_type(CONFIG_KEY), HTML_CACHE)

    for key, (body, kind, cache) in uploads.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=kind, CacheControl=cache)

    if prune:
        stale = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            stale += [
                {"Key": o["Key"]} for o in page.get("Contents", []) if o["Key"] not in uploads
            ]
        for start in range(0, len(stale), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": stale[start : start + 1000]})
    return sorted(uploads)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("bucket")
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--checkout-url", required=True)
    parser.add_argument(
        "--prune", action="store_true", help="delete objects the site no longer has"
    )
    parser.add_argument(
        "--with-demo",
        action="store_true",
        help="also publish the demo store (holds the test credentials; never for production)",
    )
    args = parser.parse_args()
    config = {"apiBaseUrl": args.api_url, "checkoutUrl": args.checkout_url}
    keys = publish(args.directory, args.bucket, config, prune=args.prune, with_demo=args.with_demo)
    print(f"published {len(keys)} objects to s3://{args.bucket}")


if __name__ == "__main__":
    main()
