"""Profiles (``config.toml``) and template-variable files.

Profiles name an org and where its API token comes from, never the token itself::

    # ~/.config/oktaql/config.toml   ($XDG_CONFIG_HOME/oktaql/config.toml; $OKTAQL_CONFIG overrides)
    default_profile = "prod"

    [profiles.prod]
    org_url = "https://acme.okta.com"
    token_env = "ACME_OKTA_TOKEN"               # the token is in this environment variable

    [profiles.admin]
    org_url = "https://acme.okta.com"
    token_command = "pass show okta/acme"       # a password manager's CLI; its first line is the token

Like ssh, a config file or ``token_command`` program that others can write gets a warning on
stderr (``chmod go-w FILE``), and a program every user can write is refused before it runs; a
failing command's output is never shown, and an ``org_url`` never carries ``user:password@``.

Variables files fill ``{{ name }}`` placeholders: a JSON or YAML mapping. :func:`merge_vars`
applies the precedence ``--var`` > variables files (a later file wins) > ``OKTAQL_VAR_<NAME>``
environment variables.

This module is imported when the ``oktaql`` command starts: it keeps to the standard library and
click (YAML is imported only to read a YAML file).
"""

from __future__ import annotations

import difflib
import json
import os
import shlex
import shutil
import stat
import subprocess
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from oktaql._secrets import mask_url
from oktaql.errors import ConfigError

CONFIG_ENV = "OKTAQL_CONFIG"
PROFILE_ENV = "OKTAQL_PROFILE"
VAR_ENV_PREFIX = "OKTAQL_VAR_"
TOKEN_COMMAND_TIMEOUT = 30.0

_PROFILE_KEYS = ("org_url", "token_env", "token_command")
_TOP_KEYS = ("default_profile", "profiles")


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the config file is: ``$OKTAQL_CONFIG``, else ``$XDG_CONFIG_HOME/oktaql/config.toml``
    (``~/.config/oktaql/config.toml`` when ``XDG_CONFIG_HOME`` is unset)."""
    env = os.environ if environ is None else environ
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base).expanduser() if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "oktaql" / "config.toml"


@dataclass
class Profile:
    name: str
    org_url: str | None = None
    token_env: str | None = None
    token_command: str | None = None
    _token: str | None = field(default=None, repr=False, compare=False)

    @property
    def token_source(self) -> str:
        """``env:NAME``, ``command:<first word> ...`` or ``-`` (the token comes from
        ``$OKTA_API_TOKEN``/``$OKTA_CLIENT_TOKEN``); never the token."""
        if self.token_env:
            return f"env:{self.token_env}"
        if self.token_command:
            words = _split_command(self.token_command, self.name)
            return f"command:{words[0]}" + (" ..." if len(words) > 1 else "")
        return "-"

    def token(self) -> str | None:
        """The profile's API token; None when the profile names no token source (then the
        usual ``$OKTA_API_TOKEN``/``$OKTA_CLIENT_TOKEN`` apply). A command runs once per
        profile object."""
        if self._token is not None:
            return self._token
        if self.token_env:
            value = os.environ.get(self.token_env, "").strip()
            if not value:
                raise ConfigError(
                    f"profile {self.name}: environment variable {self.token_env} (token_env) "
                    "is not set or empty"
                )
            self._token = value
            return value
        if self.token_command:
            self._token = _run_token_command(self.name, self.token_command)
            return self._token
        return None


def _split_command(command: str, profile: str) -> list[str]:
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"profile {profile}: token_command does not parse ({exc})") from None
    if not words:
        raise ConfigError(f"profile {profile}: token_command is empty")
    return words


def _run_token_command(profile: str, command: str) -> str:
    words = _split_command(command, profile)
    where = f"profile {profile}: token_command ({words[0]} ...)"
    program = shutil.which(words[0])
    if program is not None:
        _check_program(program, where)
        words = [program, *words[1:]]  # run the very file that was checked
    try:
        proc = subprocess.run(words, capture_output=True, timeout=TOKEN_COMMAND_TIMEOUT)
    except FileNotFoundError:
        raise ConfigError(f"{where}: program {words[0]!r} not found") from None
    except PermissionError:
        raise ConfigError(f"{where}: program {words[0]!r} is not executable") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{where}: no answer within {TOKEN_COMMAND_TIMEOUT:g} s") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot run it ({exc.strerror or exc})") from None
    if proc.returncode != 0:
        # neither stdout nor stderr is shown: a password manager may echo the secret in either
        raise ConfigError(
            f"{where}: exited with status {proc.returncode}; its output is not shown (it may "
            "hold the token): run the command yourself to see its messages"
        )
    out = proc.stdout.decode("utf-8", "replace").splitlines()
    token = out[0].strip() if out else ""
    if not token:
        raise ConfigError(f"{where}: printed no token on its first line")
    return token


def _who_can_write(mode: int) -> str | None:
    """``group``, ``others``, ``group and others`` or None, from a file's mode bits."""
    who = [w for bit, w in ((stat.S_IWGRP, "group"), (stat.S_IWOTH, "others")) if mode & bit]
    return " and ".join(who) or None


