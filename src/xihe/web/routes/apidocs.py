"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served from the package: they work offline, load nothing from a CDN
or Google Fonts, and run no third-party script fetched at view time.

The vendored bundles live in ``static/vendor/`` (see each folder's ``VERSION``); a small script of ours starts each
viewer on ``/openapi.json`` (no inline script, so the pages keep a strict Content-Security-Policy). FastAPI's own
CDN-based ``/docs`` and ``/redoc`` routes are replaced by :func:`replace_default_docs`.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from xihe.web.deps import render

router = APIRouter(include_in_schema=False)

# The viewers inject <style> elements (styled-components, Swagger's inline styles) and ReDoc runs its search in a
# blob: worker; everything else comes from this origin. Swagger's online validator badge is turned off in our
# init script, so no request leaves the server's origin.
DOCS_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DEFAULT_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


def _docs_page(request: Request, template: str) -> Response:
    openapi_url = request.app.openapi_url or "/openapi.json"
    response = render(request, template, {"openapi_url": openapi_url, "title": request.app.title})
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    return _docs_page(request, "swagger.html")


@router.get("/redoc")
def redoc(request: Request) -> Response:
    return _docs_page(request, "redoc.html")


def replace_default_docs(app: FastAPI) -> None:
    """Drop FastAPI's CDN-loading docs routes (added when the app was built), then add the packaged ones."""
    app.router.routes[:] = [route for route in app.router.routes
                            if getattr(route, "path", None) not in DEFAULT_DOCS_PATHS]
    app.include_router(router)
