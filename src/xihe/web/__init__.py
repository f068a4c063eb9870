"""Layer 6: the web dashboard -- server-rendered pages (Jinja2) with a little vanilla JavaScript, over the service.

Module map:

- ``config.py``      -- :class:`WebSettings` (``XIHE_SECRET_KEY``, ``XIHE_COOKIE_SECURE``, ``XIHE_SESSION_HOURS``) and
  the signing key (the setting, else ``<data_dir>/web-secret.key``, made on first use).
- ``sessions.py``    -- signed session tokens (HMAC-SHA256) carrying the per-session CSRF token.
- ``deps.py``        -- the logged-in user, CSRF checks, rendering with security headers, page errors.
- ``topology.py``    -- a chip's topology as SVG (chip positions, colours by T1/readout/2q fidelity, dead qubits).
- ``charts.py``      -- the histogram SVG (log scale, ideal overlay, marginals) and small history line charts.
  ``calibration.py`` -- calibration tables from Quafu chip-info data; ``history.py`` -- a qubit's or coupler's
  figures over the calibration snapshots.
- ``results.py``     -- a job's result views (top-k, scale, marginal bits, ideal overlay, CSV); ``ideal.py`` -- the
  exact distribution of a small circuit from the statevector engine (bounded); ``composer.py`` -- the composer's
  server half (grid operations, live probabilities).
- ``timeline.py``    -- a job's status timeline with durations (from its attempt records).
- ``throttle.py``    -- the login backoff policy over counts in the database (shared by replicas).
- ``routes/``        -- ``auth`` (login/logout), ``backends`` (list, system page; ``chip``: the qubit/coupler panel
  and the characterize button), ``editor`` (live validation JSON, submit; ``composer``: the visual composer),
  ``joblist`` (search, sort, date range, page size, long-poll updates, multi-select cancel), ``jobs`` (job page,
  result CSV, live status JSON, JSON download, cancel), ``account`` (quota, today's use, API tokens), ``admin``
  (users, quotas, maintenance switch).
- ``routes/apidocs`` -- ``/docs`` and ``/redoc`` from the vendored Swagger UI and ReDoc in ``static/vendor/``.
- ``routes/oauth``   -- ``/oauth/authorize`` (consent after Xihe's login) and ``/oauth/code``: the PKCE browser
  login of quafu-sdk (:mod:`xihe.service.oauth`).
- ``templates/``, ``static/`` -- Jinja2 pages, one stylesheet and small scripts (no build step, no CDN).

Pages read and write only through the service's repositories and ``submit_job``; :func:`mount` is called by
:func:`xihe.app.create_app`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).with_name("static")


def mount(app: FastAPI) -> None:
    """Add the pages, the static files and the page error handlers to ``app`` (built by ``create_app``)."""
    from xihe.web.config import WebSettings
    from xihe.web.deps import LoginRequired, PageError, WebState, login_redirect, read_session, render
    from xihe.web.routes import account, admin, apidocs, auth, backends, editor, joblist, jobs, oauth

    web_settings = WebSettings()
    if web_settings.secret_key is None and not app.state.settings.is_embedded:
        logging.getLogger("xihe.web").warning(
            "XIHE_SECRET_KEY is not set: each API replica signs sessions with its own key file, so a login made "
            "on one replica is not valid on another; give every replica the same XIHE_SECRET_KEY")
    app.state.web = WebState(app.state.settings, web_settings)
    for module in (auth, backends, editor, joblist, jobs, account, admin, oauth):
        app.include_router(module.router)
    apidocs.replace_default_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        """Browsers ask for it on every first visit, whatever the page links (a 404 was a console error)."""
        return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})

    async def _login_required(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        if exc.as_json:
            return JSONResponse({"detail": "not logged in"}, status_code=401)
        return RedirectResponse(login_redirect(exc.next_path), status_code=303)

    async def _page_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        user = read_session(request)
        return render(request, "error.html", {"title": exc.title, "message": exc.message}, status=exc.status,
                      user=user)

    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageError, _page_error)