def _writable_by_others(path: str) -> tuple[str, int, bool] | None:
    """(path, mode, world-writable) when someone other than its owner can replace what
    ``path`` holds: the file writable by group/others, or its directory (without the sticky
    bit, which keeps others from replacing a file they do not own)."""
    real = os.path.realpath(path)
    candidates = [(real, False)]
    for d in dict.fromkeys([os.path.dirname(os.path.abspath(path)), os.path.dirname(real)]):
        candidates.append((d, True))
    for p, is_dir in candidates:
        try:
            mode = os.stat(p).st_mode
        except OSError:
            continue
        if is_dir and mode & stat.S_ISVTX:
            continue
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            return p, stat.S_IMODE(mode), bool(mode & stat.S_IWOTH)
    return None


_WARNED: set[tuple[str, int]] = set()


def _warn_writable(path: str, mode: int, what: str) -> None:
    """ssh-style warning on stderr, once per file and mode per process."""
    if (path, mode) in _WARNED:
        return
    _WARNED.add((path, mode))
    click.echo(
        f"warning: {path} is writable by {_who_can_write(mode)} (mode {mode:04o}): whoever can "
        f"write it {what}; fix: chmod go-w {path}",
        err=True,
    )


def _check_program(program: str, where: str) -> None:
    """A token command that others can replace is refused when everyone can (anyone on the
    machine would get the token), and warned about when a group can."""
    found = _writable_by_others(program)
    if found is None:
        return
    path, mode, world = found
    if world:
        raise ConfigError(
            f"{where}: {path} is writable by every user (mode {mode:04o}), so anyone could "
            f"replace the program that prints your token; fix: chmod go-w {path}"
        )
    _warn_writable(path, mode, "can replace the program that prints your token")


