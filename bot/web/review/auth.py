"""Logging in and out of the review app, and what each role may do.

Sessions live in a signed cookie that scripts cannot read (HttpOnly), that other sites' forms
do not carry (SameSite=Lax) and that is sent over HTTPS only whenever the app is reached over
HTTPS (Secure). Every form carries a CSRF token (Flask-WTF). Failed logins are rate-limited
per address; a wrong password and an unknown email get the same answer in the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Final, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from bot.web.review import store
from crm_bridge import accounts
from crm_bridge.models import User

F = TypeVar("F", bound=Callable[..., Any])

# Failed logins allowed per address; a successful one does not count.
LOGIN_LIMIT: Final = "5 per minute"
WRONG_LOGIN: Final = "Wrong email or password."

blueprint = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()
# Counters in this process's memory: the web process is one process.
limiter = Limiter(get_remote_address, storage_uri="memory://", headers_enabled=True)


class Rep(UserMixin):
    """The logged-in account, detached from the store."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.email = user.email
        self.role = user.role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def record(self) -> User:
        """The account as the lead service takes it (who did it, and with what role)."""
        return User(id=self.id, email=self.email, role=self.role)


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(super().get_cookie_secure(app) or request.is_secure)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def init_app(app: Flask, https_only: bool) -> None:
    """Cookie settings, the login manager and the rate limiter for the application."""
    app.session_interface = _CookieSessions()
    app.config.update(
        SESSION_COOKIE_NAME="leadbot_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https_only,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=https_only,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to see the leads."
    login_manager.session_protection = "strong"
    limiter.init_app(app)
    app.register_blueprint(blueprint)


@login_manager.user_loader
def _load(user_id: str) -> Rep | None:
    if not user_id.isdigit():
        return None
    with store.reads()() as session:
        user = accounts.get_user(session, int(user_id))
        return None if user is None else Rep(user)


def me() -> Rep:
    """The logged-in rep (only inside views that require a login)."""
    return cast(Rep, current_user._get_current_object())  # type: ignore[attr-defined]


def admin_required(view: F) -> F:
    """Refuse (403) a logged-in rep who is not an admin."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        if not me().is_admin:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, guarded)


def _safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of this site only, never another site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("review.queue")


def _failed_login(response: Response) -> bool:
    return request.method == "POST" and response.status_code != 302


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"], deduct_when=_failed_login)
def login() -> Any:
    """The login form; a correct email and password start a session."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email, password = form.email.data or "", form.password.data or ""
        with store.sessions().begin() as session:
            user = accounts.authenticate(session, email, password)
            rep = None if user is None else Rep(user)
        if rep is not None:
            login_user(rep)
            return redirect(_safe_next(request.args.get("next")))
        flash(WRONG_LOGIN, "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("review/login.html", form=form), status


@blueprint.post("/logout")
def logout() -> Any:
    """End the session (a form post, so another site cannot log a rep out)."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