@dataclass
class Config:
    path: Path
    profiles: dict[str, Profile] = field(default_factory=dict)
    default_profile: str | None = None
    exists: bool = True

    def resolve(self, name: str) -> Profile:
        """The profile called ``name``; a ConfigError listing the known ones otherwise."""
        found = self.profiles.get(name)
        if found is not None:
            return found
        if not self.exists:
            raise ConfigError(
                f"unknown profile {name!r}: there is no config file at {self.path} "
                f"(set {CONFIG_ENV} or create it with [profiles.{name}])"
            )
        known = sorted(self.profiles)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]}?)" if close else ""
        listing = ", ".join(known) if known else "none"
        raise ConfigError(f"unknown profile {name!r}{hint}; profiles in {self.path}: {listing}")


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the config file; a missing file is an empty config (``exists`` False)."""
    p = Path(path).expanduser() if path is not None else config_path()
    try:
        raw = p.read_bytes()
        loose = _writable_by_others(str(p))
    except FileNotFoundError:
        return Config(path=p, exists=False)
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read it ({exc.strerror or exc})") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    if loose is not None:  # like ssh: the file decides where the token goes and what runs
        _warn_writable(loose[0], loose[1], "chooses where your token goes and what runs")
    return _build_config(p, doc)


def _unknown_key(where: str, key: str, allowed: Sequence[str]) -> ConfigError:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return ConfigError(f"{where}: unknown key {key!r}{hint}; allowed: {', '.join(allowed)}")


def _build_config(path: Path, doc: dict[str, Any]) -> Config:
    for key in doc:
        if key not in _TOP_KEYS:
            raise _unknown_key(str(path), key, _TOP_KEYS)
    default = doc.get("default_profile")
    if default is not None and not isinstance(default, str):
        raise ConfigError(
            f"{path}: default_profile must be a string (a profile name), not {_tname(default)}"
        )
    table = doc.get("profiles", {})
    if not isinstance(table, dict):
        raise ConfigError(
            f"{path}: profiles must be a table of [profiles.<name>] tables, not {_tname(table)}"
        )
    profiles: dict[str, Profile] = {}
    for name, body in table.items():
        where = f"{path}: [profiles.{name}]"
        if not isinstance(body, dict):
            raise ConfigError(f"{where} must be a table, not {_tname(body)}")
        for key, value in body.items():
            if key == "token":
                raise ConfigError(
                    f"{where}: a token is never stored in the config file; name where it comes "
                    'from with token_env = "VAR" or token_command = "pass show ..."'
                )
            if key not in _PROFILE_KEYS:
                raise _unknown_key(where, key, _PROFILE_KEYS)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: {key} must be a non-empty string, not {_tname(value)}")
        if "token_env" in body and "token_command" in body:
            raise ConfigError(f"{where}: give token_env or token_command, not both")
        org_url = body.get("org_url")
        if org_url is not None:
            shown = mask_url(org_url)  # never print user:password@ from the file
            try:
                parts = urlsplit(org_url)
                host = parts.hostname
            except ValueError:  # e.g. an unclosed [ of an IPv6 address
                parts, host = urlsplit(""), None
            if parts.scheme not in ("http", "https") or not host:
                raise ConfigError(
                    f"{where}: org_url {shown!r} is not an http(s) URL (e.g. https://acme.okta.com)"
                )
            if parts.username is not None or parts.password is not None:
                raise ConfigError(
                    f"{where}: org_url {shown!r} holds credentials (user:password@); a config "
                    'file names where the token comes from: token_env = "VAR" or '
                    'token_command = "pass show ..."'
                )
        if "token_command" in body:
            try:
                shlex.split(body["token_command"])
            except ValueError as exc:
                raise ConfigError(f"{where}: token_command does not parse ({exc})") from None
        profiles[name] = Profile(
            name=name,
            org_url=org_url,
            token_env=body.get("token_env"),
            token_command=body.get("token_command"),
        )
    if default is not None and default not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(
            f"{path}: default_profile {default!r} names no profile (profiles: {known})"
        )
    return Config(path=path, profiles=profiles, default_profile=default)


def _tname(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else "a string"
    return type(value).__name__


# --- connection settings ----------------------------------------------------------------------


@dataclass
class ConnectionTarget:
    """What to connect with, a profile resolved (the session's options are
    :class:`oktaql._settings.Settings`): ``org_url`` None means the usual defaults apply,
    ``token`` None means ``$OKTA_API_TOKEN``/``$OKTA_CLIENT_TOKEN``."""

    org_url: str | None
    token: str | None
    profile: Profile | None


def resolve_connection(
    profile: str | None = None,
    org_url: str | None = None,
    *,
    org_url_explicit: bool = False,
    need_token: bool = True,
    config: Config | None = None,
    environ: Mapping[str, str] | None = None,
) -> ConnectionTarget:
    """Settle the org URL and token from ``--profile``/``--org-url`` and the config file.

    * ``--profile NAME`` (else ``$OKTAQL_PROFILE``) picks a profile: its org URL and token;
      an explicit ``--org-url`` on the command line still wins for the URL.
    * Without either, ``default_profile`` applies only when no org URL was given at all (not on
      the command line, not in ``$OKTA_CLIENT_ORGURL``): a token is never sent to an org URL
      its profile does not name.
    * ``need_token=False`` (``--dry-run``, EXPLAIN only) leaves the token unresolved: no
      password manager is asked.
    * Otherwise nothing changes: ``org_url`` as given, token from the environment.
    """
    env = os.environ if environ is None else environ
    name = profile or env.get(PROFILE_ENV) or None
    if name is None and org_url:
        return ConnectionTarget(org_url=org_url, token=None, profile=None)
    cfg = config if config is not None else load_config()
    if name is None:
        name = cfg.default_profile
        if name is None:
            return ConnectionTarget(org_url=org_url, token=None, profile=None)
    prof = cfg.resolve(name)
    url = org_url if (org_url and org_url_explicit) else (prof.org_url or org_url)
    return ConnectionTarget(org_url=url, token=prof.token() if need_token else None, profile=prof)


# --- variables files ----------------------------------------------------------------------------


def named_orgs(config: Config | None = None) -> dict[str, Any]:
    """The profiles with an org URL, as orgs a statement can name: ``subdomain = 'prod'``.

    Tokens are read only when a statement actually calls that org.
    """
    from oktaql.session import NamedOrg

    cfg = config if config is not None else load_config()
    out: dict[str, Any] = {}
    for prof in cfg.profiles.values():
        if prof.org_url:
            out[prof.name] = NamedOrg(
                prof.name,
                prof.org_url,
                prof.token,
                f"set {prof.token_source} of profile {prof.name} in {cfg.path}",
            )
    return out


def load_vars_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Template variables from a ``.json``, ``.yaml`` or ``.yml`` file holding one mapping."""
    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise ConfigError(
            f"variables file {p}: unknown kind {suffix or '(no extension)'!r}; "
            "use .json, .yaml or .yml"
        )
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"variables file {p} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"variables file {p}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"variables file {p}: cannot read it ({exc.strerror or exc})") from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"variables file {p}: invalid JSON at line {exc.lineno}, column {exc.colno}: "
                f"{exc.msg}"
            ) from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"variables file {p}: invalid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"variables file {p}: the top level must be a mapping of name: value, "
            f"not {_tname(data) if data is not None else 'empty'}"
        )
    for key in data:
        if not isinstance(key, str):
            raise ConfigError(f"variables file {p}: variable names must be strings, not {key!r}")
    return dict(data)


def env_vars(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``OKTAQL_VAR_<NAME>=value`` → ``{NAME: value}`` (the name kept as written, so
    ``OKTAQL_VAR_appId`` fills ``{{ appId }}``)."""
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for key, value in env.items():
        if key.startswith(VAR_ENV_PREFIX) and len(key) > len(VAR_ENV_PREFIX):
            out[key[len(VAR_ENV_PREFIX) :]] = value
    return out


def merge_vars(
    files: Iterable[str | os.PathLike[str]] = (),
    cli_vars: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Template variables by precedence: ``cli_vars`` (``--var``) > ``files`` (a later file
    wins) > ``OKTAQL_VAR_<NAME>`` in ``environ`` (``os.environ`` when None)."""
    merged: dict[str, Any] = dict(env_vars(environ))
    for path in files:
        merged.update(load_vars_file(path))
    merged.update(cli_vars or {})
    return merged


# --- `oktaql config` ----------------------------------------------------------------------------


def _config_fail(message: str) -> None:
    from oktaql._report import fail

    fail(message)


@click.group("config", context_settings={"help_option_names": ["-h", "--help"]})
def config_command() -> None:
    """Profiles: named orgs and where their API tokens come from."""


@config_command.command("list")
def config_list() -> None:
    """List the profiles (name, org URL, token source, default); never a token."""
    try:
        cfg = load_config()
    except ConfigError as exc:
        _config_fail(str(exc))
        return
    if not cfg.exists:
        click.echo(f"no config file at {cfg.path}")
        return
    if not cfg.profiles:
        click.echo(f"no profiles in {cfg.path}")
        return
    try:
        rows = [
            (
                name,
                mask_url(p.org_url) if p.org_url else "-",
                p.token_source,
                "yes" if name == cfg.default_profile else "",
            )
            for name, p in sorted(cfg.profiles.items())
        ]
    except ConfigError as exc:
        _config_fail(str(exc))
        return
    header = ("profile", "org_url", "token", "default")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


@config_command.command("path")
def config_path_command() -> None:
    """Print where the config file is read from."""
    click.echo(str(config_path()))


__all__ = [
    "Config",
    "ConnectionTarget",
    "Profile",
    "config_command",
    "config_path",
    "env_vars",
    "load_config",
    "load_vars_file",
    "merge_vars",
    "resolve_connection",
]
